"""Text out of a file's bytes, for chunking: plain text, Markdown, HTML, JSON (and JSON lines), CSV/TSV
and PDF. Each format keeps what a reader (and a retriever) needs and drops markup noise:

* Markdown: the text, without heading marks, emphasis, link targets, fences and table rules.
* HTML: the visible text (no script/style), a line per block and a paragraph per heading.
* JSON: one ``path: value`` line per scalar (``items[0].name: Ada``), so a value keeps its meaning.
* CSV/TSV: one ``header: value; header: value`` line per row, so a row is retrievable on its own.
* PDF (pypdf): the text of each page, with the page's span in the extracted text.

Anything else (images, office documents) raises ``ExtractionError`` with the reason, as do a corrupt or
password-protected PDF and a file with no text. Text is decoded by its declared charset, then UTF-8
(with or without a BOM), UTF-16 (with a BOM), Windows-1252 and finally Latin-1 (which never fails).
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any


class ExtractionError(Exception):
    """The file has no text that can be indexed; the message says why (shown to the user)."""


@dataclass(frozen=True)
class PageSpan:
    number: int  # 1-based
    start: int  # character offsets of the page in the extracted text
    end: int


@dataclass(frozen=True)
class Extracted:
    text: str
    pages: tuple[PageSpan, ...] | None = None  # only for paged formats (PDF)


MARKDOWN_TYPES = frozenset({"text/markdown", "text/x-markdown"})
HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
JSON_TYPES = frozenset({"application/json", "text/json"})
JSON_LINES_TYPES = frozenset({"application/x-ndjson", "application/jsonl", "application/json-seq"})
CSV_TYPES = frozenset({"text/csv"})
TSV_TYPES = frozenset({"text/tab-separated-values", "text/tsv"})
PDF_TYPES = frozenset({"application/pdf"})
# Text formats read as they are (markup and all: their tags and keys are meaningful words).
PLAIN_TYPES = frozenset({"application/xml", "application/yaml", "application/x-yaml"})
OCTET_STREAM = "application/octet-stream"

_FORMATS_BY_EXTENSION = {
    "txt": "text/plain",
    "text": "text/plain",
    "md": "text/markdown",
    "markdown": "text/markdown",
    "html": "text/html",
    "htm": "text/html",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "ndjson": "application/x-ndjson",
    "csv": "text/csv",
    "tsv": "text/tab-separated-values",
    "pdf": "application/pdf",
    "xml": "application/xml",
    "yaml": "application/yaml",
    "yml": "application/yaml",
}
SUPPORTED = "plain text, Markdown, HTML, JSON, CSV, TSV and PDF"


def extract(data: bytes, content_type: str, name: str) -> Extracted:
    """The text of a file (and, for a PDF, the span of each page); raises ExtractionError."""
    media_type, charset = _parse_content_type(content_type)
    if media_type == OCTET_STREAM:
        media_type = _sniff(data, name)
    if media_type in PDF_TYPES:
        return _pdf(data)
    if not (media_type.startswith("text/") or media_type in PLAIN_TYPES | JSON_TYPES | JSON_LINES_TYPES):
        raise ExtractionError(f"{media_type} files are not indexed (supported: {SUPPORTED}).")
    text = decode(data, charset)
    if media_type in MARKDOWN_TYPES:
        text = markdown_text(text)
    elif media_type in HTML_TYPES:
        text = html_text(text)
    elif media_type in JSON_TYPES:
        text = json_text(text)
    elif media_type in JSON_LINES_TYPES:
        text = json_lines_text(text)
    elif media_type in CSV_TYPES:
        text = table_text(text, delimiter=None)
    elif media_type in TSV_TYPES:
        text = table_text(text, delimiter="\t")
    return Extracted(_require_text(tidy(text)))


# -- decoding -------------------------------------------------------------------------------------
def decode(data: bytes, charset: str | None = None) -> str:
    """Bytes as text: a BOM wins, then the declared charset, UTF-8, Windows-1252, Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    candidates = [charset] if charset else []
    for encoding in [*candidates, "utf-8", "cp1252"]:
        try:
            return data.decode(encoding)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TRAILING_SPACE = re.compile(r"[ \t]+\n")
_BLANK_LINES = re.compile(r"\n{3,}")


def tidy(text: str) -> str:
    """One kind of newline, no control characters, no trailing spaces, at most one blank line in a row."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = _CONTROL.sub("", text)
    text = _TRAILING_SPACE.sub("\n", text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def _require_text(text: str) -> str:
    if not text.strip():
        raise ExtractionError("The file has no text to index.")
    return text


def _parse_content_type(content_type: str) -> tuple[str, str | None]:
    media_type, _, parameters = content_type.partition(";")
    charset = None
    for parameter in parameters.split(";"):
        key, _, value = parameter.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return media_type.strip().lower() or OCTET_STREAM, charset


def _sniff(data: bytes, name: str) -> str:
    """What an untyped file is: by its name's extension, else by its bytes (a PDF, or text)."""
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in _FORMATS_BY_EXTENSION:
        return _FORMATS_BY_EXTENSION[extension]
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    sample = data[:8192]
    if b"\x00" not in sample:
        try:
            sample.decode("utf-8")
            return "text/plain"
        except UnicodeDecodeError as exc:
            if exc.start >= len(sample) - 3:  # a character cut by the end of the sample
                return "text/plain"
    return OCTET_STREAM


