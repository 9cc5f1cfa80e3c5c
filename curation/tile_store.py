"""Tile store: one Parquet file per slide and tiling configuration, never a database row per tile.

At 134k slides and ~1.25 billion tiles, per-tile rows would swamp PostgreSQL; a columnar file
per slide with compact dtypes (int64 coordinates, float32 everything else) and zstd
compression keeps a slide's tiles to a few hundred kilobytes, and pyarrow.dataset scans many
slides at once with column projection and filter push-down (row-group statistics).

Files live at DATA_ROOT/tiles/<config_key>/<slide_key[:2]>/<slide_key>.parquet. They are
written under a hidden temporary name in the target folder and renamed into place, so a
reader never sees a partial file and a killed writer leaves only a hidden temporary that
datasets skip and `remove_stale_temporaries` deletes.
"""

import json
import os
import time
from collections.abc import Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from curation.atomic import TEMP_SUFFIX, atomic_write

try:
    LIBRARY_VERSION: str = version("rudolfv")
except PackageNotFoundError:  # running from a source tree that was never installed
    LIBRARY_VERSION = "0+unknown"

METADATA_KEY = b"rudolfv"
BASE_COLUMNS = ("x", "y", "size", "mpp", "tissue_fraction")
# Temporaries (curation.atomic) are hidden (leading dot: pyarrow.dataset and our folder scan
# skip them) and end in TEMP_SUFFIX, which is how remove_stale_temporaries recognises them.


def _column(values, n: int, dtype: type, name: str) -> pa.Array:
    """`values` (a scalar, broadcast, or n values) as a pyarrow array of `dtype`."""
    array = np.asarray(values, dtype=dtype)
    if array.ndim == 0:
        array = np.full(n, array, dtype=dtype)
    if array.shape != (n,):
        raise ValueError(f"column {name!r}: expected {n} values, got shape {array.shape}")
    return pa.array(array)


def _named_columns(
    values: np.ndarray | None, names: Sequence[str], n: int, what: str
) -> dict[str, pa.Array]:
    """One float32 column per name from an (n, len(names)) array; none when `values` is None."""
    if values is None:
        return {}
    matrix = np.asarray(values, dtype=np.float32)
    if matrix.shape != (n, len(names)):
        raise ValueError(f"{what}: expected shape {(n, len(names))}, got {matrix.shape}")
    return {name: pa.array(matrix[:, i]) for i, name in enumerate(names)}


def tile_table(
    grid_x: np.ndarray,
    grid_y: np.ndarray,
    size: float | np.ndarray,
    mpp: float | np.ndarray,
    tissue_fraction: np.ndarray,
    features: np.ndarray | None,
    feature_names: Sequence[str],
    quality: np.ndarray | None,
    quality_names: Sequence[str],
) -> pa.Table:
    """The tiles of one slide as a table.

    Columns, in order: x, y (int64, level-0 top-left), size (float32, level-0 pixels), mpp
    (float32, the target µm/px), tissue_fraction (float32), then one float32 column per feature
    name and per quality name (omitted when `features` / `quality` is None). `size` and `mpp`
    may be scalars. Column names must be unique. Raises ValueError on mismatched lengths.
    """
    x = np.asarray(grid_x, dtype=np.int64)
    n = x.shape[0]
    columns = {
        "x": _column(x, n, np.int64, "x"),
        "y": _column(grid_y, n, np.int64, "y"),
        "size": _column(size, n, np.float32, "size"),
        "mpp": _column(mpp, n, np.float32, "mpp"),
        "tissue_fraction": _column(tissue_fraction, n, np.float32, "tissue_fraction"),
    }
    extra_names = [
        *(feature_names if features is not None else ()),
        *(quality_names if quality is not None else ()),
    ]
    clashes = sorted({c for c in extra_names if extra_names.count(c) > 1 or c in columns})
    if clashes:
        raise ValueError(f"duplicate column names: {clashes}")
    columns |= _named_columns(features, feature_names, n, "features")
    columns |= _named_columns(quality, quality_names, n, "quality")
    return pa.table(columns)


