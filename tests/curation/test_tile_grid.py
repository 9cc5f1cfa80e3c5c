"""Tests for curation.tile_grid: tile coordinates, overlap, tissue filtering, splitting."""

import numpy as np
import pytest

from curation.tile_grid import TileGrid, split_grid, tile_grid


def test_grid_coordinates_without_overlap():
    # 0.25 µm/px scan, 256 px tiles at 0.5 µm/px -> 512 level-0 px per tile.
    grid = tile_grid((1100, 1600), 0.25, tile_size=256, target_mpp=0.5)
    assert grid.size == 512.0
    assert len(grid) == 2 * 3  # floor(1100/512) columns, floor(1600/512) rows
    assert grid.x.tolist() == [0, 512, 0, 512, 0, 512]
    assert grid.y.tolist() == [0, 0, 512, 512, 1024, 1024]
    assert grid.x.dtype == np.int64 and grid.y.dtype == np.int64
    assert grid.tissue_fraction.dtype == np.float32
    assert grid.tissue_fraction.tolist() == [1.0] * 6


def test_grid_with_overlap_stride():
    # 100 px tiles every 60 px along a 300 px wide, 100 px high slide: 0, 60, 120, 180.
    grid = tile_grid((300, 100), 0.5, tile_size=100, target_mpp=0.5, stride=60)
    assert grid.x.tolist() == [0, 60, 120, 180]
    assert grid.y.tolist() == [0, 0, 0, 0]
    # Strides are in target pixels: at 2x downsampling a 30 px stride is 60 level-0 px.
    scaled = tile_grid((300, 100), 0.25, tile_size=50, target_mpp=0.5, stride=30)
    assert scaled.x.tolist() == grid.x.tolist() and scaled.size == 100.0


def test_fractional_size_floors_positions_and_fits():
    # 0.3 / 0.7 scale: size 42.857..., step 12.857...; positions floor(i * step).
    grid = tile_grid((100, 50), 0.7, tile_size=100, target_mpp=0.3, stride=30)
    step = 30 * 0.3 / 0.7
    assert grid.x[grid.y == 0].tolist() == [int(np.floor(i * step)) for i in range(5)]
    assert grid.size == pytest.approx(100 * 0.3 / 0.7)


def test_slide_smaller_than_a_tile_has_no_tiles():
    grid = tile_grid((511, 4000), 0.25, tile_size=256, target_mpp=0.5)
    assert len(grid) == 0 and grid.x.dtype == np.int64


@pytest.mark.parametrize("stride", [None, 100, 37])
def test_no_tile_crosses_the_slide_edge(stride):
    dims = (12345, 6789)
    grid = tile_grid(dims, 0.2431, tile_size=224, target_mpp=0.5, stride=stride)
    assert len(grid) > 0
    assert (grid.x >= 0).all() and (grid.y >= 0).all()
    assert (grid.x + grid.size <= dims[0]).all() and (grid.y + grid.size <= dims[1]).all()
    # ... and the grid is complete: one more step would cross the edge.
    step = (stride or 224) * 0.5 / 0.2431
    assert grid.x.max() + step + grid.size > dims[0]
    assert grid.y.max() + step + grid.size > dims[1]


def test_grid_is_row_major_and_deterministic():
    mask = np.random.default_rng(0).random((40, 60)) > 0.5
    kwargs = dict(tile_size=64, target_mpp=1.0, stride=48, mask=mask, min_tissue_fraction=0.3)
    a = tile_grid((6000, 4000), 0.5, **kwargs)
    b = tile_grid((6000, 4000), 0.5, **kwargs)
    assert np.array_equal(a.x, b.x) and np.array_equal(a.y, b.y)
    assert np.array_equal(a.tissue_fraction, b.tissue_fraction)
    order = np.lexsort((a.x, a.y))
    assert np.array_equal(order, np.arange(len(a)))


def _blob_mask() -> np.ndarray:
    """A 10 x 10 overview of a 1000 x 1000 slide (mask_scale 100) with tissue in columns
    3..6 and rows 2..4, i.e. level-0 x in [300, 700), y in [200, 500)."""
    mask = np.zeros((10, 10), dtype=bool)
    mask[2:5, 3:7] = True
    return mask


