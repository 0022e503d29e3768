"""Extraction: each supported format to readable text; everything else refused with the reason."""

from __future__ import annotations

import json

import pytest

from parley.knowledge.extract import ExtractionError, PageSpan, decode, extract
from tests.unit.pdf_support import encrypted_pdf, text_pdf


# -- plain text and decoding ----------------------------------------------------------------------
def test_plain_text_is_kept_with_newlines_normalised_and_controls_dropped() -> None:
    data = b"First line.  \r\nSecond\x00 line.\r\n\r\n\r\n\r\nNext paragraph.\x07"

    extracted = extract(data, "text/plain; charset=utf-8", "a.txt")

    assert extracted.text == "First line.\nSecond line.\n\nNext paragraph."
    assert extracted.pages is None


@pytest.mark.parametrize(
    ("data", "charset", "expected"),
    [
        ("café \u2013 naïve".encode(), None, "café \u2013 naïve"),
        (b"\xef\xbb\xbfwith a BOM", None, "with a BOM"),
        ("utf-16 text".encode("utf-16"), None, "utf-16 text"),
        ("caf\u00e9 \u201cquoted\u201d".encode("cp1252"), None, "café “quoted”"),
        (b"\x81\x8d caf\xe9", None, "\x81\x8d café"),  # not Windows-1252 either: Latin-1 never fails
        ("Grüße".encode("iso-8859-1"), "iso-8859-1", "Grüße"),
        ("привет".encode("koi8-r"), "koi8-r", "привет"),
        (b"hello", "no-such-charset", "hello"),  # an unknown declared charset is not fatal
    ],
)
def test_text_is_decoded_by_bom_declared_charset_then_fallbacks(
    data: bytes, charset: str | None, expected: str
) -> None:
    assert decode(data, charset) == expected


def test_the_declared_charset_of_the_content_type_is_used() -> None:
    assert extract("Grüße".encode("iso-8859-1"), "text/plain; charset=ISO-8859-1", "g.txt").text == "Grüße"


def test_an_untyped_file_is_read_by_its_extension_or_as_text_if_it_is_text() -> None:
    assert extract(b"# Title\n\nBody", "application/octet-stream", "notes.md").text == "Title\n\nBody"
    assert extract(b"just words", "application/octet-stream", "README").text == "just words"
    pdf = text_pdf([["Sniffed from its bytes."]])
    assert extract(pdf, "application/octet-stream", "scan").text == "Sniffed from its bytes."


def test_an_untyped_binary_file_is_refused() -> None:
    with pytest.raises(ExtractionError, match="application/octet-stream files are not indexed"):
        extract(b"\x00\x01\x02binary\xff", "application/octet-stream", "blob.bin")


@pytest.mark.parametrize(
    "content_type",
    [
        "image/png",
        "image/jpeg",
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/epub+zip",
    ],
)
def test_images_and_office_documents_are_refused_with_the_supported_formats(content_type: str) -> None:
    with pytest.raises(ExtractionError) as raised:
        extract(b"\x89PNG...", content_type, "file")

    assert str(raised.value).startswith(f"{content_type} files are not indexed")
    assert "PDF" in str(raised.value)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [(b"", "text/plain"), (b" \n\t\r\n ", "text/plain"), (b"<script>x()</script>", "text/html")],
)
def test_a_file_without_text_is_refused(data: bytes, content_type: str) -> None:
    with pytest.raises(ExtractionError, match="no text to index"):
        extract(data, content_type, "empty")


# -- Markdown -------------------------------------------------------------------------------------
def test_markdown_keeps_the_words_and_drops_the_markup() -> None:
    source = """---
title: Guide
---
# Getting **started**

Install with `pip install parley` and see the [docs](https://example.com/docs "Docs").
A snake_case_name stays, *emphasis* and __strong__ and ~~struck~~ words lose their marks.

> Quoted advice.

* first item
+ second item
1. numbered item

![Architecture diagram](diagram.png)

| Setting | Default |
|---------|--------:|
| timeout | 30 s    |

```python
def hello():
    return "**not markup in code**"
```

[docs]: https://example.com/docs
Setext heading
==============
"""
    text = extract(source.encode(), "text/markdown", "guide.md").text

    assert text.startswith(
        "title: Guide\n\nGetting started\n\nInstall with pip install parley and see the docs."
    )
    assert "A snake_case_name stays, emphasis and strong and struck words lose their marks." in text
    assert "Quoted advice." in text
    assert "- first item\n- second item\n1. numbered item" in text
    assert "Architecture diagram" in text
    assert "Setting | Default\ntimeout | 30 s" in text
    assert 'def hello():\n    return "**not markup in code**"' in text
    assert "Setext heading" in text
    for noise in ("https://", "](", "```", "# ", "|---", "==="):
        assert noise not in text


