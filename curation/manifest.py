"""Dataset manifests: one Parquet file of tiles per dataset version, and everything read from it.

A manifest (schema `MANIFEST_SCHEMA`) lists the tiles of a curated dataset version, one row per
tile, sorted by (slide_id, y, x). It is written once (`write_manifest`, atomically, with fixed
writer options so the same rows give the same bytes) and then only read: exported to CSV and
JSON Lines for outside tools (`write_csv`, `write_jsonl`), summarised (`manifest_stats`) and
compared with another version (`diff_manifests`). Every reader streams record batches, so
memory does not grow with the manifest (a version may hold millions of tiles).

No Django here: the web app (`webapp/datasets/`) and the trainer both use this module.
"""

import hashlib
import json
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from curation.atomic import atomic_write

MANIFEST_SCHEMA = pa.schema(
    [
        ("slide_id", pa.int64()),
        ("slide_path", pa.string()),
        ("fingerprint", pa.string()),
        ("x", pa.int64()),
        ("y", pa.int64()),
        ("read_size", pa.float32()),
        ("tile_size", pa.int32()),
        ("target_mpp", pa.float32()),
        ("group", pa.string()),
        ("category", pa.string()),
        ("cluster", pa.int32()),
        ("weight", pa.float32()),
        ("split", pa.string()),
    ]
)
SPLITS = ("train", "validation")
ROW_GROUP_ROWS = 65536
# Fixed writer options: the same rows always give the same bytes (no timestamps are written;
# the only version string is pyarrow's `created_by`, fixed for an installation).
_WRITER_OPTIONS = {
    "compression": "zstd",
    "compression_level": 3,
    "use_dictionary": True,
    "write_statistics": True,
    "version": "2.6",
}
_HASH_CHUNK = 1 << 20
_HISTOGRAM_BINS = 10
ATTRIBUTE_KEYS = ("lab", "scanner", "stain")


# --- writing -------------------------------------------------------------------------------------


def _as_manifest_batch(batch: pa.RecordBatch | pa.Table) -> pa.Table:
    """`batch` as a table with exactly MANIFEST_SCHEMA's columns (in order, cast)."""
    table = pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch
    missing = [name for name in MANIFEST_SCHEMA.names if name not in table.column_names]
    if missing:
        raise ValueError(f"manifest rows lack columns {missing}")
    return table.select(MANIFEST_SCHEMA.names).cast(MANIFEST_SCHEMA)


def write_manifest(path: str | Path, batches: Iterable[pa.RecordBatch | pa.Table]) -> str:
    """Write the rows of `batches` (record batches or tables with the manifest's columns) to
    `path` as zstd Parquet, atomically, and return the file's SHA-256 (hex).

    Rows are written in the order given, in row groups of exactly ROW_GROUP_ROWS rows (the last
    one shorter) whatever the batch boundaries, so the same rows give a byte-identical file.
    Memory: one row group plus one incoming batch.
    """
    path = Path(path)
    with atomic_write(path) as temporary:
        with pq.ParquetWriter(temporary, MANIFEST_SCHEMA, **_WRITER_OPTIONS) as writer:
            pending: list[pa.Table] = []
            pending_rows = 0
            for batch in batches:
                table = _as_manifest_batch(batch)
                if table.num_rows == 0:
                    continue
                pending.append(table)
                pending_rows += table.num_rows
                while pending_rows >= ROW_GROUP_ROWS:
                    merged = pa.concat_tables(pending)
                    writer.write_table(
                        merged.slice(0, ROW_GROUP_ROWS), row_group_size=ROW_GROUP_ROWS
                    )
                    rest = merged.slice(ROW_GROUP_ROWS)
                    pending, pending_rows = ([rest] if rest.num_rows else []), rest.num_rows
            if pending_rows:
                writer.write_table(pa.concat_tables(pending), row_group_size=ROW_GROUP_ROWS)
        digest = file_sha256(temporary)
    return digest


