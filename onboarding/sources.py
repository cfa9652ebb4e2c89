"""Reading the legacy files: CSV (UTF-8, with or without BOM; another encoding only when
named) and XLSX workbooks (openpyxl, read-only). Both stream: a file is read in chunks to
check its encoding and take its digest, then row by row; memory does not grow with it.

A source gives tables: each a kind (from its header), its sheet, its number of data rows,
and its rows as (line number in the file, {column: text}) pairs."""

from __future__ import annotations

import codecs
import csv
import datetime
import hashlib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

CHUNK = 1 << 20
UTF8_BOM = codecs.BOM_UTF8
# A CSV cell longer than this is not a legacy field but a broken file (the csv module's
# default limit, stated here so that the message can say it).
FIELD_MAX_CHARS = 131072

PATIENT_COLUMNS = ("numero_ecrou", "nom", "prenom", "date_naissance", "sexe", "date_arrivee")
PATIENT_OPTIONAL = ("ins",)
APPOINTMENT_COLUMNS = ("numero_ecrou", "date", "debut", "fin", "praticien", "specialite", "salle")
APPOINTMENT_OPTIONAL = ("motif",)

KIND_COLUMNS = {
    "patients": (PATIENT_COLUMNS, PATIENT_OPTIONAL),
    "appointments": (APPOINTMENT_COLUMNS, APPOINTMENT_OPTIONAL),
}
# Patients first: appointments name them.
KIND_ORDER = ("patients", "appointments")


class SourceRefused(Exception):
    """The whole file is refused (encoding, header, format), with a message in French that
    names the line when there is one. Nothing has been written."""


Row = tuple[int, dict[str, str]]


@dataclass
class Table:
    kind: str
    sheet: str
    rows_total: int
    columns: tuple[str, ...]
    _rows: Any

    def rows(self, skip: int = 0) -> Iterator[Row | tuple[int, str]]:
        """Data rows after the first SKIP: (line, values), or (line, error) for a line
        that cannot be read as cells."""
        return self._rows(skip)  # type: ignore[no-any-return]


@dataclass
class Source:
    path: Path
    digest: str
    encoding: str
    tables: list[Table]

    @property
    def name(self) -> str:
        return self.path.name


def column_name(text: object) -> str:
    """A header cell as a column name: no accents, lower case, words joined by '_'."""
    raw = unicodedata.normalize("NFKD", str(text or ""))
    raw = "".join(c for c in raw if not unicodedata.combining(c)).casefold().strip()
    return "_".join(raw.replace("'", " ").replace("-", " ").split())


def table_kind(columns: tuple[str, ...], where: str) -> str:
    """The kind of rows a header announces, or SourceRefused naming what is missing."""
    present = set(columns)
    for kind in KIND_ORDER:
        required, optional = KIND_COLUMNS[kind]
        if set(required) <= present:
            unknown = present - set(required) - set(optional) - {""}
            if unknown:
                raise SourceRefused(
                    _("%(where)s: unknown columns %(columns)s (see docs/import_format.md).")
                    % {"where": where, "columns": ", ".join(sorted(unknown))}
                )
            return kind
    closest = max(KIND_ORDER, key=lambda k: len(set(KIND_COLUMNS[k][0]) & present))
    missing = [c for c in KIND_COLUMNS[closest][0] if c not in present]
    raise SourceRefused(
        _(
            "%(where)s: line 1 is not a header of patients nor of appointments; missing "
            "columns: %(columns)s (see docs/import_format.md)."
        )
        % {"where": where, "columns": ", ".join(missing)}
    )


def open_source(path: Path, *, encoding: str | None = None) -> Source:
    if not path.is_file():
        raise SourceRefused(_("%(name)s: no such file.") % {"name": path.name})
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(b"PK\x03\x04"):
        return _xlsx_source(path)
    return _csv_source(path, encoding)


# -- CSV ------------------------------------------------------------------------------------


def _scan(path: Path, encoding: str) -> tuple[str, int]:
    """The file's SHA-256 and its number of lines, checking that it decodes as ENCODING
    (SourceRefused naming the first line that does not). One pass in chunks."""
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    lines = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                line = lines + chunk.count(b"\n", 0, exc.start) + 1
                raise SourceRefused(_encoding_message(path, encoding, line, chunk)) from None
            lines += chunk.count(b"\n")
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise SourceRefused(_encoding_message(path, encoding, lines + 1, b"")) from None
    return digest.hexdigest(), lines


