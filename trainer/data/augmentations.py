"""Pathology augmentations and DINOv2 multi-crop.

- Reinhard colour transfer (Reinhard et al. 2001) in CIE L*a*b*: every tissue pixel of a tile is
  moved per channel as ``(x - mu_src) / sigma_src * sigma_tgt + mu_tgt``, so the tile takes the
  stain statistics of another slide; background (near-white glass) is left as it is.
  Statistics are computed over tissue pixels only. A pixel counts as background when it is
  near-white glass by the same rule as the curation quality signals
  (``curation.features``): every channel >= 200 and max - min channel <= 25.
- ``BatchStainTransfer``: in a batch of tiles with slide ids, each tile takes, with
  probability p, the statistics of another slide of the batch (the RudolfV recipe).
- ``PerSlideStats``: per-slide statistics precomputed from a few tiles per slide (JSON).
- ``random_rot90_flip``: one of the 8 dihedral transforms (90° rotations and flips), uniformly.
- ``MultiCropConfig`` / ``MultiCropAugmentation``: DINOv2's 2 global + N local crops with colour
  jitter, grayscale, Gaussian blur (solarization off by default), built from
  ``torchvision.transforms.v2``, plus the two pathology switches (``reinhard``, ``rot90_flip``).

The RGB -> LAB conversion is the vectorised float32 one of ``curation.features`` (verified
against scikit-image); LAB -> RGB is its inverse, written the same way as
``skimage.color.lab2rgb``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torchvision.transforms import InterpolationMode, v2

from curation.features import (
    _D65_WHITE,
    _WHITE_CHROMA,
    _WHITE_MIN,
    _XYZ_FROM_RGB,
    _as_batch,
    _lab,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "BatchStainTransfer",
    "MultiCropAugmentation",
    "MultiCropConfig",
    "PerSlideStats",
    "StainStats",
    "dihedral",
    "invert_dihedral",
    "lab_to_rgb",
    "reinhard_transfer",
    "random_rot90_flip",
    "rgb_to_lab",
    "stain_stats",
    "tissue_mask",
]

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

_STD_FLOOR = 1e-3  # a flat source channel is not blown up by a division by ~0
# _XYZ_FROM_RGB / _D65_WHITE[:, None] maps linear RGB to (X/Xn, Y/Yn, Z/Zn); its inverse:
_RGB_FROM_XYZN = np.linalg.inv(_XYZ_FROM_RGB / _D65_WHITE[:, None]).astype(np.float32)


# --- colour conversions ---------------------------------------------------------------------


def tissue_mask(tiles: np.ndarray) -> np.ndarray:
    """Boolean mask (same leading shape as `tiles`, without the channel axis) of pixels that
    are not near-white glass: background is every channel >= 200 and max - min <= 25."""
    tiles = np.asarray(tiles)
    mx = tiles.max(axis=-1)
    mn = tiles.min(axis=-1)
    white = (mn >= _WHITE_MIN) & ((mx - mn) <= _WHITE_CHROMA)
    return ~white


def rgb_to_lab(pixels: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 RGB → (..., 3) float32 CIE L*a*b* (D65), as ``skimage.color.rgb2lab``."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.shape[-1] != 3:
        raise TypeError(f"expected uint8 (..., 3) RGB, got {pixels.dtype} {pixels.shape}")
    shape = pixels.shape
    planes = np.ascontiguousarray(pixels.reshape(-1, 3).T)[:, None, :]  # (3, 1, P)
    out = np.empty(planes.shape, dtype=np.float32)
    scratch = np.empty(planes.shape, dtype=np.float32)
    _lab(planes, out, scratch)
    return out[:, 0, :].T.reshape(shape)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """(..., 3) float L*a*b* → (..., 3) uint8 RGB (rounded, out-of-gamut values clipped), the
    inverse of `rgb_to_lab` as ``skimage.color.lab2rgb``."""
    lab = np.asarray(lab, dtype=np.float32)
    shape = lab.shape
    flat = lab.reshape(-1, 3)
    fy = (flat[:, 0] + np.float32(16.0)) / np.float32(116.0)
    fx = fy + flat[:, 1] / np.float32(500.0)
    fz = fy - flat[:, 2] / np.float32(200.0)
    f = np.stack([fx, fy, np.maximum(fz, 0)])  # skimage clips negative z to 0
    cube = f**3
    xyzn = np.where(cube > 0.008856, cube, (f - np.float32(16.0 / 116.0)) / np.float32(7.787))
    linear = _RGB_FROM_XYZN @ xyzn.astype(np.float32)
    np.clip(linear, 0.0, None, out=linear)  # before the power, as skimage (its 0 clip)
    srgb = np.where(
        linear > 0.0031308,
        np.float32(1.055) * np.power(linear, np.float32(1 / 2.4)) - np.float32(0.055),
        linear * np.float32(12.92),
    )
    out = np.clip(np.rint(srgb * 255.0), 0, 255).astype(np.uint8)
    return out.T.reshape(shape)


# --- stain statistics and Reinhard transfer -------------------------------------------------


@dataclass(frozen=True)
class StainStats:
    """Per-channel mean and standard deviation in L*a*b* (L in [0, 100])."""

    mean: np.ndarray
    std: np.ndarray

    def __post_init__(self) -> None:
        mean = np.asarray(self.mean, dtype=np.float64).reshape(3)
        std = np.asarray(self.std, dtype=np.float64).reshape(3)
        if not (np.isfinite(mean).all() and np.isfinite(std).all()) or (std < 0).any():
            raise ValueError(f"bad stain statistics: mean {mean}, std {std}")
        object.__setattr__(self, "mean", mean)
        object.__setattr__(self, "std", std)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StainStats):
            return NotImplemented
        return bool(np.array_equal(self.mean, other.mean) and np.array_equal(self.std, other.std))

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: Mapping) -> StainStats:
        return cls(mean=data["mean"], std=data["std"])


def stain_stats(tiles: np.ndarray, *, tissue_only: bool = True) -> StainStats:
    """LAB mean/std of one (H, W, 3) or several (N, H, W, 3) uint8 RGB tiles, pooled over
    their pixels. With `tissue_only` near-white glass is left out (see `tissue_mask`); a tile
    with no tissue pixel at all falls back to all its pixels."""
    batch = _as_batch(tiles)
    pixels = batch.reshape(-1, 3)
    if tissue_only:
        mask = tissue_mask(pixels)
        if mask.any():
            pixels = pixels[mask]
    lab = rgb_to_lab(pixels).astype(np.float64)
    return StainStats(mean=lab.mean(axis=0), std=lab.std(axis=0))


def reinhard_transfer(
    tile: np.ndarray,
    source: StainStats | None,
    target: StainStats,
    *,
    tissue_only: bool = True,
) -> np.ndarray:
    """`tile` (H, W, 3) uint8 with its LAB statistics moved from `source` (None: the tile's
    own, `stain_stats(tile)`) to `target`: per channel ``(x - mu_s) / sigma_s * sigma_t +
    mu_t``, then back to RGB (rounded, clipped). With `tissue_only` background pixels
    (near-white glass) keep their values, so glass stays white."""
    tile = np.asarray(tile)
    if tile.dtype != np.uint8 or tile.ndim != 3 or tile.shape[-1] != 3:
        raise ValueError(f"tile must be (H, W, 3) uint8, got {tile.dtype} {tile.shape}")
    if source is None:
        source = stain_stats(tile, tissue_only=tissue_only)
    flat = tile.reshape(-1, 3)
    if tissue_only:
        index = np.flatnonzero(tissue_mask(flat))
        if index.size == 0:
            return tile.copy()
        pixels = flat[index]
    else:
        index = None
        pixels = flat
    lab = rgb_to_lab(pixels)
    scale = (target.std / np.maximum(source.std, _STD_FLOOR)).astype(np.float32)
    shift = (target.mean - source.mean * scale).astype(np.float32)
    lab *= scale
    lab += shift
    moved = lab_to_rgb(lab)
    out = flat.copy()
    if index is None:
        out[:] = moved
    else:
        out[index] = moved
    return out.reshape(tile.shape)


class BatchStainTransfer:
    """For a batch of tiles with their slide ids, each tile takes with probability `p` the
    stain statistics of another slide of the batch (chosen uniformly among the other distinct
    slides; a batch from a single slide is left as it is).

    The tile's source statistics are its own slide's (``source="slide"``: slide-level stain is
    swapped, tile-level variation kept) or the tile's own (``source="tile"``). Slide
    statistics come from `stats` (e.g. a `PerSlideStats`) where it has the slide, else from the
    batch's tiles of that slide."""

    def __init__(self, p: float = 0.5, *, source: str = "slide", tissue_only: bool = True):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be in [0, 1], got {p}")
        if source not in ("slide", "tile"):
            raise ValueError(f"source must be 'slide' or 'tile', got {source!r}")
        self.p = float(p)
        self.source = source
        self.tissue_only = tissue_only

    def __call__(
        self,
        tiles: Sequence[np.ndarray] | np.ndarray,
        slide_ids: Sequence,
        *,
        generator: torch.Generator | None = None,
        stats: Mapping | PerSlideStats | None = None,
    ) -> tuple[list[np.ndarray], list]:
        """(transformed tiles, donors): donors[i] is the slide id whose statistics tile i
        took, or None where it was left as it is."""
        tiles = list(tiles)
        slide_ids = list(slide_ids)
        if len(tiles) != len(slide_ids):
            raise ValueError(f"{len(tiles)} tiles but {len(slide_ids)} slide ids")
        distinct = list(dict.fromkeys(slide_ids))
        slide_stats: dict = {}
        for sid in distinct:
            if stats is not None and sid in stats:
                slide_stats[sid] = stats[sid]
            else:
                own = np.stack([t for t, s in zip(tiles, slide_ids, strict=True) if s == sid])
                slide_stats[sid] = stain_stats(own, tissue_only=self.tissue_only)
        out: list[np.ndarray] = []
        donors: list = []
        for tile, sid in zip(tiles, slide_ids, strict=True):
            others = [s for s in distinct if s != sid]
            draw = torch.rand((), generator=generator).item()
            if not others or draw >= self.p:
                out.append(tile)
                donors.append(None)
                continue
            donor = others[int(torch.randint(len(others), (), generator=generator))]
            source = slide_stats[sid] if self.source == "slide" else None
            out.append(
                reinhard_transfer(tile, source, slide_stats[donor], tissue_only=self.tissue_only)
            )
            donors.append(donor)
        return out, donors


