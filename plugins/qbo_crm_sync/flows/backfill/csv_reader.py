"""Reading a customer CSV: its encoding, delimiter and header, then its records in chunks.

Two kinds of file are read, told apart by their header (any order of columns, any case):

- **QuickBooks Online's own export.** QBO's customer list (Sales → Customers → Export, or the
  report "Customer Contact List" exported to CSV) opens with a few title lines (company name, report
  name, "As of …"), then the header ``Customer`` (newer exports: ``Customer full name``),
  ``Phone numbers``, ``Email``, ``Full name``, ``Billing address``, ``Shipping address``, often more
  (``Open balance``, ``Notes``, ``Currency``), and may end with a ``Total`` line and a time stamp
  line. ``Phone numbers`` holds every number of the customer in one cell, each after its label
  ("Phone: (410) 415-7406 Mobile: …"), ``Full name`` the first, middle and last names in one cell,
  ``Billing address`` the whole address in one cell. Sources for this shape (no public spec of the
  export exists): open-source readers of real exports, e.g. a "Customer Contact List" importer that
  finds the header by ``Customer full name`` and reads cell 1 as "Phone:…" labels (GitHub,
  ``src/lib/imports/qb-csv.ts``) and a parser's fixture with the title lines, ``Customer,Phone
  Numbers,Email,Full Name,Billing Address,Open Balance,Currency`` and a ``Total`` row; Intuit's
  import help ("Which contact fields are imported from Excel", QuickBooks Online) names the
  single-cell ``Full Name`` and the separate ``Company``, ``Phone``, ``Mobile``, ``Street``,
  ``City``, ``State``, ``ZIP code`` and ``Country`` columns of the list form. Our judgement: take
  the header by its names, not its position; read the combined cells (see csv_fields.py); skip the
  title, total and time stamp lines.
- **A plain CSV** with one column per field, documented in the README: ``display_name``,
  ``first_name``, ``last_name``, ``company_name``, ``email``, ``phone``, ``mobile``, ``address1``,
  ``city``, ``state``, ``postal_code``, ``country``, and optional ``active`` and ``qbo_id``. The
  QBO list form's own names (``Name``, ``Company``, ``Street``, ``ZIP code``, ...) are read as well.

Encodings: UTF-8 with or without a byte order mark, and Windows-1252 (Excel's "CSV" on Windows);
a file that is neither is refused. Delimiter: comma or semicolon (Excel in locales whose decimal
mark is a comma), taken from the header line. Blank lines (also rows of empty cells) are skipped
anywhere; cells beyond the header's are ignored; missing trailing cells are empty.

A file this module cannot read fails with :class:`CsvFileError`, naming the line and the problem,
before anything is written. Records are read as they come (:func:`read_chunks`), never the whole
file at once, and each chunk says the byte offset after it, so a later run resumes there.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from qbo_crm_sync.errors import ConfigurationError

SHAPE_REPORT = "QuickBooks Online customer list export (combined name, phone and address cells)"
SHAPE_COLUMNS = "customer CSV with one column per field"

# Field → header names that mean it, compared after lower-casing and turning every run of other
# characters than letters and digits into one space.
ALIASES: dict[str, tuple[str, ...]] = {
    "customer": ("customer", "customer full name", "customer name", "display name", "display name as", "name"),
    "full_name": ("full name",),
    "first_name": ("first name", "firstname", "given name"),
    "last_name": ("last name", "lastname", "family name", "surname"),
    "company": ("company", "company name"),
    "email": ("email", "e mail", "email address", "primary email"),
    "phones": ("phone numbers",),
    "phone": ("phone", "phone number", "primary phone", "main phone", "telephone", "work phone"),
    "mobile": ("mobile", "mobile phone", "mobile number", "cell", "cell phone"),
    "address": ("billing address", "bill address", "address"),
    "street": ("street", "street address", "address1", "address line 1", "billing address line 1",
               "billing street", "bill address 1", "billing address 1"),
    "city": ("city", "city town", "billing city", "billing address city"),
    "state": ("state", "province", "state province", "state province region", "province territory", "region",
              "billing state", "billing address state"),
    "postal_code": ("postal code", "zip", "zip code", "postcode", "billing zip", "billing address postal code"),
    "country": ("country", "billing country", "billing address country"),
    "active": ("active", "status"),
    "qbo_id": ("qbo id", "quickbooks id", "customer id", "id"),
}
_FIELD_OF = {alias: field for field, aliases in ALIASES.items() for alias in aliases}
_COMBINED = frozenset({"full_name", "phones", "address"})
# A header must name one of these: something to call or name the customer by.
_IDENTIFYING = frozenset({"customer", "full_name", "first_name", "last_name", "company", "email", "phone",
                          "phones", "mobile"})
HEADER_SEARCH_LINES = 30
# Lines QBO's report export adds after the rows: totals, and when and on what basis it was run.
_FOOTER = re.compile(r"^(total\b|.*\b(accrual|cash) basis\b|\w+day,? \w+ \d{1,2},? \d{4}\b)", re.IGNORECASE)
ENCODINGS = ("auto", "utf-8", "windows-1252")


class CsvFileError(ConfigurationError):
    """The file cannot be read as a customer CSV: ``line`` (1-based, or None for the whole file)
    and ``problem`` say where and what."""

    def __init__(self, path: Path | str, line: int | None, problem: str) -> None:
        where = f"{Path(path).name}, line {line}" if line else Path(path).name
        super().__init__(f"{where}: {problem}")
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class Layout:
    """How to read one file: found by :func:`inspect`, confirmed over the whole file by :func:`scan`."""

    path: Path
    encoding: str  # a Python codec: "utf-8-sig", "utf-8" or "cp1252"
    delimiter: str
    header_line: int
    data_offset: int  # byte offset of the first line after the header
    data_line: int  # its line number
    header: tuple[str, ...]
    columns: dict[str, int]  # field → cell index
    ignored: tuple[str, ...]
    shape: str
    encoding_chosen: bool = False  # given by the user rather than detected

    @property
    def encoding_name(self) -> str:
        return {"utf-8-sig": "UTF-8 with BOM", "utf-8": "UTF-8", "cp1252": "Windows-1252"}[self.encoding]


@dataclass(frozen=True)
class Scan:
    layout: Layout
    rows: int  # data records, blank and report footer lines left out
    size: int
    fingerprint: str  # sha256 of the file's bytes


@dataclass
class RawChunk:
    """Consecutive data records: their cells and the line each starts on; where the next chunk starts."""

    records: list[list[str]]
    lines: list[int]
    end_offset: int
    end_line: int


def normalise_header(cell: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", cell.strip().lstrip("\ufeff").lower()).split())


def inspect(path: Path, encoding: str = "auto") -> Layout:
    """Find the encoding (as far as the first lines tell), the header line and the delimiter."""
    with path.open("rb") as handle:
        head = handle.read(1 << 16)
    if not head.strip():
        raise CsvFileError(path, None, "the file is empty")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise CsvFileError(path, 1, "the file is UTF-16 (Excel's \"Unicode text\"): save it as \"CSV UTF-8\" or "
                                    "\"CSV (comma delimited)\" and try again")
    if encoding not in ENCODINGS:
        raise CsvFileError(path, None, f"unknown encoding {encoding!r}: choose one of {', '.join(ENCODINGS)}")
    if head.startswith(codecs.BOM_UTF8):
        codec = "utf-8-sig"
    elif encoding == "windows-1252":
        codec = "cp1252"
    elif encoding == "utf-8":
        codec = "utf-8"
    else:
        codec = "utf-8" if _decodes(head, "utf-8") else "cp1252"
    lines = head.split(b"\n")
    if len(lines) > 1 and len(head) == 1 << 16:
        lines = lines[:-1]  # the last one may be cut
    offset = 0
    for number, raw in enumerate(lines[:HEADER_SEARCH_LINES], start=1):
        try:
            text = raw.decode(codec)
        except UnicodeDecodeError as exc:
            raise CsvFileError(path, number, _decode_problem(exc, codec)) from None
        if "\x00" in text:
            raise CsvFileError(path, number, "contains NUL bytes: this is not a text CSV file")
        found = _header(text)
        if found is not None:
            delimiter, cells, columns, ignored = found
            shape = SHAPE_REPORT if columns.keys() & _COMBINED else SHAPE_COLUMNS
            return Layout(path, codec, delimiter, number, offset + len(raw) + 1, number + 1, tuple(cells), columns,
                          tuple(ignored), shape, encoding_chosen=encoding != "auto")
        offset += len(raw) + 1
    expected = "Customer, Email, Phone numbers, Full name, Billing address (QuickBooks' export) or " \
               "display_name, first_name, last_name, email, phone, ... (see the README)"
    raise CsvFileError(path, 1, f"no header line in the first {HEADER_SEARCH_LINES} lines names the columns "
                                f"this import reads: expected {expected}")


def _header(text: str) -> tuple[str, list[str], dict[str, int], list[str]] | None:
    best = None
    for delimiter in (",", ";"):
        try:
            cells = next(csv.reader([text], delimiter=delimiter), [])
        except csv.Error:
            continue
        columns: dict[str, int] = {}
        ignored = []
        for index, cell in enumerate(cells):
            field = _FIELD_OF.get(normalise_header(cell))
            if field is not None and field not in columns:
                columns[field] = index
            elif cell.strip():
                ignored.append(cell.strip())
        if len(columns) >= 2 and columns.keys() & _IDENTIFYING and (best is None or len(columns) > len(best[2])):
            best = (delimiter, cells, columns, ignored)
    return best


def scan(layout: Layout) -> Scan:
    """Read every record once: the structure must hold to the end, the bytes must decode, and the
    data records are counted. A file that is not UTF-8 after all (when detecting) is read as
    Windows-1252."""
    try:
        return _scan(layout)
    except _NotThisEncoding as exc:
        if layout.encoding_chosen or layout.encoding == "utf-8-sig":
            raise CsvFileError(layout.path, exc.line, exc.problem) from None
        if layout.encoding == "cp1252":  # the first lines were not UTF-8 already
            raise CsvFileError(layout.path, exc.line, f"neither UTF-8 nor Windows-1252 text ({exc.problem})") from None
        try:
            return _scan(replace(layout, encoding="cp1252"))
        except _NotThisEncoding as again:
            raise CsvFileError(layout.path, again.line, f"neither UTF-8 ({exc.problem}) nor Windows-1252 "
                                                        f"({again.problem})") from None


def _scan(layout: Layout) -> Scan:
    digest = hashlib.sha256()
    rows = 0
    with layout.path.open("rb") as handle:
        head = handle.read(layout.data_offset)
        digest.update(head)
        _check_header_decodes(layout, head)
        lines = _Lines(handle, layout, digest=digest)
        for cells in _records(lines, layout):
            if _is_data(cells, layout):
                rows += 1
        size = lines.offset
    return Scan(layout, rows, size, digest.hexdigest())


def _check_header_decodes(layout: Layout, head: bytes) -> None:
    for number, raw in enumerate(head.split(b"\n")[:layout.header_line], start=1):
        try:
            raw.decode(layout.encoding)
        except UnicodeDecodeError as exc:
            raise _NotThisEncoding(number, _decode_problem(exc, layout.encoding)) from None


def read_chunks(layout: Layout, rows_per_chunk: int, offset: int | None = None,
                line: int | None = None) -> Iterator[RawChunk]:
    """The data records from ``offset`` (the first after the header by default), ``rows_per_chunk``
    at a time; blank and report footer lines are passed over."""
    start, number = (layout.data_offset, layout.data_line) if offset is None else (offset, line or 0)
    with layout.path.open("rb") as handle:
        handle.seek(start)
        lines = _Lines(handle, layout, offset=start, line=number - 1)
        records: list[list[str]] = []
        starts: list[int] = []
        for cells in _records(lines, layout):
            if not _is_data(cells, layout):
                continue
            records.append(cells)
            starts.append(lines.record_line)
            if len(records) >= rows_per_chunk:
                yield RawChunk(records, starts, lines.offset, lines.line + 1)
                records, starts = [], []
        if records:
            yield RawChunk(records, starts, lines.offset, lines.line + 1)


class _NotThisEncoding(Exception):
    def __init__(self, line: int, problem: str) -> None:
        super().__init__(problem)
        self.line, self.problem = line, problem


class _Lines:
    """The file's lines from the current position, decoded, counting bytes and line numbers."""

    def __init__(self, handle: object, layout: Layout, *, offset: int | None = None, line: int | None = None,
                 digest: object = None) -> None:
        self.handle = handle
        self.encoding = layout.encoding
        self.offset = layout.data_offset if offset is None else offset
        self.line = layout.header_line if line is None else line  # lines consumed so far
        self.record_line = self.line + 1  # where the record being read started
        self.digest = digest

    def __iter__(self) -> Iterator[str]:
        decode, digest = self.encoding, self.digest
        for raw in self.handle:  # type: ignore[attr-defined]
            self.offset += len(raw)
            self.line += 1
            if digest is not None:
                digest.update(raw)  # type: ignore[attr-defined]
            try:
                text = raw.decode(decode)
            except UnicodeDecodeError as exc:
                raise _NotThisEncoding(self.line, _decode_problem(exc, decode)) from None
            if "\x00" in text:
                raise CsvFileError(self.handle.name, self.line,  # type: ignore[attr-defined]
                                   "contains NUL bytes: this is not a text CSV file")
            yield text


