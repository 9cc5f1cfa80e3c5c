"""Slide metadata as CSV, for labs that keep a spreadsheet.

Export streams one row per slide (constant memory). Import validates every row first and
reports each problem with its row and column; it applies nothing from a file with errors
unless asked to apply the valid rows, and then applies them in one transaction.
"""

import codecs
import csv
import io
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet

from webapp.core.errors import ServiceError
from webapp.slides.models import Slide
from webapp.tagging.models import SlideTag, TagSource, Term
from webapp.tagging.services.tags import MAX_SLIDES_PER_REQUEST, tags_change
from webapp.tagging.services.vocabulary import TermIndex

IDENTITY_COLUMNS = ("slide_id", "root", "relative_path")
INFO_COLUMNS = ("review_status",)  # exported for reading, ignored on import
SEPARATOR = "|"
MAX_IMPORT_ROWS = 200_000
# A cell starting with one of these is a formula to a spreadsheet (CSV injection): the export
# writes it with a leading apostrophe, and the import takes that apostrophe off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _defuse(value):
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _restore(value):
    if isinstance(value, str) and value.startswith("'") and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_rows(slides: QuerySet[Slide], index: TermIndex | None = None) -> Iterator[str]:
    """CSV lines for the slides, read in chunks."""
    index = index or TermIndex()
    keys = list(index.categories)
    writer = csv.writer(_Echo())
    yield writer.writerow([*IDENTITY_COLUMNS, *INFO_COLUMNS, *map(_defuse, keys)])
    slides = (
        slides.select_related("root")
        .order_by("pk")
        .only("pk", "relative_path", "review_status", "root__name")
    )
    chunk: list[Slide] = []
    for slide in slides.iterator(chunk_size=2000):
        chunk.append(slide)
        if len(chunk) == 2000:
            yield from _chunk_rows(chunk, keys, writer)
            chunk = []
    yield from _chunk_rows(chunk, keys, writer)


def _chunk_rows(slides: list[Slide], keys: list[str], writer) -> Iterator[str]:
    terms: dict[int, dict[str, list[str]]] = {}
    for sid, key, name in SlideTag.objects.filter(slide_id__in=[s.pk for s in slides]).values_list(
        "slide_id", "term__category__key", "term__name"
    ):
        terms.setdefault(sid, {}).setdefault(key, []).append(name)
    for slide in slides:
        mine = terms.get(slide.pk, {})
        yield writer.writerow(
            [
                slide.pk,
                _defuse(slide.root.name),
                _defuse(slide.relative_path),
                slide.review_status,
                *(_defuse(SEPARATOR.join(sorted(mine.get(key, [])))) for key in keys),
            ]
        )


@dataclass
class ImportReport:
    applied_rows: int = 0
    errors: list[dict] = field(default_factory=list)

    def error(self, row: int, column: str, message: str) -> None:
        self.errors.append({"row": row, "column": column, "message": message})


@dataclass
class _Row:
    line: int
    slide_id: int
    terms: dict  # category key -> [Term]


def _utf16(data: bytes) -> str | None:
    """Excel's "Unicode text": UTF-16 with a byte-order mark (taken only when its header line
    reads as plain column names, so binary junk that happens to start like a BOM is not)."""
    if not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return None
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError:
        return None
    return text if text.partition("\n")[0].isascii() else None


def _read(data: bytes) -> csv.DictReader:
    text = _utf16(data)
    try:
        text = data.decode("utf-8-sig") if text is None else text
    except UnicodeDecodeError as exc:
        raise ServiceError(
            "The file is not UTF-8 text (save the spreadsheet as CSV UTF-8).", code="invalid_csv"
        ) from exc
    if "\x00" in text:
        raise ServiceError(
            "The file contains NUL characters; it is not a text CSV file.", code="invalid_csv"
        )
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    return csv.DictReader(io.StringIO(text), dialect=dialect)


def _identify(raw: dict, line: int, roots: dict[tuple[str, str], int], report) -> int | None:
    sid = (raw.get("slide_id") or "").strip()
    if sid:
        if not sid.isdigit():
            report.error(line, "slide_id", f"{sid!r} is not a slide id.")
            return None
        return int(sid)
    key = ((raw.get("root") or "").strip(), (raw.get("relative_path") or "").strip())
    if not key[1]:
        report.error(line, "slide_id", "Give slide_id, or root and relative_path.")
        return None
    found = roots.get(key) or roots.get(("", key[1]))
    if found is None:
        report.error(line, "relative_path", f"No slide {key[1]!r} in root {key[0] or '(any)'!r}.")
    return found


