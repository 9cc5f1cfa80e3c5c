"""Tests for curation.tile_loader.ManifestTiles: pixels as SlideReader reads them (generated
and real slides), splits, deterministic shuffles, disjoint worker and rank shares, missing
slides, and windowed reading of a manifest larger than one window."""

import dataclasses
import shutil
import sys
import types

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from curation import tile_loader
from curation.dataset_sampling import QualityFilter, Recipe, build_manifest
from curation.manifest import write_manifest
from curation.slide_reader import SlideReader
from curation.tile_loader import ManifestTiles, SlideUnavailableError
from tests.curation.dataset_data import CATEGORY_OF, cluster_run, slide_inputs
from tests.curation.test_manifest import synthetic_rows

RECIPE = Recipe(
    group_weights={"A": 1.0, "B": 1.0},
    category_weights={"Tumour": 1.0, "Stroma": 1.0, "Immune": 1.0},
    budget=60,
    per_slide_cap=None,
    quality=QualityFilter(min_tissue_fraction=0.5),
    validation_fraction=0.3,
    seed=3,
)


@pytest.fixture(scope="module")
def slides(tmp_path_factory, demo_slide_dir):
    return slide_inputs(*cluster_run(tmp_path_factory.getbasetemp(), demo_slide_dir))


@pytest.fixture(scope="module")
def manifest(slides, tmp_path_factory):
    path = tmp_path_factory.mktemp("loader") / "manifest.parquet"
    build_manifest(slides, CATEGORY_OF, RECIPE, path)
    return path


def fake_workers(monkeypatch, worker_id: int, num_workers: int) -> None:
    """Make torch.utils.data.get_worker_info report a DataLoader worker (a stand-in torch)."""
    info = types.SimpleNamespace(id=worker_id, num_workers=num_workers)
    data = types.ModuleType("torch.utils.data")
    data.get_worker_info = lambda: info
    utils = types.ModuleType("torch.utils")
    utils.data = data
    torch = types.ModuleType("torch")
    torch.utils = utils
    for name, module in (("torch", torch), ("torch.utils", utils), ("torch.utils.data", data)):
        monkeypatch.setitem(sys.modules, name, module)


def key(row: dict) -> tuple:
    return row["slide_id"], row["x"], row["y"]


def test_tiles_are_the_pixels_slide_reader_reads(manifest, real_svs):
    rows = pq.read_table(manifest).to_pylist()
    tiles = ManifestTiles(manifest, handles=2)  # fewer handles than slides: the LRU evicts
    seen = list(tiles)
    assert [row for _, row in seen] == rows and len(tiles) == len(rows)
    assert str(real_svs) in {row["slide_path"] for row in rows}  # the real H&E slide too
    for tile, row in seen:
        assert tile.dtype == np.uint8 and tile.shape == (row["tile_size"], row["tile_size"], 3)
        with SlideReader(row["slide_path"]) as reader:
            expected = reader.read(row["x"], row["y"], row["tile_size"], row["target_mpp"])
        np.testing.assert_array_equal(tile, expected)
    assert tiles.skipped == 0


def test_split_selects_its_rows(manifest):
    rows = pq.read_table(manifest).to_pylist()
    for split in ("train", "validation"):
        tiles = ManifestTiles(manifest, split=split)
        expected = [r for r in rows if r["split"] == split]
        assert len(tiles) == len(expected) > 0
        assert list(tiles.rows()) == expected
    with pytest.raises(ValueError, match="split"):
        ManifestTiles(manifest, split="test")
    with pytest.raises(ValueError, match="missing"):
        ManifestTiles(manifest, missing="ignore")


def test_shuffle_is_deterministic_per_seed_and_epoch(manifest):
    def order(seed, epoch):
        tiles = ManifestTiles(manifest, shuffle=True, seed=seed)
        tiles.set_epoch(epoch)
        return [key(r) for r in tiles.rows()]

    plain = [key(r) for r in ManifestTiles(manifest).rows()]
    assert order(0, 0) == order(0, 0)
    assert order(0, 0) != order(0, 1) and order(0, 0) != order(1, 0)
    assert order(0, 0) != plain and sorted(order(0, 1)) == sorted(plain)