def _encoding_message(path: Path, encoding: str, line: int, sample: bytes) -> str:
    if encoding.startswith("utf-8"):
        try:
            sample.decode("cp1252")
            looks_cp1252 = True
        except UnicodeDecodeError:
            looks_cp1252 = False
        if looks_cp1252:
            return _(
                "%(name)s is not in UTF-8: line %(line)d has a character in another encoding, "
                "most likely Windows-1252 (a CSV file saved by Excel). Save it again as "
                '"CSV UTF-8", or run the import again with --encoding cp1252.'
            ) % {"name": path.name, "line": line}
        return _(
            '%(name)s is not in UTF-8: line %(line)d cannot be read. Save it again as "CSV UTF-8".'
        ) % {"name": path.name, "line": line}
    return _("%(name)s: line %(line)d cannot be read as %(encoding)s.") % {
        "name": path.name,
        "line": line,
        "encoding": encoding,
    }


def _csv_source(path: Path, encoding: str | None) -> Source:
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SourceRefused(
            _('%(name)s is in UTF-16: save it again as "CSV UTF-8".') % {"name": path.name}
        )
    if encoding is None:
        encoding = "utf-8-sig" if head.startswith(UTF8_BOM) else "utf-8"
    else:
        try:
            encoding = codecs.lookup(encoding).name
        except LookupError:
            raise SourceRefused(
                _("Unknown encoding: %(encoding)s.") % {"encoding": encoding}
            ) from None
        if encoding == "utf-8" and head.startswith(UTF8_BOM):
            encoding = "utf-8-sig"
    digest, lines = _scan(path, encoding)
    with path.open(encoding=encoding, newline="") as text:
        first = text.readline()
    if not first.strip():
        raise SourceRefused(_("%(name)s is empty.") % {"name": path.name})
    # Excel in French writes ';'; others ','. The header decides.
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    header = tuple(column_name(c) for c in next(csv.reader([first], delimiter=delimiter)))
    kind = table_kind(header, path.name)

    def rows(skip: int) -> Iterator[Row | tuple[int, str]]:
        with path.open(encoding=encoding, newline="") as fh:
            reader = csv.reader(fh, delimiter=delimiter, strict=True)
            read = 0
            line = 1
            try:
                next(reader)
            except (csv.Error, StopIteration):
                return
            while True:
                start = reader.line_num + 1
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    line = start
                    read += 1
                    if read > skip:
                        yield (
                            line,
                            _("the line cannot be read as CSV cells (%(error)s).")
                            % {"error": str(exc)},
                        )
                    continue
                if not any(c.strip() for c in cells):
                    continue
                read += 1
                if read <= skip:
                    continue
                if len(cells) != len(header):
                    yield (
                        start,
                        _("%(found)d cells where the header has %(expected)d.")
                        % {"found": len(cells), "expected": len(header)},
                    )
                    continue
                yield start, dict(zip(header, cells, strict=True))

    # Lines after the header, a last line without its newline included: an upper bound
    # for the progress bar (blank lines are skipped).
    return Source(path, digest, encoding, [Table(kind, "", max(lines, 1), header, rows)])


# -- XLSX -----------------------------------------------------------------------------------


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def cell_text(value: object) -> str:
    """A cell as the text a CSV file would hold: dates ISO, times HH:MM, whole numbers
    without a decimal point (a prison number typed as a number)."""
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, datetime.time):
        return value.strftime("%H:%M")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _xlsx_source(path: Path) -> Source:
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    digest = _file_digest(path)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise SourceRefused(
            _("%(name)s is not a readable XLSX workbook (%(error)s).")
            % {"name": path.name, "error": type(exc).__name__}
        ) from None
    tables = []
    try:
        for sheet in workbook.worksheets:
            header_row = next(sheet.iter_rows(min_row=1, max_row=1, values_only=True), None)
            if header_row is None or not any(v not in (None, "") for v in header_row):
                continue
            header = tuple(column_name(v) for v in header_row)
            while header and header[-1] == "":
                header = header[:-1]
            where = _("%(name)s, sheet %(sheet)s") % {"name": path.name, "sheet": sheet.title}
            kind = table_kind(header, where)
            tables.append(
                Table(
                    kind,
                    sheet.title,
                    max((sheet.max_row or 1) - 1, 1),
                    header,
                    _sheet_rows(path, sheet.title, header),
                )
            )
    finally:
        workbook.close()
    if not tables:
        raise SourceRefused(_("%(name)s has no sheet with a header.") % {"name": path.name})
    tables.sort(key=lambda t: KIND_ORDER.index(t.kind))
    return Source(path, digest, "xlsx", tables)


def _sheet_rows(path: Path, title: str, header: tuple[str, ...]) -> Any:
    def rows(skip: int) -> Iterator[Row | tuple[int, str]]:
        import openpyxl

        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            sheet = workbook[title]
            read = 0
            for number, values in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2):
                cells = [cell_text(v) for v in values[: len(header)]]
                if not any(cells) and not any(v not in (None, "") for v in values):
                    continue
                read += 1
                if read <= skip:
                    continue
                if any(v not in (None, "") for v in values[len(header) :]):
                    yield number, _("cells beyond the header's last column.")
                    continue
                cells += [""] * (len(header) - len(cells))
                yield number, dict(zip(header, cells, strict=True))
        finally:
            workbook.close()

    return rows