def file_sha256(path: str | Path) -> str:
    """SHA-256 (hex) of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- reading -------------------------------------------------------------------------------------


def iter_batches(
    path: str | Path, batch_size: int = 65536, columns: Sequence[str] | None = None
) -> Iterator[pa.RecordBatch]:
    """The manifest's rows in file order, as record batches of at most `batch_size` rows,
    optionally only `columns`."""
    with pq.ParquetFile(path) as parquet:
        yield from parquet.iter_batches(
            batch_size=batch_size, columns=list(columns) if columns is not None else None
        )


def manifest_rows(path: str | Path) -> int:
    """Number of rows, from the footer."""
    with pq.ParquetFile(path) as parquet:
        return parquet.metadata.num_rows


def write_csv(parquet_path: str | Path, out_path: str | Path) -> None:
    """The manifest as CSV (header line, then one line per row, same order), streamed batch by
    batch into an atomically renamed file: memory stays constant whatever the row count."""
    schema = pq.read_schema(parquet_path).remove_metadata()
    with atomic_write(out_path) as temporary:
        with pacsv.CSVWriter(str(temporary), schema) as writer:
            for batch in iter_batches(parquet_path):
                writer.write_batch(batch)


def _json_values(array: pa.Array) -> pa.Array:
    """Each value of `array` as the text of a JSON value (strings quoted and escaped, numbers
    as their shortest round-trip text, null/NaN/±inf as null)."""
    kind = array.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        encoded = pc.dictionary_encode(array)
        # Few distinct values per batch (paths, groups, categories): json.dumps each once.
        texts = pa.array(
            [json.dumps(value, ensure_ascii=False) for value in encoded.dictionary.to_pylist()],
            pa.string(),
        )
        return pc.fill_null(pc.take(texts, encoded.indices), "null")
    if pa.types.is_floating(kind):
        text = pc.cast(array, pa.string())
        # whole numbers read back as floats ("64.0", as json.dumps writes them, not "64")
        whole = pc.invert(pc.or_(pc.match_substring(text, "."), pc.match_substring(text, "e")))
        text = pc.if_else(whole, pc.binary_join_element_wise(text, ".0", ""), text)
        finite = pc.is_finite(array)
        return pc.fill_null(pc.if_else(finite, text, pa.scalar(None, pa.string())), "null")
    if pa.types.is_integer(kind):
        return pc.fill_null(pc.cast(array, pa.string()), "null")
    if pa.types.is_boolean(kind):
        return pc.fill_null(pc.if_else(array, "true", "false"), "null")
    raise TypeError(f"no JSON encoding for column type {kind}")


def _jsonl_chunk(batch: pa.RecordBatch) -> pa.Buffer | bytes:
    """The batch's rows as JSON Lines text (one object per line, compact, columns in order)."""
    if batch.num_rows == 0:
        return b""
    parts: list[pa.Array | str] = []
    for index, name in enumerate(batch.schema.names):
        prefix = ("{" if index == 0 else ",") + json.dumps(name) + ":"
        parts += [prefix, _json_values(batch.column(index))]
    parts.append("}\n")
    lines = pc.binary_join_element_wise(*parts, "")
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)
    start, end = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return lines.buffers()[2][start:end]


def write_jsonl(parquet_path: str | Path, out_path: str | Path) -> None:
    """The manifest as JSON Lines (one compact object per row, keys in schema order, same row
    order), streamed batch by batch into an atomically renamed file: memory stays constant.

    Rows are encoded column-wise by Arrow (no Python object per row); floats are written with
    the shortest text that reads back as the same float32 (0.1, not 0.10000000149011612;
    64.0, not 64); NaN and ±inf as null.
    """
    with atomic_write(out_path) as temporary, temporary.open("wb") as sink:
        for batch in iter_batches(parquet_path):
            sink.write(_jsonl_chunk(batch))


# --- composition ---------------------------------------------------------------------------------


