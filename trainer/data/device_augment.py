"""Multi-crop augmentation in two halves: random draws in the DataLoader workers, pixels on
the training device.

Per tile, DINOv2 makes 2 global and N local crops, each resized, flipped, colour-jittered,
maybe grey, blurred and normalised: about 25 times the work of reading the tile, which
DataLoader workers doing it crop by crop on the CPU cannot keep up with (docs/benchmarks.md).
So `DeviceCropCollate` (in the workers) only stacks the uint8 tiles and draws every random
choice of the batch from the step's seeded RNG: crop boxes, dihedral transforms, jitter
factors and order, grey, blur sigmas, solarization, stain donors and the iBOT masks. Then
`augment_batch` (in the training process, on the GPU when there is one) applies them to the
whole batch at once: the Reinhard transfer in LAB, all crops of all tiles in one
``roi_align`` (averaging its samples, which antialiases), the jitter of each crop as a single
3 × 3 colour matrix, a separable Gaussian blur as one grouped convolution.

The result has the shapes and order of `MultiCropCollate` (crop-major). The draws follow
torchvision and DINOv2 (RandomResizedCrop's sampling, ColorJitter's ranges and random order,
blur p 1.0 / 0.1 / 0.5); the pixels differ in details: ColorJitter's hue is a rotation of
chroma in YIQ instead of a trip through HSV, values are clamped once at the end instead of
after each jitter step, and the resize is bilinear with area averaging instead of bicubic.
A batch remains a pure function of (seed, step): resume stays exact.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torchvision.ops import roi_align

from curation.features import _D65_WHITE, _WHITE_CHROMA, _WHITE_MIN, _XYZ_FROM_RGB
from trainer.data.augmentations import (
    _STD_FLOOR,
    MultiCropConfig,
    PerSlideStats,
    dihedral,
    stain_stats,
)
from trainer.data.masking import BlockMaskGenerator

_RATIO = (3 / 4, 4 / 3)
_LUMA = (0.2989, 0.587, 0.114)  # torchvision's grayscale weights
_XYZN_FROM_LIN = torch.tensor(_XYZ_FROM_RGB / _D65_WHITE[:, None], dtype=torch.float32)
_LIN_FROM_XYZN = torch.linalg.inv(_XYZN_FROM_LIN)
_RGB_FROM_YIQ = torch.linalg.inv(
    torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
)
_YIQ_FROM_RGB = torch.linalg.inv(_RGB_FROM_YIQ)


@dataclass
class CropDraws:
    """Every random choice of one batch; K = B × (2 + N) crops, crop-major."""

    boxes: torch.Tensor  # (K, 4) float x1, y1, x2, y2 in tile pixels
    dihedral: torch.Tensor  # (K,) int64 in 0..7
    jitter: torch.Tensor  # (K,) bool
    factors: torch.Tensor  # (K, 4) brightness, contrast, saturation, hue
    order: torch.Tensor  # (K, 4) int64, a permutation of the four
    grey: torch.Tensor  # (K,) bool
    sigma: torch.Tensor  # (K,) float, 0 = no blur
    solarize: torch.Tensor  # (K,) bool


def _crop_boxes(n: int, height: int, width: int, scale, g) -> torch.Tensor:
    """RandomResizedCrop's sampling, vectorised: up to 10 tries of an area share in ``scale``
    and an aspect ratio log-uniform in 3/4..4/3 per crop, the first that fits, else the
    central crop of the largest allowed ratio; (n, 4) x1, y1, x2, y2."""
    tries = 10
    area = height * width
    shares = scale[0] + (scale[1] - scale[0]) * torch.rand(n, tries, generator=g)
    log_low, log_high = math.log(_RATIO[0]), math.log(_RATIO[1])
    ratios = torch.exp(log_low + (log_high - log_low) * torch.rand(n, tries, generator=g))
    w = torch.round(torch.sqrt(area * shares * ratios))
    h = torch.round(torch.sqrt(area * shares / ratios))
    fits = (w > 0) & (w <= width) & (h > 0) & (h <= height)
    first = torch.argmax(fits.int(), dim=1)
    ok = fits.any(dim=1)
    rows = torch.arange(n)
    w, h = w[rows, first], h[rows, first]
    # the fallback: torchvision's central crop
    in_ratio = width / height
    if in_ratio < _RATIO[0]:
        fw, fh = width, round(width / _RATIO[0])
    elif in_ratio > _RATIO[1]:
        fw, fh = round(height * _RATIO[1]), height
    else:
        fw, fh = width, height
    w = torch.where(ok, w, torch.tensor(float(fw)))
    h = torch.where(ok, h, torch.tensor(float(fh)))
    u = torch.rand(n, 2, generator=g)
    top = torch.where(
        ok, torch.floor(u[:, 0] * (height - h + 1)), torch.tensor((height - fh) // 2.0)
    )
    left = torch.where(
        ok, torch.floor(u[:, 1] * (width - w + 1)), torch.tensor((width - fw) // 2.0)
    )
    return torch.stack([left, top, left + w, top + h], dim=1)


def _draw_crops(cfg: MultiCropConfig, n_tiles: int, height: int, width: int, g) -> CropDraws:
    n_local = cfg.local_crops_number
    # crop-major: all first global crops, all second ones, then the local crops
    kinds = [(cfg.global_crops_scale, cfg.blur_p[0], True)]
    kinds.append((cfg.global_crops_scale, cfg.blur_p[1], False))
    kinds += [(cfg.local_crops_scale, cfg.blur_p[2], False)] * n_local
    boxes = [_crop_boxes(n_tiles, height, width, scale, g) for scale, _, _ in kinds]
    k = n_tiles * len(kinds)
    if cfg.rot90_flip:
        dihedrals = torch.randint(8, (k,), generator=g)
    elif cfg.horizontal_flip:
        dihedrals = (torch.rand(k, generator=g) < 0.5).long() * 4
    else:
        dihedrals = torch.zeros(k, dtype=torch.int64)
    blur_p = torch.tensor([p for _, p, _ in kinds]).repeat_interleave(n_tiles)
    low, high = cfg.blur_sigma
    sigma = low + (high - low) * torch.rand(k, generator=g)
    sigma = torch.where(torch.rand(k, generator=g) < blur_p, sigma, torch.zeros(k))
    second = torch.zeros(k, dtype=torch.bool)
    second[n_tiles : 2 * n_tiles] = True
    solarize = second & (torch.rand(k, generator=g) < cfg.solarization_p)
    if not cfg.solarization:
        solarize[:] = False
    b, c, s, h = cfg.colour_jitter
    low_f = torch.tensor([1 - b, 1 - c, 1 - s, -h])
    high_f = torch.tensor([1 + b, 1 + c, 1 + s, h])
    factors = low_f + (high_f - low_f) * torch.rand(k, 4, generator=g)
    order = torch.argsort(torch.rand(k, 4, generator=g), dim=1)
    return CropDraws(
        boxes=torch.cat(boxes),
        dihedral=dihedrals,
        jitter=torch.rand(k, generator=g) < cfg.colour_jitter_p,
        factors=factors,
        order=order,
        grey=torch.rand(k, generator=g) < cfg.grayscale_p,
        sigma=sigma,
        solarize=solarize,
    )


class DeviceCropCollate:
    """Worker side: ``[(uint8 tile, row), ...]`` → a batch of uint8 tiles and draws (see the
    module docstring); `augment_batch` turns it into crops."""

    def __init__(
        self,
        config: MultiCropConfig,
        mask_generator: BlockMaskGenerator,
        mask_probability: float = 0.5,
        stain_p: float = 0.5,
        stats: Mapping | PerSlideStats | None = None,
    ) -> None:
        self.config = config
        self.mask_generator = mask_generator
        self.mask_probability = float(mask_probability)
        self.stain_p = float(stain_p) if config.reinhard else 0.0
        self.stats = stats

    def _stain(self, tiles: np.ndarray, slide_ids: list, g) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 2, 3) source and target LAB (mean, std) per tile, and (B,) bool: transfer?
        Each tile takes, with probability p, another slide of the batch's statistics."""
        distinct = list(dict.fromkeys(slide_ids))
        by_slide = {}
        for sid in distinct:
            if self.stats is not None and sid in self.stats:
                by_slide[sid] = self.stats[sid]
            else:
                own = tiles[[i for i, s in enumerate(slide_ids) if s == sid]]
                by_slide[sid] = stain_stats(own)
        pairs = torch.zeros(len(slide_ids), 2, 2, 3, dtype=torch.float64)
        apply = torch.zeros(len(slide_ids), dtype=torch.bool)
        for i, sid in enumerate(slide_ids):
            others = [s for s in distinct if s != sid]
            if not others or float(torch.rand((), generator=g)) >= self.stain_p:
                continue
            donor = others[int(torch.randint(len(others), (), generator=g))]
            for j, stats in enumerate((by_slide[sid], by_slide[donor])):
                pairs[i, j, 0] = torch.from_numpy(stats.mean)
                pairs[i, j, 1] = torch.from_numpy(stats.std)
            apply[i] = True
        return pairs.float(), apply

    def __call__(self, samples: Sequence[tuple[np.ndarray, dict]], generator=None) -> dict:
        if not samples:
            raise ValueError("empty batch")
        tiles = np.stack([np.asarray(tile) for tile, _ in samples])
        slide_ids = [row.get("slide_id") for _, row in samples]
        g = generator
        stain, stain_apply = (
            self._stain(tiles, slide_ids, g)
            if self.stain_p > 0
            else (torch.zeros(len(samples), 2, 2, 3), torch.zeros(len(samples), dtype=torch.bool))
        )
        draws = _draw_crops(self.config, len(samples), tiles.shape[1], tiles.shape[2], g)
        rng = g if g is not None else torch.default_generator
        masks = self.mask_generator.mask_batch(
            2 * len(samples), self.mask_probability, generator=rng
        )
        return {
            "tiles": torch.from_numpy(tiles),
            "stain": stain,
            "stain_apply": stain_apply,
            "draws": draws.__dict__,
            "masks": masks.to(torch.bool),
            "slide_ids": slide_ids,
        }