class PerSlideStats(Mapping):
    """slide id → `StainStats`, precomputed from a few tiles of each slide; keys are kept as
    strings (as in JSON), and lookups accept any id whose ``str`` matches."""

    def __init__(self, stats: Mapping | None = None) -> None:
        self._stats: dict[str, StainStats] = {}
        for key, value in (stats or {}).items():
            self[key] = value

    def __setitem__(self, slide_id, value: StainStats) -> None:
        if not isinstance(value, StainStats):
            value = StainStats.from_dict(value)
        self._stats[str(slide_id)] = value

    def __getitem__(self, slide_id) -> StainStats:
        return self._stats[str(slide_id)]

    def __contains__(self, slide_id) -> bool:
        return str(slide_id) in self._stats

    def __iter__(self) -> Iterator[str]:
        return iter(self._stats)

    def __len__(self) -> int:
        return len(self._stats)

    def add_tiles(self, slide_id, tiles: np.ndarray, *, tissue_only: bool = True) -> StainStats:
        """Statistics of `slide_id` pooled over `tiles` ((N, H, W, 3) uint8)."""
        value = stain_stats(np.asarray(tiles), tissue_only=tissue_only)
        self[slide_id] = value
        return value

    def add_slide(
        self,
        slide_id,
        path: str | Path,
        coords: Iterable[tuple[int, int]],
        *,
        tile_size: int,
        target_mpp: float,
        mpp_override: float | None = None,
    ) -> StainStats:
        """Statistics of `slide_id` from the tiles at level-0 `coords` of the slide at `path`
        (read with ``curation.slide_reader.SlideReader``)."""
        from curation.slide_reader import SlideReader

        with SlideReader(path, mpp_override=mpp_override) as reader:
            tiles = np.stack([reader.read(x, y, tile_size, target_mpp) for x, y in coords])
        return self.add_tiles(slide_id, tiles)

    @classmethod
    def from_tiles(cls, tiles_by_slide: Mapping, *, tissue_only: bool = True) -> PerSlideStats:
        result = cls()
        for slide_id, tiles in tiles_by_slide.items():
            result.add_tiles(slide_id, tiles, tissue_only=tissue_only)
        return result

    def to_json(self) -> str:
        return json.dumps({k: v.to_dict() for k, v in self._stats.items()}, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> PerSlideStats:
        return cls(json.loads(text))

    def save(self, path: str | Path) -> None:
        Path(path).write_text(self.to_json())

    @classmethod
    def load(cls, path: str | Path) -> PerSlideStats:
        return cls.from_json(Path(path).read_text())


# --- 90° rotations and flips ----------------------------------------------------------------


def _rot(tile, k: int, hw_axes: tuple[int, int]):
    if isinstance(tile, torch.Tensor):
        return torch.rot90(tile, k, dims=hw_axes)
    return np.rot90(tile, k, axes=hw_axes)


def _flip_w(tile, w_axis: int):
    if isinstance(tile, torch.Tensor):
        return torch.flip(tile, dims=(w_axis,))
    return np.flip(tile, axis=w_axis)


def _axes(tile) -> tuple[int, int]:
    """Height and width axes: (H, W, 3) numpy tiles are channel-last, torch tensors are
    (..., H, W)."""
    if isinstance(tile, torch.Tensor):
        return (tile.ndim - 2, tile.ndim - 1)
    return (0, 1)


def dihedral(tile, k: int):
    """The k-th of the 8 dihedral transforms (k in 0..7): k % 4 quarter turns, preceded by a
    horizontal flip when k >= 4. Numpy (H, W, C) or torch (..., H, W); a contiguous copy."""
    if not 0 <= int(k) < 8:
        raise ValueError(f"k must be in 0..7, got {k}")
    h, w = _axes(tile)
    if k >= 4:
        tile = _flip_w(tile, w)
    tile = _rot(tile, int(k) % 4, (h, w))
    return tile.contiguous() if isinstance(tile, torch.Tensor) else np.ascontiguousarray(tile)


def invert_dihedral(tile, k: int):
    """The inverse of `dihedral(·, k)`."""
    h, w = _axes(tile)
    tile = _rot(tile, -(int(k) % 4), (h, w))
    if k >= 4:
        tile = _flip_w(tile, w)
    return tile.contiguous() if isinstance(tile, torch.Tensor) else np.ascontiguousarray(tile)


def random_rot90_flip(tile, generator: torch.Generator | None = None):
    """`tile` under one of the 8 dihedral transforms, drawn uniformly with `generator` (the
    global torch RNG when None)."""
    k = int(torch.randint(8, (), generator=generator))
    return dihedral(tile, k)


class RandomRot90Flip(torch.nn.Module):
    """`random_rot90_flip` as a transform on (..., H, W) tensors (global torch RNG)."""

    def forward(self, tile: torch.Tensor) -> torch.Tensor:
        return random_rot90_flip(tile)


# --- DINOv2 multi-crop ----------------------------------------------------------------------


@dataclass
class MultiCropConfig:
    """DINOv2 defaults (dinov2/data/augmentations.py), plus the pathology switches."""

    global_crops_size: int = 224
    global_crops_scale: tuple[float, float] = (0.32, 1.0)
    local_crops_number: int = 8
    local_crops_size: int = 96
    local_crops_scale: tuple[float, float] = (0.05, 0.32)
    colour_jitter: tuple[float, float, float, float] = (0.4, 0.4, 0.2, 0.1)
    colour_jitter_p: float = 0.8
    grayscale_p: float = 0.2
    # Gaussian blur probability for the first global crop, the second, and the local crops.
    blur_p: tuple[float, float, float] = (1.0, 0.1, 0.5)
    blur_kernel_size: int = 9
    blur_sigma: tuple[float, float] = (0.1, 2.0)
    solarization: bool = False
    solarization_p: float = 0.2  # on the second global crop, when enabled (as DINOv2)
    reinhard: bool = True
    rot90_flip: bool = True
    horizontal_flip: bool = True  # DINOv2's flip; only used when rot90_flip is off
    normalize: bool = True
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def to_dict(self) -> dict:
        return asdict(self)


class MultiCropAugmentation:
    """Callable on a uint8 (H, W, 3) tile (with optional target `StainStats` for the Reinhard
    transfer) → ``{"global_crops": [2 × (3, G, G)], "local_crops": [N × (3, L, L)]}`` float32
    tensors, normalised with the ImageNet mean/std. Randomness from the global torch RNG, so
    ``torch.manual_seed`` makes it deterministic."""

    def __init__(self, config: MultiCropConfig | None = None) -> None:
        self.config = cfg = config or MultiCropConfig()
        flip: list = []
        if cfg.rot90_flip:
            flip = [RandomRot90Flip()]
        elif cfg.horizontal_flip:
            flip = [v2.RandomHorizontalFlip(p=0.5)]

        def geometric(size: int, scale: tuple[float, float]) -> list:
            crop = v2.RandomResizedCrop(
                size,
                scale=tuple(scale),
                interpolation=InterpolationMode.BICUBIC,
                antialias=True,
            )
            return [crop, *flip]

        colour: list = []
        if cfg.colour_jitter_p > 0:
            colour.append(
                v2.RandomApply([v2.ColorJitter(*cfg.colour_jitter)], p=cfg.colour_jitter_p)
            )
        if cfg.grayscale_p > 0:
            colour.append(v2.RandomGrayscale(p=cfg.grayscale_p))

        def blur(p: float) -> list:
            if p <= 0:
                return []
            kernel = v2.GaussianBlur(cfg.blur_kernel_size, sigma=tuple(cfg.blur_sigma))
            return [v2.RandomApply([kernel], p=p)]

        finish: list = [v2.ToDtype(torch.float32, scale=True)]
        if cfg.normalize:
            finish.append(v2.Normalize(mean=list(cfg.mean), std=list(cfg.std)))

        solarize: list = []
        if cfg.solarization and cfg.solarization_p > 0:
            solarize = [v2.RandomSolarize(threshold=128, p=cfg.solarization_p)]

        g, gs = cfg.global_crops_size, cfg.global_crops_scale
        self.global1 = v2.Compose([*geometric(g, gs), *colour, *blur(cfg.blur_p[0]), *finish])
        self.global2 = v2.Compose(
            [*geometric(g, gs), *colour, *blur(cfg.blur_p[1]), *solarize, *finish]
        )
        self.local = v2.Compose(
            [
                *geometric(cfg.local_crops_size, cfg.local_crops_scale),
                *colour,
                *blur(cfg.blur_p[2]),
                *finish,
            ]
        )

    def __call__(
        self,
        tile: np.ndarray,
        target: StainStats | None = None,
        *,
        source: StainStats | None = None,
    ) -> dict[str, list[torch.Tensor]]:
        tile = np.asarray(tile)
        if self.config.reinhard and target is not None:
            tile = reinhard_transfer(tile, source, target)
        image = torch.from_numpy(np.ascontiguousarray(tile)).permute(2, 0, 1).contiguous()
        return {
            "global_crops": [self.global1(image), self.global2(image)],
            "local_crops": [self.local(image) for _ in range(self.config.local_crops_number)],
        }
