"""Tiling one slide end to end: overview → tissue mask → tile grid → tiles read at the target
µm/px → colour features and quality signals → one Parquet file, written atomically.

Memory is bounded by `batch_size` tiles at a time, whatever the slide's size. With
`workers > 1` the grid is split into contiguous chunks read by a process pool (each process
opens the slide once); `tile_slides` runs a pool over slides instead.
"""

import hashlib
import json
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from curation.features import FEATURE_NAMES, QUALITY_NAMES, colour_features, quality_signals
from curation.slide_reader import SlideReader
from curation.tile_grid import TileGrid, split_grid, tile_grid
from curation.tile_store import tile_table, write_tile_table
from curation.tissue import TissueParams, detect_tissue, save_mask_png

OVERVIEW_MPP = 8.0  # µm/px of the image tissue detection runs on
# The store's `tissue_fraction` is the grid's (share of the tile inside the tissue mask); the
# pixel-level quality signal of the same name is stored as `pixel_tissue_fraction`.
QUALITY_COLUMNS = tuple(
    "pixel_tissue_fraction" if name == "tissue_fraction" else name for name in QUALITY_NAMES
)


@dataclass(frozen=True)
class TilingConfig:
    """How to tile: the paper's recipe by default (256 px at 0.5 µm/px, tissue only)."""

    tile_size: int = 256
    target_mpp: float = 0.5
    stride: int | None = None
    min_tissue_fraction: float = 0.5
    features: bool = True
    batch_size: int = 64
    tissue: TissueParams = field(default_factory=TissueParams)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "TilingConfig":
        data = dict(data)
        tissue = TissueParams(**data.pop("tissue", {}))
        return cls(**data, tissue=tissue)

    def key(self) -> str:
        """A short stable id of everything that changes the output (names a store folder)."""
        params = {k: v for k, v in self.to_dict().items() if k != "batch_size"}
        digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()
        return f"t{self.tile_size}-m{self.target_mpp:g}-{digest[:10]}"


@dataclass
class TilingResult:
    path: Path
    mask_path: Path
    tile_count: int
    tissue_area_mm2: float
    mpp: float
    mpp_source: str
    seconds: float


Progress = Callable[[int, int], None]  # (tiles done, tiles total)


def plan_slide(reader: SlideReader, config: TilingConfig) -> tuple[TileGrid, np.ndarray, float]:
    """The grid of tissue tiles, the tissue mask and its scale (level-0 px per mask px)."""
    overview, scale = reader.overview(OVERVIEW_MPP)
    mask = detect_tissue(overview, um_per_px=reader.mpp * scale, params=config.tissue)
    grid = tile_grid(
        reader.dimensions,
        reader.mpp,
        tile_size=config.tile_size,
        target_mpp=config.target_mpp,
        stride=config.stride,
        mask=mask,
        mask_scale=scale,
        min_tissue_fraction=config.min_tissue_fraction,
    )
    return grid, mask, scale


def _read_batch(
    reader: SlideReader, grid: TileGrid, config: TilingConfig, start: int, stop: int
) -> np.ndarray:
    return np.stack(
        [
            reader.read(int(x), int(y), config.tile_size, config.target_mpp)
            for x, y in zip(grid.x[start:stop], grid.y[start:stop], strict=True)
        ]
    )