# -- device side -----------------------------------------------------------------------------


def _rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) sRGB in [0, 1] → L*a*b* (D65), as `augmentations.rgb_to_lab`."""
    linear = torch.where(rgb > 0.04045, ((rgb + 0.055) / 1.055) ** 2.4, rgb / 12.92)
    xyzn = torch.einsum("ij,bjhw->bihw", _XYZN_FROM_LIN.to(rgb), linear)
    f = torch.where(xyzn > 0.008856, xyzn.clamp_min(0) ** (1 / 3), 7.787 * xyzn + 16 / 116)
    return torch.stack(
        [116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])], dim=1
    )


def _lab_to_rgb(lab: torch.Tensor) -> torch.Tensor:
    """The inverse of `_rgb_to_lab`, clipped to [0, 1]."""
    fy = (lab[:, 0] + 16) / 116
    fx = fy + lab[:, 1] / 500
    fz = (fy - lab[:, 2] / 200).clamp_min(0)
    f = torch.stack([fx, fy, fz], dim=1)
    xyzn = torch.where(f**3 > 0.008856, f**3, (f - 16 / 116) / 7.787)
    linear = torch.einsum("ij,bjhw->bihw", _LIN_FROM_XYZN.to(lab), xyzn).clamp_min(0)
    srgb = torch.where(linear > 0.0031308, 1.055 * linear ** (1 / 2.4) - 0.055, linear * 12.92)
    return srgb.clamp(0, 1)


def _reinhard(rgb: torch.Tensor, stain: torch.Tensor, apply: torch.Tensor, u8: torch.Tensor):
    """The Reinhard transfer of the chosen tiles, tissue pixels only (glass stays white)."""
    if not bool(apply.any()):
        return rgb
    idx = torch.nonzero(apply).flatten()
    sub = rgb[idx]
    lab = _rgb_to_lab(sub)
    source, target = stain[idx, 0], stain[idx, 1]  # (n, 2, 3): mean, std
    scale = target[:, 1] / source[:, 1].clamp_min(_STD_FLOOR)
    shift = target[:, 0] - source[:, 0] * scale
    moved = _lab_to_rgb(lab * scale[:, :, None, None] + shift[:, :, None, None])
    # rounded to uint8 levels as the CPU transfer does
    moved = torch.round(moved * 255) / 255
    tiles = u8[idx]
    white = (tiles.amin(dim=1) >= _WHITE_MIN) & (
        tiles.amax(dim=1) - tiles.amin(dim=1) <= _WHITE_CHROMA
    )
    out = rgb.clone()
    out[idx] = torch.where(white[:, None], sub, moved)
    return out


def _colour_matrices(x: torch.Tensor, factors: torch.Tensor, order: torch.Tensor):
    """(K, 3, 3) A and (K, 3) t with x' = A x + t: brightness, contrast, saturation and hue
    composed in each crop's order (contrast around the grey mean of the image so far)."""
    k = x.shape[0]
    eye = torch.eye(3, device=x.device).expand(k, 3, 3)
    luma = torch.tensor(_LUMA, device=x.device)
    grey_rows = luma.expand(3, 3)  # every output channel = luma · rgb
    mean_rgb = x.mean(dim=(2, 3))  # (K, 3)
    a = eye.clone()
    t = torch.zeros(k, 3, device=x.device)
    b, c, s, h = factors.unbind(1)
    angle = h * 2 * math.pi
    cos, sin = torch.cos(angle), torch.sin(angle)
    rot = torch.zeros(k, 3, 3, device=x.device)
    rot[:, 0, 0] = 1
    rot[:, 1, 1], rot[:, 1, 2], rot[:, 2, 1], rot[:, 2, 2] = cos, -sin, sin, cos
    hue = _RGB_FROM_YIQ.to(x) @ rot @ _YIQ_FROM_RGB.to(x)
    saturation = s[:, None, None] * eye + (1 - s)[:, None, None] * grey_rows
    brightness = b[:, None, None] * eye
    for position in range(4):
        op = order[:, position]
        current_mean = (a @ mean_rgb[:, :, None]).squeeze(-1) + t
        grey_mean = current_mean @ luma  # (K,)
        contrast = c[:, None, None] * eye
        contrast_t = ((1 - c) * grey_mean)[:, None].expand(k, 3)
        step_a = torch.where(
            (op == 0)[:, None, None],
            brightness,
            torch.where(
                (op == 1)[:, None, None],
                contrast,
                torch.where((op == 2)[:, None, None], saturation, hue),
            ),
        )
        step_t = torch.where((op == 1)[:, None], contrast_t, torch.zeros_like(t))
        a, t = step_a @ a, (step_a @ t[:, :, None]).squeeze(-1) + step_t
    return a, t


