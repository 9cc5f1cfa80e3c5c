"""Tissue detection on a low-resolution slide image (an overview of a few µm per pixel).

The default is deliberately classical and robust rather than learned: Otsu thresholds
on saturation and greyscale (clamped so that a slide that is all tissue, or all glass,
still gets sensible thresholds), minus black borders and marker ink, then
morphological clean-up, hole filling and a minimum area. Sizes are given in µm and
converted with the image's µm/px, so the same parameters work at any overview scale.

This module is a pure library: no Django, no network.
"""

from __future__ import annotations

import contextlib
import functools
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from skimage import filters, morphology

__all__ = [
    "TissueParams",
    "classify_tile",
    "detect_tissue",
    "load_mask_png",
    "pen_mask",
    "save_mask_png",
]

# classify_tile: fraction of a tile's pixels that makes it "tissue" / "pen".
_TILE_MIN_TISSUE = 0.10
_TILE_MIN_PEN = 0.05


@dataclass(frozen=True)
class TissueParams:
    """Parameters of :func:`detect_tissue`; the defaults suit H&E and IHC (DAB) slides.

    Intensities are 0-255 grey levels (luminance), saturations 0-1 (HSV), sizes in µm.
    """

    # Grey level above which a pixel is glass, whatever else says (glass scans ~230-250).
    white_threshold: float = 235.0
    # Pixels within this many grey levels of the glass (its histogram peak) are glass:
    # covers glass noise and uneven illumination, not pale tissue (~15+ levels darker).
    glass_margin: float = 12.0
    # Lowest grey threshold Otsu may pick: on an image that is nearly all tissue Otsu
    # would split the tissue itself into two classes and drop its paler half.
    grey_threshold_floor: float = 190.0
    # Saturation threshold: Otsu's value clamped to [min_saturation, max_saturation]. The
    # floor keeps glass noise and grey dust out; the ceiling keeps pale tissue in when a
    # slide is mostly strongly stained.
    min_saturation: float = 0.05
    max_saturation: float = 0.15
    # Black borders, slide edges and black ink: darker than this and nearly neutral.
    dark_threshold: float = 60.0
    dark_max_saturation: float = 0.35
    # Width (µm) of the rim removed around dark areas and pen strokes, whose blurred
    # edges blend with glass into tissue-like colours.
    dark_margin_um: float = 24.0
    pen_margin_um: float = 24.0
    # Whether marker ink (see pen_mask) is excluded from tissue.
    pen_detection: bool = True
    # Ink and dark pieces smaller than this are ignored: single dark or saturated pixels
    # occur inside tissue (blood, dense nuclei), while marker strokes and borders are
    # hundreds of µm wide and long.
    artefact_min_area_um2: float = 5_000.0
    # Opening removes specks and thin lines narrower than ~2 radii; closing then joins
    # fragments of one section separated by less than ~2 radii.
    opening_radius_um: float = 8.0
    closing_radius_um: float = 24.0
    # Holes (lumens, tears, white fat) inside tissue up to this area are filled;
    # fill_holes=False keeps them. None fills every enclosed hole.
    fill_holes: bool = True
    max_hole_um2: float | None = 250_000.0
    # Connected tissue pieces smaller than this are dropped (0.02 mm² ~ a 140 µm square).
    min_area_um2: float = 20_000.0