def write_tile_table(path: str | Path, table: pa.Table, metadata: dict) -> Path:
    """Write `table` to `path` as zstd Parquet, atomically, and return `path`.

    `metadata` (tiling parameters, slide identity, ...; JSON-serialisable) is stored as JSON
    under the schema metadata key b"rudolfv", with "library_version" added. The file is written
    and fsynced under a hidden temporary name in the same folder, then renamed over `path`
    (`curation.atomic.atomic_write`): on any failure the temporary is removed and `path` is
    untouched (absent, or its old content).
    """
    path = Path(path)
    payload = json.dumps({**metadata, "library_version": LIBRARY_VERSION}, sort_keys=True)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), METADATA_KEY: payload.encode()}
    )
    with atomic_write(path) as temporary, temporary.open("wb") as sink:
        pq.write_table(table, sink, compression="zstd")
    return path


def read_tile_metadata(path: str | Path) -> dict:
    """The metadata dict stored by write_tile_table (incl. "library_version"); reads only the
    footer. Raises ValueError when the file carries none (not written by this store)."""
    raw = (pq.read_schema(path).metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise ValueError(f"{path}: no {METADATA_KEY.decode()} metadata")
    return json.loads(raw)


def read_tiles(path: str | Path, columns: list[str] | None = None) -> pa.Table:
    """The tiles of one file, optionally only `columns` (read from disk column by column)."""
    return pq.read_table(path, columns=columns)


def _is_hidden(path: Path, root: Path) -> bool:
    return any(part.startswith((".", "_")) for part in path.relative_to(root).parts)


def _tile_files(folder: Path) -> list[Path]:
    """All visible .parquet files under `folder`, sorted so datasets scan in a stable order."""
    return sorted(p for p in folder.rglob("*.parquet") if not _is_hidden(p, folder))


def tile_dataset(
    source: str | Path | Sequence[str | Path], schema: pa.Schema | None = None
) -> ds.Dataset:
    """A pyarrow dataset over a folder of tile files (searched recursively, hidden temporaries
    and non-.parquet files ignored) or over a list of file paths.

    The schema is the union of the files' schemas (a column missing from a file reads as null),
    without per-file metadata. Unifying reads every footer; pass `schema` to skip that on very
    large scans where the columns are known.
    """
    if isinstance(source, str | Path):
        paths = _tile_files(Path(source))
    else:
        paths = [Path(p) for p in source]
    files = [str(p) for p in paths]
    if schema is None:
        schemas = [pq.read_schema(f) for f in files]
        schema = pa.unify_schemas(schemas).remove_metadata() if schemas else pa.schema([])
    return ds.dataset(files, schema=schema, format="parquet")


def _safe_component(value: str, what: str) -> str:
    """Reject keys that would escape the store or hide the file from datasets."""
    if not value or value.startswith((".", "_")) or "/" in value or os.sep in value:
        raise ValueError(f"invalid {what}: {value!r}")
    return value


def store_path(data_root: str | Path, config_key: str, slide_key: str) -> Path:
    """data_root/tiles/<config_key>/<slide_key[:2]>/<slide_key>.parquet. The two-character
    fan-out (256 folders for hex keys) keeps any folder to a few hundred files at 134k slides.
    Raises ValueError for empty keys, keys with a path separator or a leading "." or "_"."""
    _safe_component(config_key, "config_key")
    _safe_component(slide_key, "slide_key")
    return Path(data_root) / "tiles" / config_key / slide_key[:2] / f"{slide_key}.parquet"


def remove_stale_temporaries(folder: str | Path, older_than_s: float = 3600) -> int:
    """Delete temporaries that writers killed mid-write left under `folder` (recursively),
    if last modified more than `older_than_s` seconds ago (younger ones may belong to a live
    writer). Returns how many were removed; a missing folder has none."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than_s
    removed = 0
    for candidate in folder.rglob(f".*.parquet.*{TEMP_SUFFIX}"):
        try:
            if candidate.is_file() and candidate.stat().st_mtime < cutoff:
                candidate.unlink()
                removed += 1
        except FileNotFoundError:  # another cleaner or the writer itself got there first
            continue
    return removed