# -- HTML -----------------------------------------------------------------------------------------
def test_html_keeps_visible_text_in_blocks_and_decodes_entities() -> None:
    page = b"""<!doctype html><html><head><title>Refunds</title>
<style>p { color: red }</style><script>var secret = "hidden";</script></head>
<body><nav>Home</nav><h1>Refund   policy</h1>
<p>Refunds take&nbsp;5&ndash;7 days &amp; are sent to the <b>original</b> card.<br>Contact us.</p>
<ul><li>Ask</li><li>Wait</li></ul>
<table><tr><th>Plan</th><th>Days</th></tr><tr><td>Pro</td><td>30</td></tr></table>
<pre>  keep   this
  layout</pre><noscript>Enable JS</noscript><img src="x.png" alt="A chart"></body></html>"""

    text = extract(page, "text/html; charset=utf-8", "refunds.html").text

    assert text.startswith("Refunds\n\nHome\n\nRefund policy\n\n")
    assert "Refunds take\xa05\u20137 days & are sent to the original card.\nContact us." in text
    assert "- Ask\n- Wait" in text
    assert "Plan | Days\nPro | 30" in text
    assert "keep   this\nlayout" in text
    assert "A chart" in text
    for hidden in ("secret", "color: red", "Enable JS", "<"):
        assert hidden not in text


# -- JSON -----------------------------------------------------------------------------------------
def test_json_becomes_one_path_value_line_per_scalar() -> None:
    document = {
        "product": {"name": "Parley", "tags": ["api", "agents"], "beta": False, "owner": None},
        "limits": [{"name": "files", "max": 100}],
        "empty": {},
    }

    text = extract(json.dumps(document).encode(), "application/json", "p.json").text

    assert text.split("\n") == [
        "product.name: Parley",
        "product.tags[0]: api",
        "product.tags[1]: agents",
        "product.beta: false",
        "limits[0].name: files",
        "limits[0].max: 100",
    ]


def test_a_json_scalar_document_is_its_value() -> None:
    assert extract(b'"just a string"', "application/json", "s.json").text == "just a string"


def test_deeply_nested_json_is_flattened_without_recursion() -> None:
    depth = 300
    nested = '{"a":' * depth + "1" + "}" * depth

    text = extract(nested.encode(), "application/json", "deep.json").text

    assert text == ".".join(["a"] * depth) + ": 1"


def test_invalid_json_is_refused_with_where_it_broke() -> None:
    with pytest.raises(ExtractionError, match=r"could not be parsed at line 2, column 3"):
        extract(b'{"a": 1,\n  oops}', "application/json", "bad.json")


def test_json_lines_are_flattened_record_by_record() -> None:
    data = b'{"id": 1, "text": "first"}\n\n{"id": 2, "text": "second"}\n'

    text = extract(data, "application/x-ndjson", "r.jsonl").text

    assert text == "id: 1\ntext: first\n\nid: 2\ntext: second"


# -- CSV / TSV ------------------------------------------------------------------------------------
def test_csv_rows_become_header_value_lines() -> None:
    data = (
        b"name,role,notes\n"
        b'Ada,engineer,"wrote the first program, in 1843"\n'
        b"Bob,,\n\n,,\n"
        b"Cy,ops,on call,extra\n"
    )

    text = extract(data, "text/csv", "people.csv").text

    assert text.split("\n") == [
        "name: Ada; role: engineer; notes: wrote the first program, in 1843",
        "name: Bob",
        "name: Cy; role: ops; notes: on call; column 4: extra",
    ]


def test_a_semicolon_separated_csv_is_read_by_its_separator() -> None:
    text = extract(b"city;price\nBerlin;3,50\n", "text/csv", "p.csv").text

    assert text == "city: Berlin; price: 3,50"


def test_tsv_rows_become_header_value_lines() -> None:
    text = extract(b"term\tmeaning\nBM25\tranking function\n", "text/tab-separated-values", "g.tsv").text

    assert text == "term: BM25; meaning: ranking function"


def test_a_csv_with_only_a_header_is_its_header() -> None:
    assert extract(b"a,b,c\n", "text/csv", "h.csv").text == "a; b; c"


# -- PDF ------------------------------------------------------------------------------------------
def test_pdf_text_is_extracted_per_page_with_each_pages_span() -> None:
    pdf = text_pdf([["Chapter one.", "The (first) page."], [], ["Chapter three."]])

    extracted = extract(pdf, "application/pdf", "book.pdf")

    assert extracted.text == "Chapter one.\nThe (first) page.\n\nChapter three."
    assert extracted.pages == (PageSpan(1, 0, 30), PageSpan(3, 32, 46))
    assert [extracted.text[p.start : p.end] for p in extracted.pages] == [
        "Chapter one.\nThe (first) page.",
        "Chapter three.",
    ]


def test_a_password_protected_pdf_is_refused_with_the_reason() -> None:
    with pytest.raises(ExtractionError, match="protected by a password"):
        extract(encrypted_pdf([["Secret."]], "s3cret"), "application/pdf", "locked.pdf")


def test_a_pdf_encrypted_without_a_user_password_is_read() -> None:
    pdf = encrypted_pdf([["Readable by anyone."]], "")

    assert extract(pdf, "application/pdf", "open.pdf").text == "Readable by anyone."


@pytest.mark.parametrize("data", [b"%PDF-1.7\nnot really a pdf", b"\x00" * 64, text_pdf([["x"]])[:200]])
def test_a_corrupt_pdf_is_refused_as_unreadable(data: bytes) -> None:
    with pytest.raises(ExtractionError, match="The PDF could not be read"):
        extract(data, "application/pdf", "broken.pdf")


def test_a_pdf_without_a_text_layer_is_refused() -> None:
    with pytest.raises(ExtractionError, match="no text layer"):
        extract(text_pdf([[], []]), "application/pdf", "scan.pdf")