def _channels(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(grey 0-255, saturation 0-1, hue degrees 0-360, value 0-255) as float32 arrays.

    float32 and no intermediate (H, W, 3) float copy: memory stays ~5 × H × W × 4 bytes.
    """
    rgb = _as_rgb(rgb)
    r, g, b = (rgb[..., i].astype(np.float32) for i in range(3))
    grey = 0.299 * r + 0.587 * g + 0.114 * b
    mx = np.maximum(np.maximum(r, g), b)
    mn = np.minimum(np.minimum(r, g), b)
    delta = mx - mn
    sat = np.where(mx > 0, delta / np.maximum(mx, 1.0), 0.0).astype(np.float32)
    safe = np.maximum(delta, 1e-6)
    hue = np.where(
        mx == r,
        ((g - b) / safe) % 6.0,
        np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    hue = np.where(delta > 0, hue * 60.0, 0.0).astype(np.float32)
    return grey, sat, hue, mx


def _as_rgb(rgb: np.ndarray) -> np.ndarray:
    array = np.asarray(rgb)
    if array.ndim != 3 or array.shape[2] not in (3, 4):
        raise ValueError(f"expected an (H, W, 3) RGB image, got shape {array.shape}")
    if array.dtype != np.uint8:
        raise ValueError(f"expected uint8 pixels, got {array.dtype}")
    return array[..., :3]


def _pen_from_channels(sat: np.ndarray, hue: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Marker ink from HSV: colours that stains do not produce.

    H&E is pink to purple (hue ~270-335°), DAB brown (~15-40°), haematoxylin in IHC a
    weak blue. Green/cyan ink has hues no stain has; blue ink is bluer and far more
    saturated than haematoxylin; red ink is a saturated scarlet beyond eosin's pink; black
    ink is dark and nearly neutral (also what black borders look like).
    """
    green = (hue >= 70) & (hue < 195) & (sat >= 0.12)
    blue = (hue >= 195) & (hue < 245) & (sat >= 0.35)
    red = ((hue >= 345) | (hue < 12)) & (sat >= 0.5) & (value >= 90)
    # Thick red ink turns a dark saturated magenta, but so does dense epidermis and
    # keratin in H&E: that shade is left to tissue (a stroke's scarlet part still shows).
    black = (value < 70) & (sat < 0.5)
    return green | blue | red | black


def pen_mask(rgb: np.ndarray) -> np.ndarray:
    """Bool (H, W) mask of marker ink: green, blue, red and black(-ish) strokes.

    Pixel-wise and resolution-independent; no dilation (``detect_tissue`` widens it by
    ``pen_margin_um``). Dense haematoxylin nuclei and red blood cells can trigger single
    pixels; judge pen by area, as :func:`classify_tile` does.
    """
    _, sat, hue, value = _channels(rgb)
    return _pen_from_channels(sat, hue, value)


def _radius_px(radius_um: float, um_per_px: float) -> int:
    return int(round(radius_um / um_per_px)) if radius_um > 0 else 0


@functools.cache
def _disk(radius: int) -> tuple:
    """A disk footprint decomposed into a sequence of small ones: the cost of a
    dilation then grows with the radius, not its square (4× faster than a distance
    transform at the radii used here)."""
    return morphology.disk(radius, decomposition="sequence")


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius < 1 or not mask.any():
        return mask
    return morphology.dilation(mask, _disk(radius))


def _large(mask: np.ndarray, min_px: int) -> np.ndarray:
    """``mask`` without connected pieces smaller than ``min_px`` pixels."""
    return morphology.remove_small_objects(mask, max_size=min_px - 1) if min_px > 1 else mask


def _dark(grey: np.ndarray, sat: np.ndarray, p: TissueParams) -> np.ndarray:
    """Black borders, slide edges and black ink: dark and nearly neutral."""
    return (grey < p.dark_threshold) & (sat < p.dark_max_saturation)


def _clamped_otsu(values: np.ndarray, low: float, high: float) -> float:
    """Otsu's threshold of ``values`` clipped to [low, high] (high when they are constant)."""
    if values.size == 0 or float(values.min()) == float(values.max()):
        return high
    return float(np.clip(filters.threshold_otsu(values), low, high))


def _glass_level(grey: np.ndarray) -> float:
    """The grey level of bare glass: the most common level above 180 (255 if none).

    Glass fills most of a slide and is its brightest large class, so its histogram peak
    is a robust estimate even with tinted glass or a dim scan.
    """
    bright = grey[grey > 180].astype(np.int32)
    if bright.size == 0:
        return 255.0
    counts = np.bincount(bright, minlength=256)
    # A 5-level moving sum: glass noise spreads the peak over a few neighbouring levels.
    smooth = np.convolve(counts, np.ones(5), mode="same")
    return float(np.argmax(smooth))


def _foreground(grey: np.ndarray, sat: np.ndarray, p: TissueParams) -> np.ndarray:
    """Stained pixels: saturated enough, or darker than the glass.

    Saturation: Otsu clamped to [min_saturation, max_saturation]. Grey: Otsu often falls
    between dark stain and everything else (pale haematoxylin, fat, loose stroma), so the
    threshold is at least ``glass level - glass_margin``, clamped to
    [grey_threshold_floor, white_threshold]. Otsu runs on a subsample (every 4th pixel in
    each direction) of pixels neither white nor black, so large glass areas and black
    borders do not drag it.
    """
    sample = (slice(None, None, 4), slice(None, None, 4))
    grey_s, sat_s = grey[sample], sat[sample]
    keep = (grey_s > p.dark_threshold) & (grey_s < 254)
    sat_t = _clamped_otsu(sat_s[keep], p.min_saturation, p.max_saturation)
    grey_otsu = _clamped_otsu(grey_s[keep], 0.0, 255.0)
    grey_t = max(grey_otsu, _glass_level(grey_s) - p.glass_margin)
    grey_t = float(np.clip(grey_t, p.grey_threshold_floor, p.white_threshold))
    return (sat >= sat_t) | (grey <= grey_t)


def detect_tissue(
    rgb: np.ndarray, *, um_per_px: float, params: TissueParams = TissueParams()
) -> np.ndarray:
    """Bool (H, W) tissue mask of a low-resolution RGB image at ``um_per_px``.

    Steps: foreground by clamped Otsu thresholds on saturation and greyscale; remove
    dark neutral areas (black borders, black ink) and, if ``params.pen_detection``,
    coloured ink, each widened by its margin; opening, closing; hole filling; removal of
    pieces below ``min_area_um2``. Excluded areas are excluded again after closing and
    filling, so they never come back. Raises ValueError for a bad image or scale.
    """
    if not (um_per_px > 0 and np.isfinite(um_per_px)):
        raise ValueError(f"um_per_px must be a positive number, got {um_per_px!r}")
    grey, sat, hue, value = _channels(rgb)
    p = params
    mask = _foreground(grey, sat, p)
    artefact_px = int(p.artefact_min_area_um2 / (um_per_px * um_per_px))
    dark = _large(_dark(grey, sat, p), artefact_px)
    excluded = _dilate(dark, _radius_px(p.dark_margin_um, um_per_px))
    if p.pen_detection:
        pen = _large(_pen_from_channels(sat, hue, value), artefact_px)
        excluded |= _dilate(pen, _radius_px(p.pen_margin_um, um_per_px))
    del grey, sat, hue, value
    mask &= ~excluded
    return _clean(mask, excluded, um_per_px, p)


def _clean(mask: np.ndarray, excluded: np.ndarray, um_per_px: float, p: TissueParams) -> np.ndarray:
    """Morphological clean-up of a raw foreground mask (see :func:`detect_tissue`)."""
    opening = _radius_px(p.opening_radius_um, um_per_px)
    if opening >= 1:
        mask = morphology.opening(mask, _disk(opening))
    closing = _radius_px(p.closing_radius_um, um_per_px)
    if closing >= 1:
        mask = morphology.closing(mask, _disk(closing))
    px_area = um_per_px * um_per_px
    if p.fill_holes:
        if p.max_hole_um2 is None:
            from scipy import ndimage

            mask = ndimage.binary_fill_holes(mask)
        else:
            mask = morphology.remove_small_holes(
                mask, max_size=max(1, int(p.max_hole_um2 / px_area))
            )
    mask &= ~excluded
    min_px = int(p.min_area_um2 / px_area)
    if min_px > 1:
        mask = morphology.remove_small_objects(mask, max_size=min_px - 1)
    return np.asarray(mask, dtype=bool)


def classify_tile(rgb: np.ndarray) -> str:
    """ "tissue", "background" or "pen" for one tile (any size, any resolution).

    "pen" when marker ink covers at least 5 % of the tile (clean tissue tiles show at
    most ~1 % ink-like pixels), so a tile with tissue under a stroke counts as pen: its
    colours are contaminated. Else "tissue" when stained, non-ink pixels cover at least
    10 %; else "background" (glass, a thin line, dust). Fixed thresholds, no Otsu: a tile
    may be all tissue.
    """
    grey, sat, hue, value = _channels(rgb)
    pen = _pen_from_channels(sat, hue, value)
    p = TissueParams()
    # Ink rims blend into pale, tissue-like colours; a small dilation keeps them out.
    ink = _dilate(pen, 2)
    stained = (sat >= p.max_saturation) | (
        (grey <= p.grey_threshold_floor) & (sat >= p.min_saturation)
    )
    tissue = stained & ~ink & ~_dark(grey, sat, p)
    pen_fraction = float(pen.mean())
    tissue_fraction = float(tissue.mean())
    if pen_fraction >= _TILE_MIN_PEN:
        return "pen"
    if tissue_fraction >= _TILE_MIN_TISSUE:
        return "tissue"
    return "background"


def save_mask_png(mask: np.ndarray, path: str | Path) -> Path:
    """Write a bool (H, W) mask as a 1-bit PNG, atomically (temporary file + rename).

    The parent folder is created. Returns the path. On error nothing is left behind and a
    previous file at ``path`` is untouched.
    """
    array = np.asarray(mask)
    if array.ndim != 2:
        raise ValueError(f"expected a 2-D mask, got shape {array.shape}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            Image.fromarray(array.astype(bool)).save(fh, format="PNG", optimize=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; masks are read by the web app
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return target


def load_mask_png(path: str | Path) -> np.ndarray:
    """Read a mask PNG (1-bit, or 8-bit where non-zero is tissue) as a bool (H, W) array."""
    with Image.open(path) as image:
        return np.asarray(image.convert("L")) > 0