def test_tissue_fraction_is_exact_area_coverage():
    grid = tile_grid(
        (1000, 1000), 1.0, tile_size=150, target_mpp=1.0, mask=_blob_mask(), mask_scale=100
    )
    fraction = {
        (int(x), int(y)): float(f)
        for x, y, f in zip(grid.x, grid.y, grid.tissue_fraction, strict=True)
    }
    assert len(fraction) == 36  # floor(1000 / 150) = 6 per axis, nothing dropped
    # Fully inside the blob: x [300, 450) x y [300, 450).
    assert fraction[(300, 300)] == 1.0
    # Fully outside: the top-left corner and the bottom-right area.
    assert fraction[(0, 0)] == 0.0 and fraction[(750, 750)] == 0.0
    # Border tiles, by hand. (150, 150): overlap x [300, 300) -> none.
    assert fraction[(150, 150)] == 0.0
    # (150, 300): x [150, 300) is left of the blob -> none.
    assert fraction[(150, 300)] == 0.0
    # (300, 150): x fully inside, y [150, 300) overlaps [200, 300): 100 / 150.
    assert fraction[(300, 150)] == pytest.approx(100 / 150)
    # (600, 450): x [600, 750) overlaps [600, 700): 100; y [450, 600) overlaps [450, 500): 50.
    assert fraction[(600, 450)] == pytest.approx(100 * 50 / 150**2)
    # (450, 450): x fully inside [450, 600); y overlaps 50 -> 50 / 150.
    assert fraction[(450, 450)] == pytest.approx(50 / 150)


def test_fractional_mask_pixels_count_their_covered_share():
    # A tile edge inside a mask pixel counts only the covered part of that pixel: one tissue
    # pixel (level-0 [100, 200) square) and a 150 px tile at (0, 0) covers [100, 150)^2 of it.
    mask = np.zeros((4, 4), dtype=bool)
    mask[1, 1] = True
    grid = tile_grid((400, 400), 1.0, tile_size=150, target_mpp=1.0, mask=mask, mask_scale=100)
    assert grid.x[0] == 0 and grid.y[0] == 0
    assert grid.tissue_fraction[0] == pytest.approx(50 * 50 / 150**2)


def test_min_tissue_fraction_keeps_tissue_and_skips_background():
    mask = _blob_mask()
    kwargs = dict(tile_size=100, target_mpp=1.0, mask=mask, mask_scale=100)
    full = tile_grid((1000, 1000), 1.0, **kwargs)
    # Aligned 100 px tiles are each exactly one mask pixel: kept iff that pixel is tissue.
    kept = tile_grid((1000, 1000), 1.0, min_tissue_fraction=0.5, **kwargs)
    expected = {(c * 100, r * 100) for r, c in zip(*np.nonzero(mask), strict=True)}
    assert set(zip(kept.x.tolist(), kept.y.tolist(), strict=True)) == expected
    assert len(full) == 100 and (kept.tissue_fraction == 1.0).all()

    # Overlapping 150 px tiles: the filter follows the exact coverage, border tiles included.
    kwargs = dict(tile_size=150, target_mpp=1.0, stride=50, mask=mask, mask_scale=100)
    everything = tile_grid((1000, 1000), 1.0, **kwargs)
    for threshold in (0.0, 0.2, 0.5, 1.0):
        filtered = tile_grid((1000, 1000), 1.0, min_tissue_fraction=threshold, **kwargs)
        want = everything.tissue_fraction >= threshold
        assert np.array_equal(filtered.x, everything.x[want])
        assert np.array_equal(filtered.y, everything.y[want])
        # Tiles fully inside the blob are always kept, tiles fully outside dropped (> 0).
        inside = (filtered.x >= 300) & (filtered.x + 150 <= 700)
        inside &= (filtered.y >= 200) & (filtered.y + 150 <= 500)
        assert (filtered.tissue_fraction[inside] == 1.0).all()
    strict = tile_grid((1000, 1000), 1.0, min_tissue_fraction=1.0, **kwargs)
    assert set(zip(strict.x.tolist(), strict.y.tolist(), strict=True)) == {
        (x, y) for x in (300, 350, 400, 450, 500, 550) for y in (200, 250, 300, 350)
    }
    # The tile at (700, 700) lies fully outside: fraction 0, dropped by any positive threshold.
    touching = tile_grid((1000, 1000), 1.0, min_tissue_fraction=1e-6, **kwargs)
    assert (700, 700) not in set(zip(touching.x.tolist(), touching.y.tolist(), strict=True))
    assert ((touching.x + 150 > 300) & (touching.x < 700)).all()


