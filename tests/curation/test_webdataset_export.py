"""Tests for curation.webdataset_export.write_shards: shards a plain tar reader (and
WebDataset's key convention) can read, tiles matching the slides, resume that keeps finished
shards, a killed writer leaving no partial shard, and missing slides reported."""

import dataclasses
import io
import json
import shutil
import tarfile

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from curation import webdataset_export
from curation.dataset_sampling import QualityFilter, Recipe, build_manifest
from curation.slide_metadata import render_jpeg
from curation.slide_reader import SlideReader
from curation.webdataset_export import ExportReport, write_shards
from tests.curation.dataset_data import CATEGORY_OF, cluster_run, slide_inputs

RECIPE = Recipe(
    group_weights={"A": 1.0, "B": 1.0},
    category_weights={"Tumour": 1.0, "Stroma": 1.0, "Immune": 1.0},
    budget=25,
    per_slide_cap=None,
    quality=QualityFilter(min_tissue_fraction=0.5),
    seed=11,
)


@pytest.fixture(scope="module")
def slides(tmp_path_factory, demo_slide_dir):
    return slide_inputs(*cluster_run(tmp_path_factory.getbasetemp(), demo_slide_dir))


@pytest.fixture(scope="module")
def manifest(slides, tmp_path_factory):
    path = tmp_path_factory.mktemp("export") / "manifest.parquet"
    build_manifest(slides, CATEGORY_OF, RECIPE, path)
    return path


def read_shard(path) -> list[tuple[str, dict, np.ndarray]]:
    """(key, row, pixels) per sample, grouping members by the key before the first dot."""
    samples: dict[str, dict] = {}
    with tarfile.open(path) as tar:
        names = tar.getnames()
        for member in tar.getmembers():
            key, extension = member.name.split(".", 1)
            samples.setdefault(key, {})[extension] = tar.extractfile(member).read()
    assert len(names) == 2 * len(samples)
    for index in range(0, len(names), 2):  # a sample's members are adjacent, jpg then json
        assert names[index].split(".")[0] == names[index + 1].split(".")[0]
    return [
        (key, json.loads(parts["json"]), np.asarray(Image.open(io.BytesIO(parts["jpg"]))))
        for key, parts in samples.items()
    ]


def test_shards_hold_every_tile_as_jpeg_and_json(manifest, tmp_path):
    rows = pq.read_table(manifest).to_pylist()
    calls = []
    report = write_shards(manifest, tmp_path, shard_size=10, progress=lambda *a: calls.append(a))
    assert [name for name, _ in report.shards] == [f"shard-{i:06d}.tar" for i in range(3)]
    assert [size for _, size in report.shards] == [
        (tmp_path / name).stat().st_size for name, _ in report.shards
    ]
    assert (report.tiles_written, report.tiles_skipped, report.missing_slides) == (25, 0, [])
    assert calls == [(10, 25), (20, 25), (25, 25)]
    samples = [s for name, _ in report.shards for s in read_shard(tmp_path / name)]
    assert [row for _, row, _ in samples] == rows  # row i in shard i // 10, in order
    readers = {}
    for key, row, pixels in samples:
        assert "." not in key and key == f"{row['slide_id']:08d}_{row['x']}_{row['y']}"
        assert pixels.shape == (row["tile_size"], row["tile_size"], 3)
        reader = readers.setdefault(row["slide_path"], SlideReader(row["slide_path"]))
        expected = reader.read(row["x"], row["y"], row["tile_size"], row["target_mpp"])
        # the JPEG of exactly these pixels (and close to them: quality 90)
        jpeg = render_jpeg(Image.fromarray(expected), quality=90)
        np.testing.assert_array_equal(pixels, np.asarray(Image.open(io.BytesIO(jpeg))))
        assert np.abs(pixels.astype(int) - expected).mean() < 12
    for reader in readers.values():
        reader.close()
    saved = json.loads((tmp_path / "report.json").read_text())
    assert saved["tiles_written"] == 25 and saved["missing_slides"] == []
    assert saved["shards"] == [{"name": n, "size": s} for n, s in report.shards]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_webdataset_reads_the_shards_when_installed(manifest, tmp_path):
    wds = pytest.importorskip("webdataset")
    write_shards(manifest, tmp_path, shard_size=10)
    urls = [str(p) for p in sorted(tmp_path.glob("shard-*.tar"))]
    samples = list(wds.WebDataset(urls, shardshuffle=False).decode("rgb8").to_tuple("jpg", "json"))
    assert len(samples) == 25