# -- Markdown -------------------------------------------------------------------------------------
_FENCE = re.compile(r"^\s{0,3}(```|~~~)")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")
_SETEXT_OR_RULE = re.compile(r"^\s{0,3}([-=_*])(\s*\1){2,}\s*$")
_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_QUOTE = re.compile(r"^\s{0,3}(>\s?)+")
_BULLET = re.compile(r"^(\s*)[*+-]\s+(\[[ xX]\]\s+)?")
_LINK_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+\S+.*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]+)\](\([^)]*\)|\[[^\]]*\])")
_AUTOLINK = re.compile(r"<((?:https?|mailto):[^>\s]+)>")
_HTML_TAG = re.compile(r"</?[A-Za-z][^>\n]*>")
_CODE_SPAN = re.compile(r"`+([^`\n]+?)`+")
# Emphasis marks around words; an underscore inside a word (snake_case) is not emphasis.
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS_STAR = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_EMPHASIS_UNDERSCORE = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_STRIKE = re.compile(r"~~(?=\S)(.+?)(?<=\S)~~")


def markdown_text(text: str) -> str:
    """Markdown read as prose: headings as their own paragraphs, code kept, markup and URLs dropped."""
    lines: list[str] = []
    in_code = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if _FENCE.match(line):
            in_code = not in_code
            continue
        if in_code:
            lines.append(line)
            continue
        heading = _HEADING.match(line)
        if heading:
            lines.extend(["", _inline_markdown(heading.group(1)), ""])
            continue
        if _SETEXT_OR_RULE.match(line) or _LINK_DEFINITION.match(line):
            lines.append("")
            continue
        if "|" in line and _TABLE_RULE.match(line):  # the rule under a table's header row
            continue
        line = _QUOTE.sub("", line)
        line = _BULLET.sub(r"\1- ", line)
        if line.lstrip().startswith("|"):
            line = " | ".join(cell.strip() for cell in line.strip().strip("|").split("|"))
        lines.append(_inline_markdown(line))
    return "\n".join(lines)


def _inline_markdown(line: str) -> str:
    line = _IMAGE.sub(r"\1", line)
    line = _LINK.sub(r"\1", line)
    line = _AUTOLINK.sub(r"\1", line)
    line = _HTML_TAG.sub("", line)
    line = _CODE_SPAN.sub(r"\1", line)
    for pattern in (_STRONG, _STRIKE):
        line = pattern.sub(r"\2" if pattern is _STRONG else r"\1", line)
    line = _EMPHASIS_STAR.sub(r"\1", line)
    return _EMPHASIS_UNDERSCORE.sub(r"\1", line)


# -- HTML -----------------------------------------------------------------------------------------
_HIDDEN = frozenset({"script", "style", "noscript", "template", "svg", "canvas", "iframe", "object"})
_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
_PARAGRAPHS = frozenset(
    {"p", "blockquote", "pre", "table", "ul", "ol", "dl", "figure", "hr", "section", "title"}
)
_LINES = frozenset(
    {
        "address", "article", "aside", "br", "caption", "dd", "details", "div", "dt", "fieldset",
        "figcaption", "footer", "form", "header", "legend", "main", "nav", "summary", "tr",
    }
)  # fmt: skip
_CELLS = frozenset({"td", "th"})
_SPACES = re.compile(r"[ \t\n\r\f\v]+")