def test_mask_scale_defaults_to_width_ratio_and_outside_is_background():
    # A 4 x 4 mask at 100 px per mask pixel covers only [0, 400)^2 of a 1000 x 1000 slide:
    # beyond it is background. 250 px tiles: [0, 250) full, [250, 500) covers 150 / 250.
    mask = np.ones((4, 4), dtype=bool)
    explicit = tile_grid(
        (1000, 1000), 1.0, tile_size=250, target_mpp=1.0, mask=mask, mask_scale=100
    )
    expected = [[1, 0.6, 0, 0], [0.6, 0.36, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert explicit.tissue_fraction.reshape(4, 4) == pytest.approx(np.array(expected))
    # Without mask_scale: slide width / mask width = 1000 / 10 = 100 px per mask pixel.
    inferred = tile_grid((1000, 1000), 1.0, tile_size=250, target_mpp=1.0, mask=np.ones((10, 10)))
    assert (inferred.tissue_fraction == 1.0).all()


def test_invalid_arguments():
    with pytest.raises(ValueError):
        tile_grid((100, 100), 0.0, tile_size=10, target_mpp=0.5)
    with pytest.raises(ValueError):
        tile_grid((100, 100), 0.5, tile_size=10, target_mpp=0.5, stride=0)
    with pytest.raises(ValueError):
        tile_grid((100, 100), 0.5, tile_size=10, target_mpp=0.5, min_tissue_fraction=1.5)
    with pytest.raises(ValueError):
        split_grid(tile_grid((100, 100), 0.5, tile_size=10, target_mpp=0.5), 0)


@pytest.mark.parametrize("parts", [1, 3, 7, 100, 1000])
def test_split_grid_covers_every_tile_once_in_order(parts):
    grid = tile_grid((3000, 2000), 0.5, tile_size=100, target_mpp=0.5, stride=80)
    chunks = split_grid(grid, parts)
    assert len(chunks) == parts
    assert all(isinstance(c, TileGrid) and c.size == grid.size for c in chunks)
    sizes = [len(c) for c in chunks]
    assert sum(sizes) == len(grid) and max(sizes) - min(sizes) <= 1
    assert np.array_equal(np.concatenate([c.x for c in chunks]), grid.x)
    assert np.array_equal(np.concatenate([c.y for c in chunks]), grid.y)
    assert np.array_equal(np.concatenate([c.tissue_fraction for c in chunks]), grid.tissue_fraction)


def test_grid_arrays_are_read_only():
    grid = tile_grid((1000, 1000), 0.5, tile_size=100, target_mpp=0.5)
    with pytest.raises(ValueError):
        grid.x[0] = 5


def test_coverage_matches_brute_force_on_a_drawn_blob():
    # A disc drawn into a 50 x 40 overview at 8 level-0 px per mask pixel; tiles of 50 px every
    # 23 px cut mask pixels anywhere. Brute force: upsample the mask to level 0 and average.
    rows, cols = np.mgrid[0:40, 0:50]
    mask = (rows - 18) ** 2 + (cols - 27) ** 2 < 14**2
    grid = tile_grid((400, 320), 1.0, tile_size=50, target_mpp=1.0, stride=23, mask=mask)
    level0 = np.kron(mask, np.ones((8, 8), dtype=bool))
    brute = [level0[y : y + 50, x : x + 50].mean() for x, y in zip(grid.x, grid.y, strict=True)]
    assert grid.tissue_fraction == pytest.approx(np.array(brute, dtype=np.float32), abs=1e-6)
    assert 0 < (grid.tissue_fraction == 1).sum() < (grid.tissue_fraction == 0).sum()