def import_csv(
    *, actor, data: bytes, apply_valid: bool = False, slides: QuerySet[Slide] | None = None
) -> ImportReport:
    """Validate every row, then apply (see module doc). Raises ServiceError for a file that
    is not a usable CSV at all; row problems go into the report."""
    reader = _read(data)
    columns = [c.strip() for c in reader.fieldnames or []]
    index = TermIndex()
    report = ImportReport()
    unknown = [
        c
        for c in columns
        if c not in (*IDENTITY_COLUMNS, *INFO_COLUMNS) and c.lower() not in index.categories
    ]
    if not columns or unknown:
        known = ", ".join([*IDENTITY_COLUMNS, *index.categories])
        raise ServiceError(
            f"Unknown columns: {', '.join(unknown) or '(none found)'}; known columns: {known}.",
            code="invalid_csv",
        )
    categories = [c for c in columns if c.lower() in index.categories]
    try:
        rows_raw = list(reader)
    except csv.Error as exc:
        raise ServiceError(
            f"The file is not a usable CSV file: line {reader.line_num + 1}: {exc}.",
            code="invalid_csv",
        ) from exc
    rows_raw = [{k: _restore(v) for k, v in r.items()} for r in rows_raw]
    if len(rows_raw) > MAX_IMPORT_ROWS:
        raise ServiceError(f"At most {MAX_IMPORT_ROWS:,} rows per file.", code="too_large")

    paths = {(r.get("relative_path") or "").strip() for r in rows_raw} - {""}
    by_path: dict[tuple[str, str], int] = {}
    slides = Slide.objects.all() if slides is None else slides  # those the actor may see
    for pk, root, path in slides.filter(relative_path__in=paths).values_list(
        "pk", "root__name", "relative_path"
    ):
        by_path[(root, path)] = pk
        by_path[("", path)] = pk if ("", path) not in by_path else by_path[("", path)]
    ids_given = {
        int(r["slide_id"]) for r in rows_raw if (r.get("slide_id") or "").strip().isdigit()
    }
    existing = set(slides.filter(pk__in=ids_given).values_list("pk", flat=True))

    rows: list[_Row] = []
    seen: dict[int, int] = {}  # slide id -> the row that names it
    for line, raw in enumerate(rows_raw, start=2):  # line 1 is the header
        raw = {(k or "").strip(): v for k, v in raw.items()}
        errors_before = len(report.errors)
        sid = _identify(raw, line, by_path, report)
        if sid is not None and (raw.get("slide_id") or "").strip() and sid not in existing:
            report.error(line, "slide_id", f"No slide with id {sid}.")
        terms = {}
        for column in categories:
            category = index.category(column)
            names = [n.strip() for n in (raw.get(column) or "").split(SEPARATOR) if n.strip()]
            if len(names) > 1 and not category.multi_valued:
                report.error(line, column, f"{category.key!r} holds one term; got {len(names)}.")
                continue
            try:
                terms[category.key] = [index.term(category.key, n) for n in names]
            except ServiceError as exc:
                report.error(line, column, exc.detail)
        if sid is not None and sid in seen:
            report.error(line, "slide_id", f"The slide is in row {seen[sid]} already.")
        elif sid is not None:
            seen[sid] = line
        if len(report.errors) == errors_before and sid is not None:
            rows.append(_Row(line, sid, terms))

    if report.errors and not apply_valid:
        return report
    with transaction.atomic():
        _apply_rows(actor, rows)
        report.applied_rows = len(rows)
    return report


def _apply_rows(actor, rows: list[_Row]) -> None:
    """A category column present in the file replaces that category's terms on the slide.

    Rows that need the same change (the common case: many slides, few distinct values) are
    applied together, so a 10,000-row file costs a handful of bulk operations.
    """
    current: dict[int, list[SlideTag]] = defaultdict(list)
    keys = {key for row in rows for key in row.terms}
    for tag in SlideTag.objects.filter(
        slide_id__in=[row.slide_id for row in rows], term__category__key__in=keys
    ).select_related("term__category"):
        current[tag.slide_id].append(tag)
    terms: dict[int, Term] = {}
    batches: dict[tuple[frozenset, frozenset], list[int]] = defaultdict(list)
    for row in rows:
        wanted = {t.pk: t for ts in row.terms.values() for t in ts}
        mine = [tag for tag in current[row.slide_id] if tag.term.category.key in row.terms]
        remove = {tag.term_id: tag.term for tag in mine if tag.term_id not in wanted}
        add = {pk: t for pk, t in wanted.items() if pk not in {tag.term_id for tag in mine}}
        terms.update(add)
        terms.update(remove)
        if add or remove:
            batches[(frozenset(add), frozenset(remove))].append(row.slide_id)
    for (add, remove), slide_ids in batches.items():
        for start in range(0, len(slide_ids), MAX_SLIDES_PER_REQUEST):
            tags_change(
                actor=actor,
                slide_ids=slide_ids[start : start + MAX_SLIDES_PER_REQUEST],
                add=[terms[pk] for pk in add],
                remove=[terms[pk] for pk in remove],
                source=TagSource.IMPORT,
            )