def _blur(x: torch.Tensor, sigma: torch.Tensor, kernel_size: int) -> torch.Tensor:
    """A separable Gaussian blur with one sigma per image (0: none), as one grouped conv."""
    if not bool((sigma > 0).any()):
        return x
    k, channels, height, width = x.shape
    half = kernel_size // 2
    offsets = torch.arange(-half, half + 1, device=x.device, dtype=x.dtype)
    safe = sigma.clamp_min(1e-3)[:, None]
    kernel = torch.exp(-(offsets[None] ** 2) / (2 * safe**2))
    kernel = kernel / kernel.sum(dim=1, keepdim=True)
    identity = (offsets == 0).to(x.dtype).expand(k, -1)
    kernel = torch.where((sigma > 0)[:, None], kernel, identity)
    weights = kernel.repeat_interleave(channels, dim=0)  # (K·C, ks)
    flat = x.reshape(1, k * channels, height, width)
    flat = F.pad(flat, (half, half, half, half), mode="reflect")
    flat = F.conv2d(flat, weights[:, None, None, :], groups=k * channels)
    flat = F.conv2d(flat, weights[:, None, :, None], groups=k * channels)
    return flat.reshape(k, channels, height, width)


def _finish(crops: torch.Tensor, draws: dict, cfg: MultiCropConfig) -> torch.Tensor:
    for k in range(1, 8):
        where = torch.nonzero(draws["dihedral"] == k).flatten()
        if len(where):
            crops[where] = dihedral(crops[where], k)
    jitter = draws["jitter"]
    if bool(jitter.any()):
        idx = torch.nonzero(jitter).flatten()
        a, t = _colour_matrices(crops[idx], draws["factors"][idx], draws["order"][idx])
        crops[idx] = (torch.einsum("kij,kjhw->kihw", a, crops[idx]) + t[:, :, None, None]).clamp(
            0, 1
        )
    grey = draws["grey"]
    if bool(grey.any()):
        idx = torch.nonzero(grey).flatten()
        luma = torch.tensor(_LUMA, device=crops.device, dtype=crops.dtype)
        crops[idx] = torch.einsum("c,kchw->khw", luma, crops[idx])[:, None].expand(-1, 3, -1, -1)
    crops = _blur(crops, draws["sigma"], cfg.blur_kernel_size)
    solar = draws["solarize"]
    if bool(solar.any()):
        idx = torch.nonzero(solar).flatten()
        crops[idx] = torch.where(crops[idx] >= 128 / 255, 1 - crops[idx], crops[idx])
    if cfg.normalize:
        mean = torch.tensor(cfg.mean, device=crops.device, dtype=crops.dtype).view(1, 3, 1, 1)
        std = torch.tensor(cfg.std, device=crops.device, dtype=crops.dtype).view(1, 3, 1, 1)
        crops = (crops - mean) / std
    return crops