def test_resume_keeps_finished_shards_and_rewrites_the_rest(manifest, tmp_path):
    first = write_shards(manifest, tmp_path, shard_size=10)
    before = {p.name: p.stat().st_mtime_ns for p in tmp_path.glob("shard-*.tar")}
    content = (tmp_path / "shard-000001.tar").read_bytes()
    (tmp_path / "shard-000001.tar").unlink()  # as if the export died before this shard
    (tmp_path / "shard-000002.done").write_text("{")  # and this one's record is damaged
    again = write_shards(manifest, tmp_path, shard_size=10)
    assert again == first
    assert (tmp_path / "shard-000000.tar").stat().st_mtime_ns == before["shard-000000.tar"]
    assert (tmp_path / "shard-000001.tar").read_bytes() == content  # deterministic bytes
    assert (tmp_path / "shard-000002.tar").stat().st_mtime_ns != before["shard-000002.tar"]
    # another shard size does not reuse shards made for the old one
    other = write_shards(manifest, tmp_path, shard_size=20)
    assert [n for n, _ in other.shards] == ["shard-000000.tar", "shard-000001.tar"]
    assert sorted(p.name for p in tmp_path.glob("shard-*")) == [
        "shard-000000.done",
        "shard-000000.tar",
        "shard-000001.done",
        "shard-000001.tar",
    ]
    assert (tmp_path / "shard-000000.tar").stat().st_mtime_ns != before["shard-000000.tar"]
    assert len(read_shard(tmp_path / "shard-000000.tar")) == 20
    # resume=False rewrites everything
    mtime = (tmp_path / "shard-000001.tar").stat().st_mtime_ns
    write_shards(manifest, tmp_path, shard_size=20, resume=False)
    assert (tmp_path / "shard-000001.tar").stat().st_mtime_ns != mtime


def test_a_killed_writer_leaves_no_partial_shard(manifest, tmp_path, monkeypatch):
    real = webdataset_export.render_jpeg
    calls = []

    def dies_on_the_fifteenth(*args, **kwargs):
        calls.append(1)
        if len(calls) == 15:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(webdataset_export, "render_jpeg", dies_on_the_fifteenth)
    with pytest.raises(KeyboardInterrupt):
        write_shards(manifest, tmp_path, shard_size=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard-000000.done", "shard-000000.tar"]
    monkeypatch.setattr(webdataset_export, "render_jpeg", real)
    mtime = (tmp_path / "shard-000000.tar").stat().st_mtime_ns
    report = write_shards(manifest, tmp_path, shard_size=10)
    assert report.tiles_written == 25
    assert (tmp_path / "shard-000000.tar").stat().st_mtime_ns == mtime


def test_a_missing_slide_is_reported_and_the_export_goes_on(slides, tmp_path):
    copy = tmp_path / "slides" / "moved.tiff"
    copy.parent.mkdir()
    shutil.copy(slides[0].slide_path, copy)
    inputs = [dataclasses.replace(slides[0], slide_path=str(copy)), *slides[1:]]
    path = tmp_path / "m.parquet"
    build_manifest(inputs, CATEGORY_OF, RECIPE, path)
    copy.unlink()
    rows = pq.read_table(path).to_pylist()
    lost = sum(r["slide_id"] == slides[0].slide_id for r in rows)
    assert lost > 0
    report = write_shards(path, tmp_path / "out", shard_size=8)
    assert report.tiles_skipped == lost and report.tiles_written == len(rows) - lost
    assert [s for s, _ in report.missing_slides] == [slides[0].slide_id]
    assert "not found" in report.missing_slides[0][1]
    written = [
        row for name, _ in report.shards for _, row, _ in read_shard(tmp_path / "out" / name)
    ]
    assert [key(r) for r in written] == [
        key(r) for r in rows if r["slide_id"] != slides[0].slide_id
    ]
    saved = json.loads((tmp_path / "out" / "report.json").read_text())
    assert saved["missing_slides"] == [
        {"slide": slides[0].slide_id, "reason": report.missing_slides[0][1]}
    ]
    # resumed: the kept shards' missing slides are still reported
    assert write_shards(path, tmp_path / "out", shard_size=8) == report


def key(row):
    return row["slide_id"], row["x"], row["y"]


def test_bad_arguments(manifest, tmp_path):
    with pytest.raises(ValueError, match="shard_size"):
        write_shards(manifest, tmp_path, shard_size=0)
    with pytest.raises(ValueError, match="jpeg_quality"):
        write_shards(manifest, tmp_path, jpeg_quality=0)
    assert ExportReport().to_json() == {
        "shards": [],
        "tiles_written": 0,
        "tiles_skipped": 0,
        "missing_slides": [],
    }
