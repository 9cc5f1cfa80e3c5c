"""Tile grids: where to cut tiles of a fixed size at a target resolution, in level-0 pixels.

A tile of `tile_size` target pixels at `target_mpp` µm/px spans `tile_size * target_mpp / mpp`
level-0 pixels of a slide scanned at `mpp`; the reader scales that region to `tile_size`. The
grid is a pure function of its inputs (no randomness, no dependence on the machine), so a tile
store written today can be recomputed and compared bit for bit later.

Tissue coverage is measured exactly by area on a low-resolution boolean mask through a
summed-area table: the cost is O(mask pixels + tiles), whatever the tile size, and tile edges
that fall inside a mask pixel count the covered share of that pixel.
"""

from dataclasses import dataclass

import numpy as np

# Float slack when deciding whether a tile still fits or meets the tissue threshold: sizes such
# as 224 * 0.5 / 0.25 are exact in binary, but 224 * 0.5 / 0.2431 is not, and a tile that fits
# on paper must not be dropped for a rounding error in the last bit.
_EPS = 1e-9


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays field-wise is ambiguous
class TileGrid:
    """Whole tiles of one slide, row-major (sorted by y, then x).

    `x`, `y`: int64 level-0 top-left corners. `size`: side of every tile in level-0 pixels
    (a float; the tile covers [x, x + size) x [y, y + size)). `tissue_fraction`: float32 share
    of each tile covered by the tissue mask, 1.0 where no mask was given.
    """

    x: np.ndarray
    y: np.ndarray
    size: float
    tissue_fraction: np.ndarray

    def __len__(self) -> int:
        return int(self.x.shape[0])


def _positions(extent: int, size: float, step: float) -> np.ndarray:
    """Left (or top) edges of whole tiles along one axis: floor(i * step) for every i whose
    tile ends inside [0, extent]. Flooring never moves a tile right, so it never crosses the
    far edge; the computation uses no state, so it is deterministic."""
    if size > extent + _EPS:
        return np.zeros(0, dtype=np.int64)
    count = int(np.floor((extent - size) / step + _EPS)) + 1
    starts = np.floor(np.arange(count, dtype=np.float64) * step + _EPS).astype(np.int64)
    # Guard against the slack above admitting a tile one rounding error too far.
    return starts[starts + size <= extent + 1e-6]


def _summed_area(mask: np.ndarray) -> np.ndarray:
    """S[j, i] = number of mask pixels with row < j and column < i (one row/column of zeros
    in front). int32 while it cannot overflow: the table is the only large allocation."""
    dtype = np.int32 if mask.size < 2**31 else np.int64
    table = np.zeros((mask.shape[0] + 1, mask.shape[1] + 1), dtype=dtype)
    np.cumsum(mask, axis=0, dtype=dtype, out=table[1:, 1:])
    np.cumsum(table[1:, 1:], axis=1, dtype=dtype, out=table[1:, 1:])
    return table


def _table_row(table: np.ndarray, v: float) -> np.ndarray:
    """The summed-area table at the fractional row `v` (clamped to the mask). The mask is
    constant inside a pixel, so the integral is linear between pixel edges: linear
    interpolation between table rows is exact, and clamping treats outside as background."""
    v = min(max(v, 0.0), table.shape[0] - 1.0)
    j = min(int(v), table.shape[0] - 2) if table.shape[0] > 1 else 0
    frac = v - j
    row = table[j].astype(np.float64)
    if frac > 0.0:
        row += frac * (table[j + 1] - table[j])
    return row


def _coverage(
    xs: np.ndarray, ys: np.ndarray, size: float, mask: np.ndarray, mask_scale: float
) -> np.ndarray:
    """Covered share, shape (len(ys), len(xs)), of every tile of the product grid xs x ys.
    Works one tile row at a time so memory stays O(mask width + tiles per row)."""
    table = _summed_area(mask)
    knots = np.arange(table.shape[1], dtype=np.float64)
    left = xs / mask_scale
    right = (xs + size) / mask_scale
    area = (size / mask_scale) ** 2
    out = np.empty((len(ys), len(xs)), dtype=np.float64)
    for r, top in enumerate(ys):
        # Mask pixels per column between the tile's top and bottom edges, as a cumulative
        # function of x; np.interp clamps beyond the mask, i.e. no tissue there.
        band = _table_row(table, (top + size) / mask_scale) - _table_row(table, top / mask_scale)
        out[r] = (np.interp(right, knots, band) - np.interp(left, knots, band)) / area
    return np.clip(out, 0.0, 1.0)


