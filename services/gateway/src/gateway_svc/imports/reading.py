"""Reading an import's file: checking an upload as it streams in, and turning the stored file back into
records and batches, a part at a time (a file is never held whole).

Lines are the file's own, numbered from 1 (the header); a record spanning lines (a quoted cell holding a line
break, an order's item lines) is numbered by its first. Parsing is plain CPU work: the worker runs it in a
thread, which fetches each stored part from the event loop as it needs it.
"""

import codecs
import csv
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import orjson

from gateway_svc.imports.exceptions import MalformedImport
from gateway_svc.imports.kinds import KindSpec, Line, Problem, Record

PART_BYTES = 1024 * 1024
_ENCODING = "utf-8-sig"  # a byte order mark, as Excel's "CSV UTF-8" writes, is no part of the header
# A member_id filled in after the lookup lengthens a row by at most this much.
_MEMBER_ID_BYTES = len(b',"member_id":"00000000-0000-0000-0000-000000000000"')


class UploadCheck:
    """Checks an upload part by part as it arrives: UTF-8 throughout, a header naming the kind's columns,
    at least one line after it. `finish` answers the count of lines after the header."""

    def __init__(self, spec: KindSpec) -> None:
        self.spec = spec
        self.decoder = codecs.getincrementaldecoder(_ENCODING)()
        self.size = 0
        self.newlines = 0
        self.ends_with_newline = False
        self.head: str | None = ""

    def take(self, part: bytes) -> None:
        try:
            text = self.decoder.decode(part)
        except UnicodeDecodeError as exc:
            raise MalformedImport(_not_utf8(self.size + exc.start)) from None
        self.size += len(part)
        self.newlines += part.count(b"\n")
        self.ends_with_newline = part.endswith(b"\n")
        if self.head is not None:
            self.head += text
            if "\n" in self.head:
                self._check_header(self.head.split("\n", 1)[0])
            elif len(self.head) > PART_BYTES:
                raise MalformedImport("The header line is longer than a megabyte: is this a CSV file?")

    def finish(self) -> int:
        try:
            self.decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise MalformedImport(_not_utf8(self.size)) from None
        if self.size == 0 or not (self.head is None or self.head.strip()):
            raise MalformedImport("The file is empty: send a header line, then a line for each record.")
        if self.head is not None:
            self._check_header(self.head)
        lines = self.newlines + (0 if self.ends_with_newline else 1)
        if lines < 2:
            raise MalformedImport("The file has a header but no lines after it.")
        return lines - 1

    def _check_header(self, line: str) -> None:
        names = [name.strip() for name in next(csv.reader([line]), [])]
        self.spec.check_header(names)
        self.head = None


def _not_utf8(offset: int) -> str:
    return f"The file is not UTF-8 (at byte {offset}); save it as UTF-8 (Excel: 'CSV UTF-8')."


class StoredText:
    """The lines of a file stored in parts, each with its line break, each part fetched as it is reached."""

    def __init__(self, fetch: Callable[[int], bytes], parts: int) -> None:
        self.fetch = fetch
        self.parts = parts

    def __iter__(self) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder(_ENCODING)()
        rest = ""
        for number in range(self.parts):
            # Split at line feeds only: str.splitlines would also break at characters a cell may hold.
            lines = (rest + decoder.decode(self.fetch(number), final=number == self.parts - 1)).split("\n")
            rest = lines.pop()
            for line in lines:
                yield line + "\n"
        if rest:
            yield rest


def lines_of(text: Iterable[str]) -> Iterator[Line]:
    """The file's records after its header, each as its cells by column; blank lines are left out."""
    reader = csv.reader(text)
    header = [name.strip() for name in next(reader)]
    width = len(header)
    read = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Line(read + 1, {}, f"cannot be read as CSV: {exc}")
            read = reader.line_num
            continue
        number, read = read + 1, reader.line_num
        values = [cell.strip() for cell in cells]
        joined = "".join(values)
        if not joined:
            continue
        if len(values) > width and "".join(values[width:]):
            yield Line(number, {}, f"has {len(values)} cells; the header has {width} columns")
        elif "\x00" in joined:
            yield Line(number, {}, "holds a NUL character, which no database can store")
        else:
            yield Line(number, dict(zip(header, values, strict=False)))


def records_of(spec: KindSpec, lines: Iterable[Line]) -> Iterator[Record]:
    """The records the lines make: each line one, or for orders and members, consecutive lines of one id."""
    pending: list[Line] = []
    for line in lines:
        if line.error is not None:
            if pending:
                yield spec.build(pending)
                pending = []
            yield Record([line.number], None, {}, problems=[Problem(line.number, None, line.error)])
            continue
        key = line.cells.get(spec.group_by, "") if spec.group_by else ""
        if pending and not (key and spec.group_by and key == pending[0].cells.get(spec.group_by)):
            yield spec.build(pending)
            pending = []
        pending.append(line)
        if not key:
            yield spec.build(pending)
            pending = []
    if pending:
        yield spec.build(pending)


@dataclass(frozen=True, slots=True)
class Batch:
    """Consecutive records, at most `MAX_ROWS` of them, whose rows fit one request to the service."""

    records: list[Record]

    @property
    def first_line(self) -> int:
        return self.records[0].first_line

    @property
    def last_line(self) -> int:
        return self.records[-1].last_line


def batches_of(records: Iterable[Record], *, after_line: int, max_rows: int, max_bytes: int) -> Iterator[Batch]:
    """The records after `after_line` in batches of at most `max_rows` records and `max_bytes` of rows. A
    record whose merchant id is already in the batch starts the next one: the service sees it after the
    first, as the same record sent again."""
    batch: list[Record] = []
    keys: set[str] = set()
    size = 0
    for record in records:
        if record.first_line <= after_line:
            continue
        grown = 0 if record.problems else len(orjson.dumps(record.row)) + 1 + _MEMBER_ID_BYTES
        if grown > max_bytes:
            record.problems.append(
                Problem(record.first_line, None, f"is longer than the {max_bytes} bytes a row may be")
            )
            grown = 0
        if batch and (len(batch) == max_rows or size + grown > max_bytes or (record.key and record.key in keys)):
            yield Batch(batch)
            batch, keys, size = [], set(), 0
        batch.append(record)
        size += grown
        if record.key:
            keys.add(record.key)
    if batch:
        yield Batch(batch)