def _measure(
    reader: SlideReader, grid: TileGrid, config: TilingConfig, progress: Progress | None = None
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Features and quality signals of the grid's tiles, `batch_size` tiles at a time.

    The next batch is read in a second thread while this one's features are computed:
    OpenSlide's decoding and PIL's resampling release the GIL, so reading and measuring
    overlap (two batches in memory at most).
    """
    if not config.features or len(grid) == 0:
        return None, None
    starts = list(range(0, len(grid), config.batch_size))
    features, quality = [], []
    with ThreadPoolExecutor(max_workers=1) as reader_thread:

        def fetch(start: int) -> Future:
            stop = min(start + config.batch_size, len(grid))
            return reader_thread.submit(_read_batch, reader, grid, config, start, stop)

        pending = fetch(starts[0])
        for i, start in enumerate(starts):
            tiles = pending.result()
            if i + 1 < len(starts):
                pending = fetch(starts[i + 1])
            features.append(colour_features(tiles))
            quality.append(quality_signals(tiles))
            if progress:
                progress(start + len(tiles), len(grid))
    return np.concatenate(features), np.concatenate(quality)


def _measure_chunk(args) -> tuple[np.ndarray | None, np.ndarray | None]:
    path, mpp_override, grid, config = args
    with SlideReader(path, mpp_override=mpp_override) as reader:
        return _measure(reader, grid, config)


def tile_slide(
    slide_path: str | Path,
    out_path: str | Path,
    config: TilingConfig,
    *,
    mpp_override: float | None = None,
    workers: int = 1,
    metadata: dict | None = None,
    progress: Progress | None = None,
) -> TilingResult:
    """Tile one slide into `out_path` (Parquet) and its tissue mask beside it (`.mask.png`).

    Raises SlideReadError (including MppUnknownError) for a slide that cannot be tiled; a
    failure at any point leaves no file at `out_path`.
    """
    started = time.monotonic()
    out_path = Path(out_path)
    with SlideReader(slide_path, mpp_override=mpp_override) as reader:
        grid, mask, scale = plan_slide(reader, config)
        mpp, mpp_source = reader.mpp, reader.mpp_source
        if workers > 1 and len(grid) > config.batch_size * workers:
            features, quality = _measure_parallel(
                slide_path, mpp_override, grid, config, workers, progress
            )
        else:
            features, quality = _measure(reader, grid, config, progress)
    mask_path = save_mask_png(mask, out_path.with_suffix(".mask.png"))
    table = tile_table(
        grid.x,
        grid.y,
        grid.size,
        config.target_mpp,
        grid.tissue_fraction,
        features,
        FEATURE_NAMES,
        quality,
        QUALITY_COLUMNS,
    )
    tissue_area_mm2 = float(mask.sum()) * (scale * mpp / 1000.0) ** 2
    write_tile_table(
        out_path,
        table,
        {
            **(metadata or {}),
            "config": config.to_dict(),
            "config_key": config.key(),
            "slide_path": str(slide_path),
            "mpp": mpp,
            "mpp_source": mpp_source,
            "mask_scale": scale,
            "tissue_area_mm2": tissue_area_mm2,
        },
    )
    return TilingResult(
        out_path, mask_path, len(grid), tissue_area_mm2, mpp, mpp_source, time.monotonic() - started
    )


def _measure_parallel(
    slide_path,
    mpp_override,
    grid: TileGrid,
    config: TilingConfig,
    workers: int,
    progress: Progress | None,
):
    parts = split_grid(grid, workers * 4)  # more parts than workers: even out slow regions
    features, quality, done = [], [], 0
    with ProcessPoolExecutor(max_workers=workers) as pool:
        jobs = [(str(slide_path), mpp_override, part, config) for part in parts]
        for part, (f, q) in zip(parts, pool.map(_measure_chunk, jobs), strict=True):
            done += len(part)
            if f is not None:
                features.append(f)
                quality.append(q)
            if progress:
                progress(done, len(grid))
    if not features:
        return None, None
    return np.concatenate(features), np.concatenate(quality)


def _tile_one(args) -> TilingResult | Exception:
    slide_path, out_path, config, mpp_override = args
    try:
        return tile_slide(slide_path, out_path, config, mpp_override=mpp_override)
    except Exception as exc:  # noqa: BLE001 - reported per slide; the batch goes on
        return exc


def tile_slides(
    items: Iterable[tuple[str | Path, str | Path, float | None]],
    config: TilingConfig,
    *,
    workers: int = 1,
) -> Iterator[TilingResult | Exception]:
    """Tile many slides with a process pool over slides: (slide path, out path, mpp override)
    in, a result or the exception per slide out (in input order)."""
    jobs = [(slide, out, config, mpp) for slide, out, mpp in items]
    if workers <= 1:
        yield from map(_tile_one, jobs)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_tile_one, jobs)
