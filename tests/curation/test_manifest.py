"""Tests for curation.manifest: deterministic writing, streamed CSV / JSON Lines with bounded
memory on a 2-million-row manifest, composition statistics and the streamed diff."""

import csv
import json
import tracemalloc
from collections import Counter

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curation.manifest import (
    MANIFEST_SCHEMA,
    ROW_GROUP_ROWS,
    diff_manifests,
    file_sha256,
    iter_batches,
    manifest_stats,
    write_csv,
    write_jsonl,
    write_manifest,
)

BIG_ROWS = 2_000_000


def synthetic_rows(n: int, *, start: int = 0, slides: int = 500) -> pa.Table:
    """Rows start … start + n − 1 of a manifest sorted by (slide_id, y, x): `slides` slides,
    two groups, three categories, strings with characters JSON and CSV must escape. Each row
    depends only on its index, so any batching gives the same rows."""
    index = np.arange(start, start + n)
    mixed = (index * 2654435761) % 2**32
    slide_id = (index * slides // max(BIG_ROWS, start + n)).astype(np.int64)
    ids, local = np.unique(slide_id, return_inverse=True)
    local = pa.array(local.astype(np.int32))
    paths = pa.array([f"/archive/lab {i % 3}/slide-{i}.svs" for i in ids.tolist()])
    fingerprints = pa.array([f"{i:064x}" for i in ids.tolist()])
    categories = pa.array(['Tumour "T"', "Stroma, loose", "Fat\\ü"])
    return pa.table(
        {
            "slide_id": slide_id,
            "slide_path": paths.take(local),
            "fingerprint": fingerprints.take(local),
            "x": (index % 1000) * 256,
            "y": index // 1000 * 256,
            "read_size": np.full(n, 512.0, dtype=np.float32),
            "tile_size": np.full(n, 256, dtype=np.int32),
            "target_mpp": np.full(n, 0.5, dtype=np.float32),
            "group": pa.array(["colon", "lung"]).take(pa.array(slide_id % 2)),
            "category": categories.take(pa.array(mixed % 3)),
            "cluster": (mixed % 100).astype(np.int32),
            "weight": (mixed % 1000 / 3000).astype(np.float32),
            "split": pa.array(["train", "validation"]).take(pa.array((slide_id % 10 == 0) * 1)),
        },
        schema=MANIFEST_SCHEMA,
    )


def batches_of(n: int, size: int):
    for start in range(0, n, size):
        yield synthetic_rows(min(size, n - start), start=start)


@pytest.fixture(scope="module")
def big_manifest(tmp_path_factory):
    path = tmp_path_factory.mktemp("big") / "manifest.parquet"
    write_manifest(path, batches_of(BIG_ROWS, 100_000))
    return path


def test_row_groups_and_bytes_do_not_depend_on_batch_boundaries(tmp_path):
    n = ROW_GROUP_ROWS * 2 + 123
    a = write_manifest(tmp_path / "a.parquet", batches_of(n, 50_000))
    b = write_manifest(tmp_path / "b.parquet", batches_of(n, 7_777))
    c = write_manifest(tmp_path / "c.parquet", [synthetic_rows(n).to_batches()[0]])
    assert a == b == c == file_sha256(tmp_path / "a.parquet")
    assert (tmp_path / "a.parquet").read_bytes() == (tmp_path / "b.parquet").read_bytes()
    metadata = pq.read_metadata(tmp_path / "a.parquet")
    sizes = [metadata.row_group(i).num_rows for i in range(metadata.num_row_groups)]
    assert sizes == [ROW_GROUP_ROWS, ROW_GROUP_ROWS, 123]
    assert metadata.row_group(0).column(0).compression == "ZSTD"
    assert pq.read_table(tmp_path / "a.parquet").equals(synthetic_rows(n))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_write_manifest_refuses_rows_without_the_columns_and_leaves_nothing(tmp_path):
    with pytest.raises(ValueError, match="lack columns"):
        write_manifest(tmp_path / "m.parquet", [pa.table({"slide_id": [1]})])
    assert list(tmp_path.iterdir()) == []
    empty = write_manifest(tmp_path / "e.parquet", [])
    assert pq.read_table(tmp_path / "e.parquet").num_rows == 0 and len(empty) == 64


def test_csv_and_jsonl_hold_the_same_rows(tmp_path):
    table = synthetic_rows(3000, slides=7)
    path = tmp_path / "m.parquet"
    write_manifest(path, [table])
    write_csv(path, tmp_path / "m.csv")
    write_jsonl(path, tmp_path / "m.jsonl")
    expected = table.to_pylist()
    with (tmp_path / "m.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == MANIFEST_SCHEMA.names and len(rows) == len(expected)
    lines = (tmp_path / "m.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(expected)
    for want, text_row, line in zip(expected, rows, lines, strict=True):
        got = json.loads(line)
        assert list(got) == MANIFEST_SCHEMA.names
        for name, value in want.items():
            if isinstance(value, float):
                assert np.float32(got[name]) == np.float32(value)
                assert isinstance(got[name], float)
                assert np.float32(text_row[name]) == np.float32(value)
            else:
                assert got[name] == value
                assert text_row[name] == str(value)
    assert (
        ",".join(f'"{n}"' for n in MANIFEST_SCHEMA.names)
        == ((tmp_path / "m.csv").read_text().splitlines()[0])
    )


def _measure(function, *args):
    """(tracemalloc peak of Python allocations, peak of Arrow's allocations) of a call."""
    pool = pa.proxy_memory_pool(pa.default_memory_pool())
    previous = pa.default_memory_pool()
    pa.set_memory_pool(pool)
    tracemalloc.start()
    try:
        function(*args)
        _, python_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        pa.set_memory_pool(previous)
    return python_peak, pool.max_memory()


@pytest.mark.parametrize("writer", [write_csv, write_jsonl])
def test_csv_and_jsonl_of_two_million_rows_stream_in_bounded_memory(big_manifest, tmp_path, writer):
    out = tmp_path / "out"
    python_peak, arrow_peak = _measure(writer, big_manifest, out)
    # Two million rows as Python dicts would take about two gigabytes, and even as one Arrow
    # table hundreds of megabytes. Streaming holds one 64k-row batch (and its text) at a time.
    parquet = pq.ParquetFile(big_manifest)
    decoded = parquet.read_row_group(0).nbytes * parquet.num_row_groups  # all rows in Arrow
    assert decoded > 200 * 2**20
    assert python_peak < 8 * 2**20, python_peak
    assert arrow_peak < decoded / 4, (arrow_peak, decoded)
    with out.open("rb") as handle:
        first = handle.readline()
        lines = 1 + sum(1 for _ in handle)
    header = writer is write_csv
    assert lines == BIG_ROWS + header
    last = pq.ParquetFile(big_manifest).read_row_group(
        pq.ParquetFile(big_manifest).num_row_groups - 1
    )
    tail = out.read_bytes()[-2000:].decode().splitlines()[-1]
    if header:
        assert first.decode().startswith('"slide_id","slide_path"')
        assert tail.startswith(f"{last.column('slide_id')[-1].as_py()},")
    else:
        assert json.loads(first)["slide_id"] == 0
        assert json.loads(tail)["x"] == last.column("x")[-1].as_py()


def test_manifest_stats_compose_the_file(tmp_path):
    table = synthetic_rows(10_000, slides=20)
    path = tmp_path / "m.parquet"
    write_manifest(path, [table])
    rows = table.to_pylist()
    attributes = {i: {"lab": f"lab {i % 3}", "scanner": "GT450", "stain": ""} for i in range(20)}
    cells = Counter((r["group"], r["category"]) for r in rows)
    targets = {key: n + 5 for key, n in cells.items()} | {("colon", "Mucus"): 10}
    stats = manifest_stats(path, slide_attributes=attributes, targets=targets, notes=["n"])
    per_slide = Counter(r["slide_id"] for r in rows)
    assert stats["rows"] == 10_000 and stats["slides"] == len(per_slide)
    assert stats["train"] == sum(r["split"] == "train" for r in rows)
    assert stats["train"] + stats["validation"] == 10_000
    got = {(c["group"], c["category"]): (c["target"], c["achieved"]) for c in stats["cells"]}
    assert got == {key: (t, cells.get(key, 0)) for key, t in targets.items()}
    assert stats["shortfall"] == 5 * len(cells) + 10
    labs = Counter()
    for slide_id, n in per_slide.items():
        labs[f"lab {slide_id % 3}"] += n
    assert {b["key"]: b["count"] for b in stats["by_lab"]} == dict(labs)
    assert stats["by_scanner"] == [{"key": "GT450", "count": 10_000}]
    assert stats["by_stain"] == [{"key": "unknown", "count": 10_000}]
    spread = stats["tiles_per_slide"]
    assert (spread["min"], spread["max"]) == (min(per_slide.values()), max(per_slide.values()))
    assert spread["median"] == float(np.median(list(per_slide.values())))
    assert sum(b["count"] for b in spread["histogram"]) == len(per_slide)
    assert stats["notes"] == ["n"]
    bare = manifest_stats(path)
    assert bare["by_lab"] == [] and {c["target"] for c in bare["cells"]} == {None}
    assert bare["shortfall"] == 0


def _rows(slide_id: int, coords, group="g", category="c", read_size=512.0):
    """Manifest rows of one slide at `coords` ((n, 2) x, y), sorted by (y, x)."""
    coords = np.asarray(coords, dtype=np.int64).reshape(-1, 2)
    coords = coords[np.lexsort((coords[:, 0], coords[:, 1]))]
    n = len(coords)

    def same(value, kind):
        return pa.repeat(pa.scalar(value, kind), n)

    return pa.table(
        {
            "slide_id": same(slide_id, pa.int64()),
            "slide_path": same(f"/s/{slide_id}.svs", pa.string()),
            "fingerprint": same(str(slide_id), pa.string()),
            "x": coords[:, 0],
            "y": coords[:, 1],
            "read_size": same(read_size, pa.float32()),
            "tile_size": same(256, pa.int32()),
            "target_mpp": same(0.5, pa.float32()),
            "group": same(group, pa.string()),
            "category": same(category, pa.string()),
            "cluster": same(1, pa.int32()),
            "weight": same(1.0, pa.float32()),
            "split": same("train", pa.string()),
        },
        schema=MANIFEST_SCHEMA,
    )


def test_diff_of_a_constructed_pair(tmp_path):
    ys, xs = np.mgrid[0:300, 0:250]
    grid = np.column_stack([xs.ravel(), ys.ravel()])  # 75,000 tiles: 2 batches
    a = [
        _rows(1, grid[:10]),
        _rows(2, grid, category="Tumour"),
        _rows(3, grid[:50]),
        _rows(5, grid[:7], group="h"),
    ]
    b = [
        _rows(2, grid[1000:], category="Tumour"),  # 1000 removed
        _rows(2, [(999_999, 0)], category="Stroma"),  # 1 added, same slide
        _rows(3, grid[:50], read_size=1024.0),  # same places, another read size: 50 new
        _rows(4, grid[:20]),  # new slide
        _rows(5, grid[:7], group="h"),  # unchanged
    ]
    write_manifest(tmp_path / "a.parquet", a)
    write_manifest(tmp_path / "b.parquet", b)
    diff = diff_manifests(tmp_path / "a.parquet", tmp_path / "b.parquet")
    assert diff["slides_added"] == [4] and diff["slides_removed"] == [1]
    assert diff["tiles_removed"] == 10 + 1000 + 50
    assert diff["tiles_added"] == 1 + 50 + 20
    assert diff["tiles_kept"] == (len(grid) - 1000) + 7
    cells = {(c["group"], c["category"]): (c["a"], c["b"]) for c in diff["cells"]}
    assert cells == {
        ("g", "c"): (60, 70),
        ("g", "Tumour"): (len(grid), len(grid) - 1000),
        ("g", "Stroma"): (0, 1),
        ("h", "c"): (7, 7),
    }
    same = diff_manifests(tmp_path / "a.parquet", tmp_path / "a.parquet")
    assert (same["tiles_added"], same["tiles_removed"]) == (0, 0)
    assert same["tiles_kept"] == sum(t.num_rows for t in a)


def test_diff_refuses_unsorted_manifests(tmp_path):
    write_manifest(tmp_path / "u.parquet", [_rows(2, [(0, 0)]), _rows(1, [(0, 0)])])
    write_manifest(tmp_path / "s.parquet", [_rows(1, [(0, 0)])])
    with pytest.raises(ValueError, match="not sorted"):
        diff_manifests(tmp_path / "s.parquet", tmp_path / "u.parquet")


def test_iter_batches_projects_columns(tmp_path):
    write_manifest(tmp_path / "m.parquet", [synthetic_rows(100)])
    batches = list(iter_batches(tmp_path / "m.parquet", batch_size=30, columns=["x", "split"]))
    assert [b.num_rows for b in batches] == [30, 30, 30, 10]
    assert batches[0].schema.names == ["x", "split"]