class _HtmlText(HTMLParser):
    """The visible text of a page; block elements become line or paragraph breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)  # entities (&amp; &eacute; &#8212;) decoded
        self.parts: list[str] = []
        self.hidden = 0  # depth inside elements whose text is not shown
        self.preformatted = 0
        self.cell_in_row = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
            return
        if tag == "pre":
            self.preformatted += 1
        if tag == "tr":
            self.cell_in_row = 0
        if tag in _CELLS:
            if self.cell_in_row:
                self.parts.append(" | ")
            self.cell_in_row += 1
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag == "img":
            alt = dict(attrs).get("alt")
            if alt:
                self.parts.append(f" {alt} ")
        self._break(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _HIDDEN:
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
            return
        if tag == "pre":
            self.preformatted = max(0, self.preformatted - 1)
        self._break(tag)

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        self.parts.append(data if self.preformatted else _SPACES.sub(" ", data))

    def _break(self, tag: str) -> None:
        if tag == "br":
            self.parts.append("\n")
            return
        wanted = 2 if tag in _HEADINGS or tag in _PARAGRAPHS else 1 if tag in _LINES else 0
        # Adjacent block edges (</tr><tr>, </p><div>) share one break: the widest one wins.
        since_text = len(self.parts)
        while since_text and not self.parts[since_text - 1].strip():
            since_text -= 1
        present = sum(part.count("\n") for part in self.parts[since_text:])
        if wanted > present:
            self.parts.append("\n" * (wanted - present))

    def text(self) -> str:
        lines = (line.strip() for line in "".join(self.parts).split("\n"))
        return "\n".join(lines)


def html_text(text: str) -> str:
    parser = _HtmlText()
    parser.feed(text)
    parser.close()
    return parser.text()


# -- JSON -----------------------------------------------------------------------------------------
def json_text(text: str) -> str:
    """Every scalar as a ``path: value`` line (``a.b[0].c: 1``)."""
    return "\n".join(_flatten(_load_json(text)))


def json_lines_text(text: str) -> str:
    """Each JSON line flattened, the records separated by blank lines."""
    records = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            records.append("\n".join(_flatten(_load_json(line, line_number=number))))
    return "\n\n".join(records)


def _load_json(text: str, *, line_number: int | None = None) -> Any:
    where = f" (line {line_number})" if line_number else ""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        at = f" at line {exc.lineno}, column {exc.colno}" if line_number is None else where
        raise ExtractionError(f"The JSON could not be parsed{at}: {exc.msg}.") from exc
    except RecursionError as exc:
        raise ExtractionError(f"The JSON is nested too deeply to be read{where}.") from exc


def _flatten(value: Any) -> list[str]:
    """``path: value`` lines, depth first, without recursion (a deep document cannot overflow the stack)."""
    lines: list[str] = []
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, current = stack.pop()
        if isinstance(current, dict) and current:
            children = [(f"{path}.{key}" if path else str(key), item) for key, item in current.items()]
            stack.extend(reversed(children))
        elif isinstance(current, list) and current:
            stack.extend(reversed([(f"{path}[{i}]", item) for i, item in enumerate(current)]))
        else:
            shown = _scalar(current)
            if shown:
                lines.append(f"{path}: {shown}" if path else shown)
    return lines


def _scalar(value: Any) -> str:
    if value is None or value == {} or value == []:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip()


# -- CSV / TSV ------------------------------------------------------------------------------------
def table_text(text: str, *, delimiter: str | None) -> str:
    """One ``header: value; …`` line per row (empty cells left out)."""
    lines = text.replace("\r\n", "\n").split("\n")
    if delimiter is None:  # a CSV written where the comma is the decimal mark uses semicolons
        first = next((line for line in lines if line.strip()), "")
        delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        rows = [
            row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if any(c.strip() for c in row)
        ]
    except csv.Error as exc:
        raise ExtractionError(f"The table could not be read: {exc}.") from exc
    if not rows:
        return ""
    header = [cell.strip() for cell in rows[0]]
    if len(rows) == 1:
        return "; ".join(cell for cell in header if cell)
    out = []
    for row in rows[1:]:
        cells = []
        for index, cell in enumerate(row):
            value = " ".join(cell.split())
            if value:
                label = header[index] if index < len(header) and header[index] else f"column {index + 1}"
                cells.append(f"{label}: {value}")
        out.append("; ".join(cells))
    return "\n".join(out)


# -- PDF ------------------------------------------------------------------------------------------
def _pdf(data: bytes) -> Extracted:
    from pypdf import PdfReader  # only PDFs pay for importing pypdf
    from pypdf.errors import FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ExtractionError("The PDF is protected by a password; it cannot be indexed.")
        page_texts = [tidy(page.extract_text() or "") for page in reader.pages]
    except ExtractionError:
        raise
    except (FileNotDecryptedError, NotImplementedError) as exc:
        raise ExtractionError(f"The PDF is encrypted and cannot be read: {exc}.") from exc
    except PdfReadError as exc:
        raise ExtractionError(f"The PDF could not be read: {exc}.") from exc
    except Exception as exc:
        # pypdf fails in many ways on a malformed file (KeyError, ValueError, struct errors …); each
        # means the same thing here, and retrying would fail the same way.
        raise ExtractionError(f"The PDF could not be read ({type(exc).__name__}: {exc}).") from exc
    parts: list[str] = []
    spans: list[PageSpan] = []
    offset = 0
    for number, page_text in enumerate(page_texts, 1):
        if not page_text:
            continue
        if parts:
            parts.append("\n\n")
            offset += 2
        parts.append(page_text)
        spans.append(PageSpan(number, offset, offset + len(page_text)))
        offset += len(page_text)
    if not spans:
        raise ExtractionError(
            "The PDF has no text layer (a scanned document?); text recognition is not supported."
        )
    return Extracted("".join(parts), tuple(spans))
