"""Reading a customers or invoices CSV file into RawRecords, one row at a time.

The standard `csv` module, not a data-frame or dataset library: it streams (a row at a
time, never the whole file), it reports the physical line it has reached (`line_num`),
so an error can name the line an admin sees in a text editor even after a quoted value
that spans lines, and it leaves every value a string for the shared upsert service to
judge, instead of guessing types.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from typing import BinaryIO

from django.conf import settings

from yaypay_mail.upserts import (
    CUSTOMER_COLUMNS,
    INVOICE_COLUMNS,
    MAX_ERRORS,
    RawRecord,
    RecordError,
)

KINDS = ("customers", "invoices")
ENCODINGS = ("auto", "utf-8", "windows-1252")
# Excel writes semicolons where the decimal mark is a comma (most of Europe).
DELIMITERS = {"comma": ",", "semicolon": ";", "tab": "\t"}
DELIMITER_NAMES = {",": "commas", ";": "semicolons", "\t": "tabs"}
COLUMNS = {"customers": CUSTOMER_COLUMNS, "invoices": INVOICE_COLUMNS}
# What a new record needs; an absent optional column leaves stored values alone.
REQUIRED_COLUMNS = {
    "customers": ("customer_id", "name", "billing_email"),
    "invoices": ("invoice_number", "customer_id", "due_date", "amount"),
}
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
MAX_FIELD_CHARS = 64 * 1024
NOT_CSV = "This is not a CSV file (it looks like a spreadsheet/binary). Export it as CSV."
_BINARY_SIGNATURES = (
    b"PK\x03\x04",  # zip: .xlsx, .ods, .numbers
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # OLE: .xls
    b"%PDF",
)
_SCAN_CHUNK = 64 * 1024


class FileRejected(Exception):
    """The whole file is refused (nothing of it is imported), with the reason."""

    def __init__(self, message: str, *, line: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}" if self.line else self.message


def max_bytes() -> int:
    return getattr(settings, "IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES)


def size_of(stream: BinaryIO) -> int:
    position = stream.tell()
    size = stream.seek(0, io.SEEK_END)
    stream.seek(position)
    return size


def check_size(size: int) -> None:
    limit = max_bytes()
    if size > limit:
        raise FileRejected(
            f"The file is {size / 1_048_576:.1f} MB; the limit is {limit / 1_048_576:.0f} MB. "
            "Split it into smaller files."
        )


def _scan(stream: BinaryIO, encoding: str) -> str:
    """One pass over the bytes, a chunk at a time: refuse binary files and choose (auto)
    or check the text encoding, naming the first line that does not decode. Leaves the
    stream at its start."""
    stream.seek(0)
    head = stream.read(_SCAN_CHUNK)
    if head.startswith(_BINARY_SIGNATURES):
        raise FileRejected(NOT_CSV)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileRejected("This file is UTF-16 text. Save it as CSV (UTF-8) and upload that.")
    if head.startswith(codecs.BOM_UTF8):
        encoding = "utf-8"  # a BOM settles it, whatever was chosen
    candidates = ["utf-8", "windows-1252"] if encoding == "auto" else [encoding]
    decoders = {name: codecs.getincrementaldecoder(name)() for name in candidates}
    chunk, line = head, 1
    while chunk:
        if b"\0" in chunk:
            raise FileRejected(NOT_CSV)
        # No byte of a multi-byte UTF-8 character is a newline: decoding line by line
        # finds the line of a bad byte exactly.
        for piece in chunk.splitlines(keepends=True):
            for name, decoder in list(decoders.items()):
                try:
                    decoder.decode(piece)
                except UnicodeDecodeError:
                    del decoders[name]
            if not decoders:
                raise FileRejected(_undecodable(candidates), line=line)
            if piece.endswith((b"\n", b"\r")):
                line += 1
        chunk = stream.read(_SCAN_CHUNK)
    for name, decoder in list(decoders.items()):
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            del decoders[name]
    if not decoders:
        raise FileRejected(_undecodable(candidates), line=line)
    stream.seek(0)
    chosen = next(iter(decoders))
    return "utf-8-sig" if chosen == "utf-8" else chosen


def _undecodable(candidates: list[str]) -> str:
    names = {"utf-8": "UTF-8", "windows-1252": "Windows-1252"}
    if len(candidates) > 1:
        return "this is neither UTF-8 nor Windows-1252 text; export the file as CSV UTF-8"
    return f"this is not {names[candidates[0]]} text; choose another encoding (or Detect)"


def _detect_delimiter(stream: BinaryIO, encoding: str, known: tuple[str, ...]) -> str:
    """The delimiter (comma, semicolon or tab) under which the first non-blank line reads
    as the most known column names; a comma when none does (the header check then says
    which columns are missing). Leaves the stream at its start."""
    head = stream.read(_SCAN_CHUNK).decode(encoding, errors="ignore")
    stream.seek(0)
    best, best_found = ",", 0
    for char in DELIMITERS.values():
        try:
            header = next(
                (
                    row
                    for row in csv.reader(io.StringIO(head), delimiter=char)
                    if any(cell.strip() for cell in row)
                ),
                [],
            )
        except csv.Error:
            continue
        found = len({cell.strip().lower() for cell in header} & set(known))
        if found > best_found:
            best, best_found = char, found
    return best


class CsvFile:
    """A checked CSV file: `columns` (the known ones present), `unknown_columns`, and
    iterating yields a RawRecord per data row. Rows that cannot be read (a wrong number
    of values, an over-long value) are collected in `errors` instead; a problem with the
    file as a whole raises FileRejected."""

    def __init__(
        self, stream: BinaryIO, *, kind: str, encoding: str = "auto", delimiter: str = "auto"
    ):
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        if encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {ENCODINGS}")
        if delimiter != "auto" and delimiter not in DELIMITERS:
            raise ValueError(f"delimiter must be auto or one of {tuple(DELIMITERS)}")
        self.kind = kind
        self.stream = stream
        self.size = size_of(stream)
        check_size(self.size)
        self.encoding = _scan(stream, encoding)
        self._detected = _detect_delimiter(stream, self.encoding, COLUMNS[kind])
        self.delimiter = self._detected if delimiter == "auto" else DELIMITERS[delimiter]
        self.errors: list[RecordError] = []
        self.error_count = 0
        self.rows_read = 0
        self._text = io.TextIOWrapper(stream, encoding=self.encoding, newline="", errors="strict")
        self._reader = csv.reader(self._text, delimiter=self.delimiter)
        self._read_header()

    @property
    def delimiter_name(self) -> str:
        """The chosen or detected delimiter as the form names it: comma, semicolon, tab."""
        return next(name for name, char in DELIMITERS.items() if char == self.delimiter)

    # --- header ----------------------------------------------------------------------

    def _read_header(self) -> None:
        found = next(((n, row) for n, row in self._rows() if any(c.strip() for c in row)), None)
        if found is None:
            raise FileRejected("The file is empty: it needs a header line and rows.")
        self.header_line, row = found
        names = [cell.strip().lower() for cell in row]
        self.width = len(names)
        known = COLUMNS[self.kind]
        self._index: dict[str, int] = {}
        unknown: list[str] = []
        for position, name in enumerate(names):
            if name in self._index:
                raise FileRejected(
                    f"the column {name} appears twice (columns {self._index[name] + 1} and "
                    f"{position + 1})",
                    line=self.header_line,
                )
            if name in known:
                self._index[name] = position
            elif name and name not in unknown:
                unknown.append(row[position].strip())
        missing = [name for name in REQUIRED_COLUMNS[self.kind] if name not in self._index]
        if missing:
            plural = "columns" if len(missing) > 1 else "column"
            hint = ""
            if self._detected != self.delimiter:
                hint = (
                    f" Its values seem separated by {DELIMITER_NAMES[self._detected]}, "
                    f"not {DELIMITER_NAMES[self.delimiter]}: choose Detect as the separator."
                )
            raise FileRejected(
                f"The file has no {', '.join(missing)} {plural}. A file of {self.kind} needs "
                f"the columns {', '.join(REQUIRED_COLUMNS[self.kind])}; it may also have "
                f"{', '.join(c for c in known if c not in REQUIRED_COLUMNS[self.kind])}.{hint}"
            )
        self.columns = [name for name in known if name in self._index]
        self.unknown_columns = unknown

    # --- rows ------------------------------------------------------------------------

    def _rows(self) -> Iterator[tuple[int, list[str]]]:
        """(physical line where the row starts, cells), blank lines included."""
        while True:
            start = self._reader.line_num + 1
            try:
                row = next(self._reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise FileRejected(
                    f"this is not {self._encoding_name()} text; choose another encoding",
                    line=start,
                ) from None
            except csv.Error as error:
                if "field limit" in str(error):
                    raise FileRejected(
                        f"a value is longer than {MAX_FIELD_CHARS:,} characters "
                        "(is a quote left open?)",
                        line=start,
                    ) from None
                raise FileRejected(
                    f"this line cannot be read as CSV ({error})", line=start
                ) from None
            yield start, row

    def _encoding_name(self) -> str:
        return "UTF-8" if self.encoding.startswith("utf-8") else "Windows-1252"

    def __iter__(self) -> Iterator[RawRecord]:
        for line, row in self._rows():
            if not any(cell.strip() for cell in row):
                continue  # blank lines, and rows of empty cells
            self.rows_read += 1
            if len(row) != self.width:
                hint = f" (is a {self.delimiter_name} inside a value not quoted?)"
                hint = hint if len(row) > self.width else ""
                self._fail(
                    line, "", f"has {len(row)} values but the header has {self.width} columns{hint}"
                )
                continue
            long = [n for n, i in self._index.items() if len(row[i]) > MAX_FIELD_CHARS]
            if any(len(cell) > MAX_FIELD_CHARS for cell in row):
                self._fail(
                    line,
                    long[0] if long else "",
                    f"a value is longer than {MAX_FIELD_CHARS:,} characters",
                )
                continue
            yield RawRecord(
                position=line,
                values={name: row[index].strip() for name, index in self._index.items()},
            )
        self._text.detach()

    def _fail(self, line: int, field: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(RecordError(line, field, message))

    def fraction_read(self) -> float:
        """How far into the file the reader is, for a progress bar."""
        try:
            return min(self.stream.tell() / self.size, 1.0) if self.size else 1.0
        except (OSError, ValueError):
            return 0.0