def _check(
    dimensions: tuple[int, int], mpp: float, tile_size: int, target_mpp: float, stride: int
) -> None:
    if dimensions[0] < 0 or dimensions[1] < 0:
        raise ValueError(f"dimensions must be non-negative, got {dimensions}")
    if not (mpp > 0 and target_mpp > 0):
        raise ValueError(f"mpp and target_mpp must be positive, got {mpp}, {target_mpp}")
    if tile_size <= 0 or stride <= 0:
        raise ValueError(f"tile_size and stride must be positive, got {tile_size}, {stride}")


def tile_grid(
    dimensions: tuple[int, int],
    mpp: float,
    *,
    tile_size: int,
    target_mpp: float,
    stride: int | None = None,
    mask: np.ndarray | None = None,
    mask_scale: float | None = None,
    min_tissue_fraction: float = 0.0,
) -> TileGrid:
    """Deterministic grid of whole tiles inside a slide of level-0 `dimensions` (width, height).

    Tiles are `tile_size` target pixels at `target_mpp`, i.e. `tile_size * target_mpp / mpp`
    level-0 pixels, placed every `stride` target pixels (default `tile_size`: no overlap;
    smaller: overlap). Left/top edges are floor(i * stride * target_mpp / mpp); no tile crosses
    the right or bottom edge (partial tiles are dropped).

    `mask` is a boolean tissue mask (rows = y) over an overview where one mask pixel spans
    `mask_scale` level-0 pixels (default: slide width / mask width). A tile's tissue fraction
    is the exact area share of it covered by the mask (outside the mask = background); tiles
    below `min_tissue_fraction` are dropped. Without a mask every fraction is 1.0.
    """
    stride = tile_size if stride is None else stride
    _check(dimensions, mpp, tile_size, target_mpp, stride)
    if not 0.0 <= min_tissue_fraction <= 1.0:
        raise ValueError(f"min_tissue_fraction must be in [0, 1], got {min_tissue_fraction}")
    scale = target_mpp / mpp
    size = tile_size * scale
    xs = _positions(int(dimensions[0]), size, stride * scale)
    ys = _positions(int(dimensions[1]), size, stride * scale)
    if mask is None:
        coverage = np.ones((len(ys), len(xs)), dtype=np.float64)
    else:
        mask = np.asarray(mask, dtype=bool)
        if mask.ndim != 2:
            raise ValueError(f"mask must be 2-D, got shape {mask.shape}")
        if mask_scale is None:
            mask_scale = dimensions[0] / mask.shape[1] if mask.shape[1] else 1.0
        if mask_scale <= 0:
            raise ValueError(f"mask_scale must be positive, got {mask_scale}")
        coverage = _coverage(xs, ys, size, mask, float(mask_scale))
    keep = coverage >= min_tissue_fraction - _EPS
    rows, cols = np.nonzero(keep)  # row-major order: by y, then x
    grid = TileGrid(
        x=xs[cols],
        y=ys[rows],
        size=float(size),
        tissue_fraction=coverage[rows, cols].astype(np.float32),
    )
    for array in (grid.x, grid.y, grid.tissue_fraction):
        array.flags.writeable = False  # frozen means frozen: callers share these arrays
    return grid


def split_grid(grid: TileGrid, parts: int) -> list[TileGrid]:
    """`parts` contiguous row-major chunks of `grid` (sizes differ by at most one; empty chunks
    when there are fewer tiles than parts) that together hold every tile exactly once, in
    order. Chunks are views, so splitting a large grid costs no copies."""
    if parts < 1:
        raise ValueError(f"parts must be >= 1, got {parts}")
    bounds = np.arange(parts + 1, dtype=np.int64) * len(grid) // parts
    return [
        TileGrid(
            x=grid.x[a:b], y=grid.y[a:b], size=grid.size, tissue_fraction=grid.tissue_fraction[a:b]
        )
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
