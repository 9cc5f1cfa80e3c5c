"""Tests for curation.tile_store: per-slide Parquet tile files, atomic writes, datasets."""

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from curation import tile_store
from curation.tile_grid import tile_grid
from curation.tile_store import (
    LIBRARY_VERSION,
    read_tile_metadata,
    read_tiles,
    remove_stale_temporaries,
    store_path,
    tile_dataset,
    tile_table,
    write_tile_table,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FEATURES = ["h_mean", "e_mean", "od_std"]
QUALITY = ["blur", "pen"]


def _table(n: int = 12, seed: int = 0, quality: bool = True) -> pa.Table:
    rng = np.random.default_rng(seed)
    grid = tile_grid((100 * n, 100), 0.25, tile_size=50, target_mpp=0.5)
    fractions = np.linspace(0.0, 1.0, n, dtype=np.float32)
    return tile_table(
        grid.x,
        grid.y,
        grid.size,
        0.5,
        fractions,
        rng.random((n, len(FEATURES))),
        FEATURES,
        rng.random((n, len(QUALITY))) if quality else None,
        QUALITY,
    )


def _temporaries(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file() and p.name.startswith(".")]


def test_tile_table_columns_and_dtypes():
    table = _table()
    assert table.column_names == ["x", "y", "size", "mpp", "tissue_fraction", *FEATURES, *QUALITY]
    assert table.schema.field("x").type == pa.int64()
    assert table.schema.field("y").type == pa.int64()
    for name in ["size", "mpp", "tissue_fraction", *FEATURES, *QUALITY]:
        assert table.schema.field(name).type == pa.float32(), name
    assert table.column("size").to_pylist() == [100.0] * 12
    assert table.column("mpp").to_pylist() == [0.5] * 12
    assert table.column("x").to_pylist() == [100 * i for i in range(12)]


def test_tile_table_omits_missing_features_and_checks_shapes():
    table = tile_table(np.array([0, 10]), np.array([0, 0]), 10.0, 1.0, [1, 1], None, [], None, [])
    assert table.column_names == ["x", "y", "size", "mpp", "tissue_fraction"]
    with pytest.raises(ValueError):
        tile_table([0, 10], [0], 10.0, 1.0, [1, 1], None, [], None, [])
    with pytest.raises(ValueError):
        tile_table([0, 10], [0, 0], 10.0, 1.0, [1, 1], np.zeros((2, 2)), ["a"], None, [])
    with pytest.raises(ValueError):  # a feature named like a base column
        tile_table([0], [0], 10.0, 1.0, [1], np.zeros((1, 1)), ["x"], None, [])
    with pytest.raises(ValueError):  # a quality signal named like a feature
        tile_table([0], [0], 10.0, 1.0, [1], np.zeros((1, 1)), ["a"], np.zeros((1, 1)), ["a"])


def test_round_trip_values_dtypes_and_metadata(tmp_path):
    table = _table()
    meta = {"slide": "abc123", "tile_size": 224, "target_mpp": 0.5, "stride": None}
    path = write_tile_table(tmp_path / "a" / "abc123.parquet", table, meta)
    assert path == tmp_path / "a" / "abc123.parquet" and path.is_file()

    back = read_tiles(path)
    assert back.schema.remove_metadata() == table.schema.remove_metadata()
    assert back.equals(table)
    assert read_tile_metadata(path) == {**meta, "library_version": LIBRARY_VERSION}
    assert LIBRARY_VERSION  # installed package version or "0+unknown"

    some = read_tiles(path, columns=["x", "blur"])
    assert some.column_names == ["x", "blur"]
    assert some.column("blur").equals(table.column("blur"))
    assert pq.ParquetFile(path).metadata.row_group(0).column(0).compression == "ZSTD"
    assert _temporaries(tmp_path) == []


def test_overwrite_replaces_whole_file(tmp_path):
    path = tmp_path / "s.parquet"
    write_tile_table(path, _table(12, seed=1), {"v": 1})
    write_tile_table(path, _table(5, seed=2), {"v": 2})
    assert read_tiles(path).num_rows == 5 and read_tile_metadata(path)["v"] == 2


def test_read_tile_metadata_rejects_foreign_files(tmp_path):
    pq.write_table(pa.table({"x": [1]}), tmp_path / "foreign.parquet")
    with pytest.raises(ValueError):
        read_tile_metadata(tmp_path / "foreign.parquet")


def _failing_write(table, sink, **kwargs):
    """Write half a file, then fail like a full disk would."""
    sink.write(b"PAR1 partial")
    raise OSError("disk full")


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(tile_store.pq, "write_table", _failing_write)
    path = tmp_path / "sub" / "s.parquet"
    with pytest.raises(OSError, match="disk full"):
        write_tile_table(path, _table(), {})
    assert not path.exists()
    assert _temporaries(tmp_path) == []


def test_failed_overwrite_keeps_the_old_file(tmp_path, monkeypatch):
    path = write_tile_table(tmp_path / "s.parquet", _table(), {"v": 1})
    monkeypatch.setattr(tile_store.pq, "write_table", _failing_write)
    with pytest.raises(OSError):
        write_tile_table(path, _table(3), {"v": 2})
    assert read_tiles(path).num_rows == 12 and read_tile_metadata(path)["v"] == 1
    assert _temporaries(tmp_path) == []


def test_killed_writer_leftover_is_ignored_then_removed(tmp_path):
    """A process killed between writing and renaming (os._exit: no cleanup runs) leaves a
    hidden temporary; datasets skip it and remove_stale_temporaries deletes it once old."""
    good = store_path(tmp_path, "cfg", "aa01")
    write_tile_table(good, _table(), {})
    victim = store_path(tmp_path, "cfg", "aa02")
    script = textwrap.dedent(
        f"""
        import os
        import numpy as np
        from curation import tile_store
        tile_store.os.replace = lambda *a: os._exit(9)  # killed right before the rename
        table = tile_store.tile_table([0], [0], 1.0, 1.0, [1.0], None, [], None, [])
        tile_store.write_tile_table({str(victim)!r}, table, {{}})
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, timeout=60)
    assert done.returncode == 9
    assert not victim.exists()
    (leftover,) = _temporaries(tmp_path)
    assert leftover.parent == victim.parent and leftover.stat().st_size > 0

    dataset = tile_dataset(tmp_path / "tiles" / "cfg")
    assert [Path(f) for f in dataset.files] == [good]
    assert dataset.to_table().num_rows == 12

    # A fresh temporary may belong to a live writer: kept until it is old enough.
    assert remove_stale_temporaries(tmp_path) == 0
    old = time.time() - 7200
    os.utime(leftover, (old, old))
    assert remove_stale_temporaries(tmp_path / "tiles") == 1
    assert not leftover.exists() and good.exists()
    assert remove_stale_temporaries(tmp_path / "missing") == 0


def test_dataset_over_several_slides_with_filter_and_projection(tmp_path):
    paths = []
    for i, key in enumerate(["0a11", "0a22", "ff33"]):
        table = _table(12, seed=i, quality=i != 2)  # the last slide has no quality columns
        table = table.append_column("slide", pa.array([key] * table.num_rows))
        paths.append(write_tile_table(store_path(tmp_path, "t224", key), table, {"slide": key}))
    # Non-tile files and hidden folders in the tree are not part of the dataset.
    (tmp_path / "tiles" / "t224" / "README.txt").write_text("notes")
    (tmp_path / "tiles" / "t224" / ".trash").mkdir()
    pq.write_table(_table(), tmp_path / "tiles" / "t224" / ".trash" / "old.parquet")

    dataset = tile_dataset(tmp_path / "tiles" / "t224")
    assert sorted(Path(f) for f in dataset.files) == sorted(paths)
    assert "blur" in dataset.schema.names  # unified over files

    result = dataset.to_table(
        columns=["slide", "x", "tissue_fraction", "blur"],
        filter=pc.field("tissue_fraction") > 0.5,
    )
    assert result.column_names == ["slide", "x", "tissue_fraction", "blur"]
    assert pc.all(pc.greater(result.column("tissue_fraction"), 0.5)).as_py()
    # linspace(0, 1, 12) has 6 values above 0.5 per slide.
    assert result.num_rows == 18
    by_slide = result.group_by("slide").aggregate([("x", "count")]).to_pydict()
    assert dict(zip(by_slide["slide"], by_slide["x_count"], strict=True)) == {
        "0a11": 6,
        "0a22": 6,
        "ff33": 6,
    }
    blur_missing = result.filter(pc.field("slide") == "ff33").column("blur")
    assert blur_missing.null_count == 6

    # A list of paths works too, and a filter on x pushes down per file.
    listed = tile_dataset([paths[0], paths[2]])
    assert listed.count_rows(filter=ds.field("x") >= 600) == 12


def test_store_path_fans_out_by_key_prefix(tmp_path):
    path = store_path(tmp_path, "ts224-mpp0.5-s224", "3f9a0c")
    assert path == tmp_path / "tiles" / "ts224-mpp0.5-s224" / "3f" / "3f9a0c.parquet"
    assert store_path(str(tmp_path), "c", "3f00").parent == store_path(tmp_path, "c", "3fff").parent
    assert store_path(tmp_path, "c", "3f00").parent != store_path(tmp_path, "c", "40ff").parent
    for bad in ["", ".hidden", "_meta", "a/b", "../x"]:
        with pytest.raises(ValueError):
            store_path(tmp_path, "c", bad)
        with pytest.raises(ValueError):
            store_path(tmp_path, bad, "abcd")
