"""Tiling one slide end to end with the library: tissue-only grid, features, the store,
parallel reading, a process pool over slides, and a killed tiler leaving nothing behind."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from curation.slide_metadata import SlideReadError
from curation.synthetic_slides import TissueCanvas, write_pyramidal_tiff
from curation.tile_store import read_tile_metadata, read_tiles, tile_dataset
from curation.tiling import TilingConfig, tile_slide, tile_slides

QUICK = TilingConfig(tile_size=128, target_mpp=1.0, min_tissue_fraction=0.5)


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """A 4096 × 3072 slide at 0.25 µm/px with known tissue, border and pen (ground truth)."""
    canvas = TissueCanvas(4096, 3072, seed=7)
    path = tmp_path_factory.mktemp("gen") / "known.svs"
    write_pyramidal_tiff(path, canvas, width=4096, height=3072, mpp=0.25, aperio=True)
    return path, canvas


def test_tiles_lie_on_tissue_and_skip_background(generated, tmp_path):
    path, canvas = generated
    result = tile_slide(path, tmp_path / "out.parquet", QUICK)
    table = read_tiles(result.path)
    assert result.tile_count == table.num_rows >= 5  # of 8 × 6 possible 512 px tiles
    side = int(table["size"][0].as_py())
    assert side == 128 * 1.0 / 0.25
    on_tissue = [
        (canvas.labels(x, y, side, side) == 1).mean()
        for x, y in zip(table["x"].to_pylist(), table["y"].to_pylist(), strict=True)
    ]
    assert np.mean(on_tissue) > 0.7 and min(on_tissue) > 0.4, on_tissue
    # Every whole tile position: the ones fully on tissue are kept, those on glass are not.
    kept = set(zip(table["x"].to_pylist(), table["y"].to_pylist(), strict=True))
    for y in range(0, 3072 - side + 1, side):
        for x in range(0, 4096 - side + 1, side):
            truth = (canvas.labels(x, y, side, side) == 1).mean()
            if truth > 0.95:
                assert (x, y) in kept, (x, y, truth)
            if truth < 0.05:
                assert (x, y) not in kept, (x, y, truth)
    assert result.tissue_area_mm2 > 0
    assert (tmp_path / "out.mask.png").is_file()
    meta = read_tile_metadata(result.path)
    assert meta["config"]["tile_size"] == 128 and meta["library_version"]
    features = np.stack([table[c].to_numpy() for c in ("rgb_r_mean", "lab_l_mean")], axis=1)
    assert np.isfinite(features).all()


def test_parallel_reading_gives_the_same_table(generated, tmp_path):
    path, _ = generated
    one = read_tiles(tile_slide(path, tmp_path / "one.parquet", QUICK).path)
    many = read_tiles(
        tile_slide(
            path,
            tmp_path / "many.parquet",
            TilingConfig(**{**QUICK.to_dict(), "batch_size": 8, "tissue": QUICK.tissue}),
            workers=2,
        ).path
    )
    assert one.num_rows == many.num_rows
    for column in ("x", "y", "rgb_g_mean", "sharpness"):
        np.testing.assert_allclose(one[column].to_numpy(), many[column].to_numpy(), rtol=1e-5)


def test_pool_over_slides_reports_bad_ones_and_goes_on(generated, tmp_path):
    path, _ = generated
    bad = tmp_path / "broken.svs"
    bad.write_bytes(b"not a slide")
    results = list(
        tile_slides(
            [(path, tmp_path / "a.parquet", None), (bad, tmp_path / "b.parquet", None)],
            QUICK,
            workers=2,
        )
    )
    assert results[0].tile_count > 0
    assert isinstance(results[1], SlideReadError)
    assert not (tmp_path / "b.parquet").exists()
    assert tile_dataset(tmp_path).count_rows() == results[0].tile_count


def test_a_killed_tiler_leaves_no_partial_file(tmp_path):
    path = tmp_path / "big.svs"
    write_pyramidal_tiff(
        path, TissueCanvas(8192, 8192, seed=3), width=8192, height=8192, mpp=0.25, aperio=True
    )
    out = tmp_path / "store" / "big.parquet"
    out.parent.mkdir()
    # A progress callback that dawdles keeps the tiler busy long enough to be killed mid-way.
    code = (
        "import time; from curation.tiling import TilingConfig, tile_slide; "
        f"tile_slide({str(path)!r}, {str(out)!r}, TilingConfig(tile_size=64, target_mpp=0.25, "
        "batch_size=16), progress=lambda done, total: time.sleep(0.5))"
    )
    process = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    time.sleep(2.5)
    assert process.poll() is None, "the tiler finished before it could be killed"
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not out.exists()
    result = tile_slide(path, out, QUICK)  # a rerun completes cleanly
    assert out.is_file() and result.tile_count > 0