@pytest.mark.parametrize("shuffle", [False, True])
def test_workers_and_ranks_take_disjoint_shares_of_the_rows(manifest, monkeypatch, shuffle):
    everything = [key(r) for r in ManifestTiles(manifest).rows()]
    shares = []
    for rank in range(2):
        for worker in range(3):
            fake_workers(monkeypatch, worker, 3)
            tiles = ManifestTiles(manifest, shuffle=shuffle, seed=5, rank=rank, world_size=2)
            shares.append([key(r) for r in tiles.rows()])
            assert len(tiles) == len(everything)
    flat = [k for share in shares for k in share]
    assert len(flat) == len(set(flat)) == len(everything) and set(flat) == set(everything)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    # a worker reads its share's pixels
    fake_workers(monkeypatch, 1, 3)
    tiles = ManifestTiles(manifest, shuffle=shuffle, seed=5, rank=1, world_size=2)
    assert [key(row) for _, row in tiles] == shares[4]


def test_without_torch_workers_one_process_reads_everything(manifest, monkeypatch):
    monkeypatch.delitem(sys.modules, "torch", raising=False)
    assert len(list(ManifestTiles(manifest).rows())) == pq.read_metadata(manifest).num_rows


def test_a_missing_slide_is_skipped_or_raises(slides, tmp_path):
    copy = tmp_path / "gone.tiff"
    shutil.copy(slides[0].slide_path, copy)
    moved = [dataclasses.replace(slides[0], slide_path=str(copy)), *slides[1:]]
    path = tmp_path / "m.parquet"
    build_manifest(moved, CATEGORY_OF, RECIPE, path)
    copy.unlink()
    rows = pq.read_table(path).to_pylist()
    lost = sum(r["slide_path"] == str(copy) for r in rows)
    assert lost > 0
    tiles = ManifestTiles(path)
    got = list(tiles)
    assert len(got) == len(rows) - lost and tiles.skipped == lost
    assert "not found" in tiles.missing[str(copy)]
    with pytest.raises(SlideUnavailableError, match="not found"):
        list(ManifestTiles(path, missing="raise"))


def test_a_slide_is_read_at_the_manifest_pixel_size_when_the_file_disagrees(manifest, tmp_path):
    """A manifest made with an mpp override (tile_size × target_mpp / read_size ≠ the file's
    µm/px) reads the squares the manifest describes."""
    table = pq.read_table(manifest)
    first = table.column("slide_path")[0].as_py()
    table = table.filter(pc.equal(table.column("slide_path"), first)).slice(0, 4)
    table = table.set_column(table.schema.get_field_index("tile_size"), "tile_size", [[32] * 4])
    table = table.set_column(
        table.schema.get_field_index("read_size"), "read_size", [np.full(4, 128.0, np.float32)]
    )
    path = tmp_path / "m.parquet"
    write_manifest(path, [table])
    got = list(ManifestTiles(path))
    assert len(got) == 4
    with SlideReader(first, mpp_override=32 * 0.5 / 128.0) as reader:
        for tile, row in got:
            assert tile.shape == (32, 32, 3)
            np.testing.assert_array_equal(tile, reader.read(row["x"], row["y"], 32, 0.5))


def test_windows_read_only_their_rows_in_order(tmp_path, monkeypatch):
    path = tmp_path / "m.parquet"
    table = synthetic_rows(150_000)
    write_manifest(path, [table])
    monkeypatch.setattr(tile_loader, "_MIN_WINDOW", 20_000)
    tiles = ManifestTiles(path, shuffle=True, seed=1)
    order = tiles.order()
    got = np.array([r["x"] * 10**7 + r["y"] for r in tiles.rows()])
    x, y = table.column("x").to_numpy(), table.column("y").to_numpy()
    np.testing.assert_array_equal(got, (x * 10**7 + y)[order])


def test_as_torch_dataset_in_a_dataloader(manifest):
    torch_data = pytest.importorskip("torch.utils.data")
    dataset = ManifestTiles(manifest, split="train").as_torch_dataset()
    assert isinstance(dataset, torch_data.IterableDataset) and len(dataset) > 0
    loader = torch_data.DataLoader(dataset, batch_size=None, num_workers=2)
    keys = [key(row) for _, row in loader]
    assert sorted(keys) == sorted(key(r) for r in ManifestTiles(manifest, split="train").rows())
    assert len(keys) == len(set(keys))