def _histogram(counts: Sequence[int]) -> list[dict]:
    """At most 10 bins of whole numbers, `from` and `to` both inclusive, covering min..max."""
    if not counts:
        return []
    low, high = min(counts), max(counts)
    width = max(1, -(-(high - low + 1) // _HISTOGRAM_BINS))
    values = np.asarray(counts, dtype=np.int64)
    bins = []
    for start in range(low, high + 1, width):
        stop = min(start + width - 1, high)
        count = int(((values >= start) & (values <= stop)).sum())
        bins.append({"from": int(start), "to": int(stop), "count": count})
    return bins


def _breakdown(
    tiles_per_slide: Mapping[int, int], attributes: Mapping[int, Mapping[str, str]], key: str
):
    """Tiles per value of one slide attribute (missing or empty values as "unknown"), most
    tiles first."""
    totals: dict[str, int] = defaultdict(int)
    for slide_id, count in tiles_per_slide.items():
        value = (attributes.get(slide_id) or {}).get(key) or "unknown"
        totals[str(value)] += count
    return [
        {"key": k, "count": v} for k, v in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def manifest_stats(
    path: str | Path,
    *,
    slide_attributes: Mapping[int, Mapping[str, str]] | None = None,
    targets: Mapping[tuple[str, str], int] | None = None,
    shortfall: int | None = None,
    notes: Sequence[str] = (),
    cell_order: Sequence[tuple[str, str]] | None = None,
) -> dict:
    """The composition of a manifest, in one streamed pass (memory: one batch plus a count per
    slide and per cell), shaped as the `stats.json` of docs/datasets.md:

    `rows`, `train`, `validation`, `slides`; `cells` [{group, category, target, achieved}]
    (target from `targets`, None when not given; a cell with a target but no row has
    achieved 0); `by_lab`, `by_scanner`, `by_stain` [{key, count}] (tiles per value, from
    `slide_attributes` slide_id → {"lab", "scanner", "stain"}; empty lists without it);
    `tiles_per_slide` {min, median, max, histogram [{from, to, count}] (whole numbers, both
    ends inclusive)}; `shortfall` (given, else Σ max(0, target − achieved)); `notes`.
    Cells come in `cell_order` (then any others sorted), else sorted by (group, category).
    """
    rows = 0
    per_split: dict[str, int] = defaultdict(int)
    per_slide: dict[int, int] = defaultdict(int)
    achieved: dict[tuple[str, str], int] = defaultdict(int)
    columns = ["slide_id", "group", "category", "split"]
    for batch in iter_batches(path, columns=columns):
        if batch.num_rows == 0:
            continue
        rows += batch.num_rows
        ids, counts = np.unique(batch.column("slide_id").to_numpy(), return_counts=True)
        for slide_id, count in zip(ids.tolist(), counts.tolist(), strict=True):
            per_slide[slide_id] += count
        table = pa.Table.from_batches([batch])
        for row in (
            table.group_by(["group", "category"]).aggregate([("slide_id", "count")]).to_pylist()
        ):
            achieved[(row["group"], row["category"])] += row["slide_id_count"]
        for row in table.group_by("split").aggregate([("slide_id", "count")]).to_pylist():
            per_split[row["split"]] += row["slide_id_count"]
    targets = dict(targets or {})
    keys = set(achieved) | set(targets)
    ordered = [key for key in (cell_order or ()) if key in keys]
    ordered += sorted(keys - set(ordered))
    cells = [
        {
            "group": group,
            "category": category,
            "target": targets.get((group, category)) if targets else None,
            "achieved": achieved.get((group, category), 0),
        }
        for group, category in ordered
    ]
    if shortfall is None:
        shortfall = sum(max(0, t - achieved.get(key, 0)) for key, t in targets.items())
    counts = sorted(per_slide.values())
    attributes = slide_attributes or {}
    return {
        "rows": rows,
        "train": per_split.get("train", 0),
        "validation": per_split.get("validation", 0),
        "slides": len(per_slide),
        "cells": cells,
        **{
            f"by_{key}": _breakdown(per_slide, attributes, key) if slide_attributes else []
            for key in ATTRIBUTE_KEYS
        },
        "tiles_per_slide": {
            "min": counts[0] if counts else 0,
            "median": float(statistics.median(counts)) if counts else 0.0,
            "max": counts[-1] if counts else 0,
            "histogram": _histogram(counts),
        },
        "shortfall": int(shortfall),
        "notes": list(notes),
    }


# --- comparing two versions ----------------------------------------------------------------------

_DIFF_COLUMNS = ["slide_id", "x", "y", "read_size", "group", "category"]


def _slides(path: str | Path) -> Iterator[tuple[int, pa.Table]]:
    """(slide_id, that slide's rows) in file order, for a manifest sorted by slide_id; a
    slide's rows may span batches. Raises ValueError when slide ids are not ascending."""
    pending: list[pa.Table] = []
    current: int | None = None
    for batch in iter_batches(path, columns=_DIFF_COLUMNS):
        if batch.num_rows == 0:
            continue
        ids = batch.column("slide_id").to_numpy()
        if np.any(np.diff(ids) < 0) or (current is not None and ids[0] < current):
            raise ValueError(f"{path}: rows are not sorted by slide_id")
        table = pa.Table.from_batches([batch])
        starts = np.flatnonzero(np.diff(ids)) + 1
        bounds = [0, *starts.tolist(), len(ids)]
        for begin, end in zip(bounds[:-1], bounds[1:], strict=True):
            slide_id = int(ids[begin])
            if current is not None and slide_id != current:
                yield current, pa.concat_tables(pending)
                pending = []
            current = slide_id
            pending.append(table.slice(begin, end - begin))
    if current is not None:
        yield current, pa.concat_tables(pending)


def _tile_keys(table: pa.Table) -> np.ndarray:
    """The tiles' identities (x, y, read_size bits) as rows of an (n, 3) int64 array, unique,
    in lexicographic order."""
    keys = np.column_stack(
        [
            table.column("x").to_numpy(),
            table.column("y").to_numpy(),
            table.column("read_size").to_numpy().astype(np.float32).view(np.int32),
        ]
    ).astype(np.int64)
    keys = keys[np.lexsort(keys.T[::-1])]
    if len(keys) > 1:
        keys = keys[np.concatenate([[True], np.any(keys[1:] != keys[:-1], axis=1)])]
    return keys


def _common(keys_a: np.ndarray, keys_b: np.ndarray) -> int:
    """How many identities two unique key arrays share."""
    both = np.concatenate([keys_a, keys_b])
    both = both[np.lexsort(both.T[::-1])]
    return int(np.all(both[1:] == both[:-1], axis=1).sum()) if len(both) > 1 else 0


def _count_cells(table: pa.Table, cells: dict[tuple[str, str], int]) -> None:
    for row in table.group_by(["group", "category"]).aggregate([("x", "count")]).to_pylist():
        cells[(row["group"], row["category"])] += row["x_count"]


def diff_manifests(a_path: str | Path, b_path: str | Path) -> dict:
    """What changed from manifest `a` to manifest `b` (both sorted by slide_id, as written by
    the sampler), streamed slide by slide (memory: one slide of each):

    {"tiles_added", "tiles_removed", "tiles_kept": counts of tiles, a tile being
    (slide_id, x, y, read_size); "slides_added", "slides_removed": slide ids, ascending;
    "cells": [{group, category, a, b}] tiles per (group, category) in each, sorted}.
    """
    added = removed = kept = 0
    slides_added: list[int] = []
    slides_removed: list[int] = []
    cells_a: dict[tuple[str, str], int] = defaultdict(int)
    cells_b: dict[tuple[str, str], int] = defaultdict(int)
    stream_a, stream_b = _slides(a_path), _slides(b_path)
    next_a, next_b = next(stream_a, None), next(stream_b, None)
    while next_a is not None or next_b is not None:
        if next_b is None or (next_a is not None and next_a[0] < next_b[0]):
            slide_id, table = next_a
            slides_removed.append(slide_id)
            removed += len(_tile_keys(table))
            _count_cells(table, cells_a)
            next_a = next(stream_a, None)
        elif next_a is None or next_b[0] < next_a[0]:
            slide_id, table = next_b
            slides_added.append(slide_id)
            added += len(_tile_keys(table))
            _count_cells(table, cells_b)
            next_b = next(stream_b, None)
        else:
            keys_a, keys_b = _tile_keys(next_a[1]), _tile_keys(next_b[1])
            common = _common(keys_a, keys_b)
            kept += common
            removed += len(keys_a) - common
            added += len(keys_b) - common
            _count_cells(next_a[1], cells_a)
            _count_cells(next_b[1], cells_b)
            next_a, next_b = next(stream_a, None), next(stream_b, None)
    cells = [
        {"group": group, "category": category, "a": cells_a.get(key, 0), "b": cells_b.get(key, 0)}
        for key in sorted(set(cells_a) | set(cells_b))
        for group, category in [key]
    ]
    return {
        "tiles_added": added,
        "tiles_removed": removed,
        "tiles_kept": kept,
        "slides_added": slides_added,
        "slides_removed": slides_removed,
        "cells": cells,
    }
