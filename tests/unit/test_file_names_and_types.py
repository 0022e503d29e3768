"""File names and content types: what a file may be called and typed, and how that reaches S3 and HTTP."""

from __future__ import annotations

import pytest

from parley.models.files import check_file_name, normalise_content_type
from parley.services.files import content_disposition, guess_content_type, safe_name


@pytest.mark.parametrize(
    ("name", "key_part"),
    [
        ("report.pdf", "report.pdf"),
        ("Q3 report (final).pdf", "Q3_report__final_.pdf"),
        ("café ☕.md", "caf___.md"),
        ("...hidden", "hidden"),
        ("☕", "file"),
        ("x" * 300, "x" * 100),
    ],
)
def test_a_names_s3_key_segment_keeps_only_safe_ascii(name, key_part):
    assert safe_name(name) == key_part


def test_a_content_disposition_has_an_ascii_fallback_and_the_exact_utf8_name():
    assert content_disposition('naïve "quote".txt') == (
        "attachment; filename=\"na_ve _quote_.txt\"; filename*=UTF-8''na%C3%AFve%20%22quote%22.txt"
    )


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("a.PDF", "application/pdf"), ("notes.md", "text/markdown"), ("x", "application/octet-stream")],
)
def test_a_content_type_is_guessed_from_the_extension(name, content_type):
    assert guess_content_type(name) == content_type


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("TEXT/Plain; charset=UTF-8", "text/plain; charset=UTF-8"),
        ('text/csv; header="present"', 'text/csv; header="present"'),
        ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", None),
    ],
)
def test_an_accepted_content_type_keeps_its_parameters(given, kept):
    assert normalise_content_type(given) == (kept or given)


@pytest.mark.parametrize("given", ["application/zip", "text", "text/plain; charset", "text/plain\r\nX: y"])
def test_a_refused_content_type_says_why(given):
    with pytest.raises(ValueError, match=r"content type|media type"):
        normalise_content_type(given)


@pytest.mark.parametrize("name", ["a/b", "a\\b", "..", ".", "tab\there", "del\x7f"])
def test_a_file_name_is_not_a_path(name):
    with pytest.raises(ValueError, match="plain file name"):
        check_file_name(name)