@torch.no_grad()
def augment_batch(batch: dict, cfg: MultiCropConfig, device: torch.device | str) -> dict:
    """A `DeviceCropCollate` batch → ``{"global", "local", "masks", "slide_ids"}`` on
    ``device``, as `MultiCropCollate` would give (crop-major)."""
    u8 = batch["tiles"].to(device, non_blocking=True).permute(0, 3, 1, 2)
    rgb = u8.float() / 255
    if cfg.reinhard:
        rgb = _reinhard(rgb, batch["stain"].to(device), batch["stain_apply"].to(device), u8)
    draws = {k: v.to(device) for k, v in batch["draws"].items()}
    n = u8.shape[0]
    n_global = 2 * n
    rois = torch.cat(
        [torch.arange(n, device=device).repeat(len(draws["boxes"]) // n)[:, None].float(),
         draws["boxes"]],
        dim=1,
    )  # fmt: skip
    size_g, size_l = cfg.global_crops_size, cfg.local_crops_size
    global_crops = roi_align(rgb, rois[:n_global], (size_g, size_g), aligned=True)
    global_crops = _finish(global_crops, {k: v[:n_global] for k, v in draws.items()}, cfg)
    if len(rois) > n_global:
        local_crops = roi_align(rgb, rois[n_global:], (size_l, size_l), aligned=True)
        local_crops = _finish(local_crops, {k: v[n_global:] for k, v in draws.items()}, cfg)
    else:
        local_crops = rgb.new_zeros(0, 3, size_l, size_l)
    return {
        "global": global_crops,
        "local": local_crops,
        "masks": batch["masks"],
        "slide_ids": batch["slide_ids"],
    }
