"""parley.multipart: parts come out byte for byte; malformed bodies are refused, never half-read."""

from __future__ import annotations

import pytest

from parley.multipart import MultipartError, boundary_of, parse

BOUNDARY = "----b0undary"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"
AWKWARD = b"\x00\r\n\r\n\r--" + BOUNDARY.encode()[:-1] + b"\n\xff\xfe\r\n"


def body(*parts: bytes, preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    delimiter = f"--{BOUNDARY}".encode()
    out = preamble + (b"\r\n" if preamble else b"")
    for part in parts:
        out += delimiter + b"\r\n" + part + b"\r\n"
    return out + delimiter + b"--\r\n" + epilogue


def test_fields_and_files_are_read_with_their_names_filenames_and_types():
    parts = parse(
        body(
            b'Content-Disposition: form-data; name="title"\r\n\r\nHello',
            b'Content-Disposition: form-data; name="file"; filename="a b.png"\r\n'
            b"Content-Type: image/png\r\n\r\n" + AWKWARD,
        ),
        CONTENT_TYPE,
    )

    assert [(p.name, p.filename, p.content_type) for p in parts] == [
        ("title", None, None),
        ("file", "a b.png", "image/png"),
    ]
    assert parts[0].text() == "Hello"
    assert parts[1].data == AWKWARD


def test_a_preamble_and_an_epilogue_are_ignored():
    parts = parse(
        body(b'Content-Disposition: form-data; name="x"\r\n\r\n1', preamble=b"ignore me", epilogue=b"and me"),
        CONTENT_TYPE,
    )

    assert [(p.name, p.data) for p in parts] == [("x", b"1")]


def test_an_rfc_2231_filename_is_decoded():
    parts = parse(
        body(b"Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''caf%C3%A9.txt\r\n\r\nx"),
        CONTENT_TYPE,
    )

    assert parts[0].filename == "café.txt"


def test_an_empty_part_is_empty():
    parts = parse(
        body(b'Content-Disposition: form-data; name="file"; filename="e.txt"\r\n\r\n'), CONTENT_TYPE
    )

    assert parts[0].data == b""


def test_a_quoted_boundary_is_understood():
    assert boundary_of(f'multipart/form-data; boundary="{BOUNDARY}"') == BOUNDARY


@pytest.mark.parametrize(
    "content_type", ["application/json", "multipart/form-data", "multipart/mixed; boundary=x", ""]
)
def test_a_content_type_that_is_not_multipart_form_data_with_a_boundary_is_refused(content_type):
    with pytest.raises(MultipartError):
        boundary_of(content_type)


@pytest.mark.parametrize(
    "raw",
    [
        b"no boundary at all",
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="x"\r\n\r\ntruncated'.encode(),
        f"--{BOUNDARY}\r\nX-Not-Disposition: 1\r\n\r\nx\r\n--{BOUNDARY}--".encode(),
        f"--{BOUNDARY}\r\nContent-Disposition: form-data\r\n\r\nx\r\n--{BOUNDARY}--".encode(),
        f'--{BOUNDARY}junk\r\nContent-Disposition: form-data; name="x"\r\n\r\nx\r\n--{BOUNDARY}--'.encode(),
    ],
    ids=["no-delimiter", "truncated", "no-disposition", "no-name", "junk-after-boundary"],
)
def test_a_malformed_body_is_refused(raw):
    with pytest.raises(MultipartError):
        parse(raw, CONTENT_TYPE)