def _records(lines: _Lines, layout: Layout) -> Iterator[list[str]]:
    reader = csv.reader(lines, delimiter=layout.delimiter, strict=True)
    while True:
        lines.record_line = lines.line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvFileError(layout.path, lines.record_line, _csv_problem(str(exc), lines.line)) from None
        yield cells


def _is_data(cells: list[str], layout: Layout) -> bool:
    first = next((c for c in cells if c and not c.isspace()), None)
    if first is None:
        return False
    if layout.shape != SHAPE_REPORT or not _FOOTER.match(first.strip()):
        return True
    # A report's total or time stamp line: its first cell says so and it names nobody to reach.
    reach = [layout.columns[f] for f in ("email", "phones", "phone", "mobile", "full_name") if f in layout.columns]
    return any(i < len(cells) and cells[i].strip() for i in reach)


def _decodes(data: bytes, codec: str) -> bool:
    decoder = codecs.getincrementaldecoder(codec)()
    try:
        decoder.decode(data, final=False)
    except UnicodeDecodeError:
        return False
    return True


def _decode_problem(exc: UnicodeDecodeError, codec: str) -> str:
    name = {"utf-8-sig": "UTF-8", "utf-8": "UTF-8", "cp1252": "Windows-1252"}.get(codec, codec)
    byte = exc.object[exc.start:exc.start + 1].hex() if isinstance(exc.object, bytes) else "?"
    return f"byte 0x{byte} at character {exc.start + 1} is not {name} text"


def _csv_problem(message: str, last_line: int) -> str:
    if "unexpected end of data" in message:
        return (f"a quoted cell opens on this line and never closes (the file ends inside it, at line "
                f"{last_line}): add the closing double quote")
    if "field larger than field limit" in message:
        return "a cell longer than 131,072 characters starts here: most likely a double quote that never closes"
    if "expected after" in message:
        return ("a double quote closes a cell but more text follows in the same cell: write a double quote "
                "inside a quoted cell as two double quotes (\"\")")
    if "new-line character seen in unquoted field" in message:
        return "line breaks of old Mac files (carriage returns only): save the file again with Windows or Unix ones"
    return message
