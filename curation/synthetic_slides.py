"""Synthetic whole-slide images that OpenSlide reads like real scanner output.

The pixels come from real tissue: scikit-image's bundled immunohistochemistry
image (``skimage.data.immunohistochemistry()``, shipped inside the wheel, no
download), tiled with random flips/rotations into irregular tissue sections on
near-white glass, with optional artefacts (a dark edge band and a pen stroke).

Public API:

* :class:`TissueCanvas` -- a lazily rendered, deterministic slide-like canvas of
  any size; ``canvas.tile(x, y, w, h)`` renders one region, ``canvas.labels``
  gives the ground truth (background / tissue / border / pen) for the same region.
* :func:`write_pyramidal_tiff` -- streams a canvas (or array) into a tiled,
  multi-level TIFF (OpenSlide ``generic-tiff``) or an Aperio-style SVS
  (OpenSlide ``aperio``, with thumbnail/label/macro), in bounded memory, atomically.
* :func:`make_demo_slides` -- the three demo slides of the app (idempotent).

This module is a pure library: no Django, no network.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol, runtime_checkable

import numpy as np
import tifffile

__all__ = [
    "BACKGROUND",
    "BORDER",
    "DEMO_SLIDES",
    "PEN",
    "TISSUE",
    "DemoSlideSpec",
    "RegionSource",
    "TissueCanvas",
    "ihc_texture",
    "make_demo_slides",
    "render_label_image",
    "render_macro_image",
    "write_demo_slide",
    "write_pyramidal_tiff",
]

# Ground-truth classes returned by TissueCanvas.labels (uint8).
BACKGROUND = 0
TISSUE = 1
BORDER = 2
PEN = 3

# Written into every Aperio ImageDescription; OpenSlide only needs the "Aperio" prefix.
_APERIO_HEADER = "Aperio Image Library v12.0.15"
_COMPRESSIONS = ("jpeg", "zlib", "lzw", "none")
# Pyramid levels above this many bytes are spilled to a temporary file instead of RAM.
_SPILL_BYTES = 32 * 2**20
# Raw bytes of tiles handed to tifffile's encoder threads at once.
_ENCODE_BUFFER_BYTES = 16 * 2**20
# Classic TIFF offsets are 32-bit; stay clear of 4 GiB with room for IFDs.
_BIGTIFF_THRESHOLD = int(3.5 * 2**30)
_TEXTURE_SIZE = 512
# Glass noise repeats with these coprime periods (rows, columns): never tile-aligned.
_GLASS_PERIOD = (509, 503)
_CELL = 320  # texture cell size (px); a random crop of the 512 px texture
_CELL_WARP = 40  # max displacement (px) of the wavy cell borders
_ANGLES = 4096  # resolution of the tissue sections' radial profile lookup tables


# --------------------------------------------------------------------------------------
# Tissue content
# --------------------------------------------------------------------------------------


@functools.cache
def ihc_texture() -> np.ndarray:
    """Return scikit-image's bundled IHC image as a read-only (512, 512, 3) uint8 array.

    The file ships inside the scikit-image wheel (``skimage/data/ihc.png``), so this
    never touches the network.
    """
    from skimage import data

    image = np.ascontiguousarray(data.immunohistochemistry()[..., :3], dtype=np.uint8)
    image.setflags(write=False)
    return image


@functools.cache
def _texture_variants() -> np.ndarray:
    """The 8 flips/rotations (dihedral group) of the texture as one flat uint32 array.

    Pixel ``(v, y, x)`` is at ``(v * 512 + y) * 512 + x``, packed RGBX little-endian so
    that a per-pixel lookup is a single fast 4-byte ``np.take``.
    """
    base = ihc_texture()
    variants = []
    for k in range(4):
        rotated = np.rot90(base, k)
        variants.append(rotated)
        variants.append(rotated[:, ::-1])
    rgbx = np.zeros((8, _TEXTURE_SIZE, _TEXTURE_SIZE, 4), np.uint8)
    rgbx[..., :3] = np.stack(variants)
    packed = rgbx.view("<u4").reshape(-1)
    packed.setflags(write=False)
    return packed


def _unpack_rgb(packed: np.ndarray) -> np.ndarray:
    """(h, w) uint32 RGBX -> (h, w, 3) uint8 view."""
    return packed.astype("<u4", copy=False).view(np.uint8).reshape(*packed.shape, 4)[..., :3]


def _hash_uniform(seed: int, salt: int, *coords: np.ndarray) -> np.ndarray:
    """Deterministic per-coordinate uniform values in [0, 1) (splitmix64 mixing).

    Used instead of an RNG so that any region can be rendered independently and
    still agree with its neighbours.
    """
    with np.errstate(over="ignore"):
        h = np.uint64((seed * 0x9E3779B97F4A7C15 + salt * 0xBF58476D1CE4E5B9) % 2**64)
        for c in coords:
            h = h ^ (
                np.asarray(c).astype(np.int64).astype(np.uint64) + np.uint64(0x632BE59BD9B4E5B)
            )
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h = h ^ (h >> np.uint64(31))
    return (h >> np.uint64(11)).astype(np.float64) / float(2**53)


def _value_noise_1d(t: np.ndarray, spacing: float, seed: int, salt: int) -> np.ndarray:
    """Smooth 1-D noise in [-1, 1] with features about ``spacing`` pixels apart."""
    u = t / spacing
    i0 = np.floor(u)
    f = u - i0
    f = f * f * (3.0 - 2.0 * f)  # smoothstep: no kinks at lattice points
    a = _hash_uniform(seed, salt, i0)
    b = _hash_uniform(seed, salt, i0 + 1)
    return ((a + (b - a) * f) * 2.0 - 1.0).astype(np.float32)


@dataclass(frozen=True)
class _Section:
    """One tissue section: a rotated, elongated star-shaped blob around a centre.

    In section coordinates ``u, v`` (rotated by the section angle, scaled by the semi-axes
    ``ax, ay``) a pixel is tissue where ``hypot(u, v) < profile(atan2(v, u))``.
    """

    cx: float
    cy: float
    cos: float
    sin: float
    ax: float
    ay: float
    profile: np.ndarray  # unitless radius sampled at _ANGLES angles over [-pi, pi)
    extent_x: float  # half-size of the axis-aligned bounding box
    extent_y: float
    stain: float  # multiplies optical density: <1 paler, >1 darker

    def coverage(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Tissue coverage in [0, 1] on the grid ``ys x xs`` (about 1 px soft edge)."""
        dx = (xs - self.cx).astype(np.float32)[None, :]
        dy = (ys - self.cy).astype(np.float32)[:, None]
        u = (dx * self.cos + dy * self.sin) * (1.0 / self.ax)
        v = (dy * self.cos - dx * self.sin) * (1.0 / self.ay)
        dist = np.sqrt(u * u + v * v)
        edge = min(self.ax, self.ay)  # pixels per unit of normalised radius (roughly)
        # Normalised distance is convex, so the rectangle's farthest point is a corner:
        # regions deep inside the section skip the angular lookup entirely.
        if max(dist[0, 0], dist[0, -1], dist[-1, 0], dist[-1, -1]) < self.inner - 2 / edge:
            return np.ones(dist.shape, np.float32)
        idx = ((np.arctan2(v, u) + np.pi) * (_ANGLES / (2 * np.pi))).astype(np.int32)
        profile = self.profile[np.minimum(idx, _ANGLES - 1)]
        return np.clip((profile - dist) * edge + 0.5, 0.0, 1.0)

    @property
    def inner(self) -> float:
        return float(self.profile.min())

    def bbox(self) -> tuple[float, float, float, float]:
        return (
            self.cx - self.extent_x - 2,
            self.cy - self.extent_y - 2,
            self.cx + self.extent_x + 2,
            self.cy + self.extent_y + 2,
        )


@dataclass(frozen=True)
class _PenStroke:
    """A wavy marker line ``|y - centre(x)| < thickness/2`` for ``x0 <= x < x1``."""

    x0: float
    x1: float
    y0: float
    amplitude: float
    wavelength: float
    phase: float
    thickness: float
    color: tuple[int, int, int]

    def center(self, xs: np.ndarray) -> np.ndarray:
        return self.y0 + self.amplitude * np.sin(2 * np.pi * xs / self.wavelength + self.phase)


@runtime_checkable
class RegionSource(Protocol):
    """Anything that renders a region: ``tile(x, y, w, h) -> (h, w, 3) uint8``."""

    def tile(self, x: int, y: int, w: int, h: int) -> np.ndarray: ...


class TissueCanvas:
    """A deterministic slide-like image of any size, rendered lazily region by region.

    Content (all fixed by ``seed``): near-white glass with slight noise; ``sections``
    irregular tissue sections filled with the IHC texture (cells of ~320 px with wavy
    borders, each a random crop and flip/rotation of the texture; smooth stain-intensity
    variation); optionally a dark band along the left edge (``border=True``) and a wavy
    marker stroke above the tissue (``pen_mark=True``). The top band (< 0.2 * height)
    and bottom band (> 0.9 * height) never contain tissue.

    Contract: ``tile(x, y, w, h)`` returns a new (h, w, 3) uint8 array; the same
    region always yields the same pixels regardless of how the canvas is cut into
    regions, and ``labels`` gives the matching ground truth. Coordinates outside the
    canvas are valid (the content simply continues). Memory and time are proportional
    to ``w * h`` only (about 30-80 ns per tissue pixel, less for glass).
    """

    def __init__(
        self,
        width: int,
        height: int,
        seed: int = 0,
        *,
        sections: int = 3,
        border: bool = True,
        pen_mark: bool = True,
    ) -> None:
        if width < 1 or height < 1:
            raise ValueError(f"canvas size must be positive, got {width}x{height}")
        if sections < 0:
            raise ValueError("sections must be >= 0")
        self.width = int(width)
        self.height = int(height)
        self.seed = int(seed)
        rng = np.random.default_rng([self.seed, 0x5E1DE])
        self.glass_color = np.array([244.0, 243.0, 246.0]) + rng.uniform(-3, 2, 3)
        self.border_width = max(4.0, 0.012 * self.width) if border else 0.0
        self.sections = self._layout_sections(rng, sections)
        self.pen = self._layout_pen(rng) if pen_mark else None
        # Glass colour plus fixed noise, looked up modulo two coprime periods
        # so that the repetition is neither visible nor aligned with tiles.
        noise = rng.normal(0.0, 1.3, size=_GLASS_PERIOD + (1,))
        glass = np.clip(self.glass_color + noise + 0.5, 0, 255).astype(np.uint8)
        self._glass = np.tile(glass, (2, 2, 1))  # doubled so any span <= period is a slice

    # -- layout -------------------------------------------------------------------------

    def _layout_sections(self, rng: np.random.Generator, count: int) -> list[_Section]:
        """Place ``count`` blobs side by side below the top band that the pen mark uses.

        Each blob stays inside its own slot (no overlaps) and inside 0.2..0.9 of the
        height, so the top band and the bottom margin are guaranteed glass.
        """
        if count == 0:
            return []
        left = self.border_width * 2
        slot_w = (self.width - left) / count
        theta = np.linspace(-np.pi, np.pi, _ANGLES, endpoint=False)
        sections = []
        for i in range(count):
            # Radial profile: a few smooth harmonics (shape) plus small wiggles (ragged edge).
            ks = np.arange(2, 16)
            amps = rng.uniform(0.0, 1.0, ks.size) * np.where(ks <= 5, 0.14 / ks**0.7, 0.01)
            phases = rng.uniform(0, 2 * np.pi, ks.size)
            profile = 1.0 + (amps[:, None] * np.cos(ks[:, None] * theta + phases[:, None])).sum(0)
            reach = 1.0 + amps.sum()
            angle = rng.uniform(-0.6, 0.6)
            c, s = math.cos(angle), math.sin(angle)
            ax, ay = rng.uniform(0.7, 1.0), rng.uniform(0.8, 1.4)
            cy = self.height * rng.uniform(0.53, 0.57)
            # Scale so the rotated ellipse (times the profile's reach) fits slot and band.
            ex = math.hypot(ax * c, ay * s) * reach
            ey = math.hypot(ax * s, ay * c) * reach
            scale = rng.uniform(0.85, 1.0) * min(
                0.47 * slot_w / ex, min(cy - 0.2 * self.height, 0.9 * self.height - cy) / ey
            )
            sections.append(
                _Section(
                    cx=left + slot_w * (i + 0.5) + rng.uniform(-0.02, 0.02) * slot_w,
                    cy=cy,
                    cos=c,
                    sin=s,
                    ax=ax * scale,
                    ay=ay * scale,
                    profile=profile.astype(np.float32),
                    extent_x=ex * scale,
                    extent_y=ey * scale,
                    stain=float(rng.uniform(0.85, 1.15)),
                )
            )
        return sections

    def _layout_pen(self, rng: np.random.Generator) -> _PenStroke:
        """A marker line in the top band (sections never reach above 0.2 * height)."""
        colors = [(40, 110, 70), (35, 60, 140), (30, 30, 35)]
        return _PenStroke(
            x0=self.width * rng.uniform(0.2, 0.35),
            x1=self.width * rng.uniform(0.6, 0.8),
            y0=self.height * rng.uniform(0.07, 0.11),
            amplitude=self.height * 0.025,
            wavelength=self.width * rng.uniform(0.15, 0.3),
            phase=rng.uniform(0, 2 * np.pi),
            thickness=max(3.0, 0.012 * self.height),
            color=colors[int(rng.integers(len(colors)))],
        )

    # -- ground truth -------------------------------------------------------------------

    def _tissue_alpha(self, xs: np.ndarray, ys: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """Tissue coverage in [0, 1] (1 px soft edge) and stain factor on the grid ``ys x xs``.

        None when no section touches the grid (the common case, and cheap to detect).
        """
        alpha: np.ndarray | None = None
        stain = np.ones((ys.size, xs.size), np.float32)
        for s in self.sections:
            x0, y0, x1, y1 = s.bbox()
            cols = (xs >= x0) & (xs < x1)
            rows = (ys >= y0) & (ys < y1)
            if not cols.any() or not rows.any():
                continue
            if alpha is None:
                alpha = np.zeros((ys.size, xs.size), np.float32)
            ci, ri = np.flatnonzero(cols), np.flatnonzero(rows)
            c0, c1, r0, r1 = ci[0], ci[-1] + 1, ri[0], ri[-1] + 1
            a = s.coverage(xs[c0:c1], ys[r0:r1])
            # Sections never overlap (one slot each), so a plain max is enough.
            np.maximum(alpha[r0:r1, c0:c1], a, out=alpha[r0:r1, c0:c1])
            stain[r0:r1, c0:c1] = np.where(a > 0, np.float32(s.stain), stain[r0:r1, c0:c1])
        if alpha is None or not alpha.any():
            return None
        return alpha, stain

    def _border_mask(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray | None:
        if self.border_width <= 0 or xs.min() >= self.border_width * 1.3:
            return None
        wobble = 1.0 + 0.25 * _value_noise_1d(ys.astype(np.float64), 300.0, self.seed, 11)
        return xs[None, :] < (self.border_width * wobble)[:, None]

    def _pen_mask(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray | None:
        p = self.pen
        if p is None:
            return None
        top = p.y0 - p.amplitude - p.thickness
        bottom = p.y0 + p.amplitude + p.thickness
        if xs.max() < p.x0 or xs.min() >= p.x1 or ys.max() < top or ys.min() >= bottom:
            return None
        centre = p.center(xs.astype(np.float64))
        inside_x = (xs >= p.x0) & (xs < p.x1)
        return (np.abs(ys[:, None] - centre[None, :]) < p.thickness / 2) & inside_x[None, :]

    def labels(self, x: int, y: int, w: int, h: int) -> np.ndarray:
        """Ground-truth classes of a region as (h, w) uint8: BACKGROUND, TISSUE, BORDER, PEN.

        Precedence where they overlap: BORDER over PEN over TISSUE over BACKGROUND.
        """
        xs, ys = _span(x, w), _span(y, h)
        out = np.full((h, w), BACKGROUND, np.uint8)
        tissue = self._tissue_alpha(xs, ys)
        if tissue is not None:
            out[tissue[0] >= 0.5] = TISSUE
        for mask, value in ((self._pen_mask(xs, ys), PEN), (self._border_mask(xs, ys), BORDER)):
            if mask is not None:
                out[mask] = value
        return out

    # -- rendering ----------------------------------------------------------------------

    def tile(self, x: int, y: int, w: int, h: int) -> np.ndarray:
        """Render the region ``[x, x+w) x [y, y+h)`` at full resolution as (h, w, 3) uint8."""
        if w < 1 or h < 1:
            raise ValueError(f"region size must be positive, got {w}x{h}")
        return self._render(_span(x, w), _span(y, h))

    def preview(self, max_size: int = 1024) -> np.ndarray:
        """A point-sampled overview whose longer side is at most ``max_size`` pixels.

        Cheap (renders only the sampled pixels); meant for macro images and quick looks,
        not as a substitute for a properly filtered thumbnail.
        """
        step = max(1, math.ceil(max(self.width, self.height) / max_size))
        xs = np.arange(0, self.width, step, dtype=np.int64)
        ys = np.arange(0, self.height, step, dtype=np.int64)
        return self._render(xs, ys)

    def _render(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Render the pixels at the grid ``ys x xs`` (absolute integer coordinates)."""
        glass = self._glass_at(xs, ys)
        tissue = self._tissue_alpha(xs, ys)
        pen = self._pen_mask(xs, ys)
        border = self._border_mask(xs, ys)
        if tissue is None and pen is None and border is None:
            return glass  # fast path: most tiles of a slide are bare glass

        img = glass.astype(np.float32)
        if tissue is not None:
            alpha, stain = tissue
            texture = self._texture_at(xs, ys).astype(np.float32)
            # Smooth stain-intensity drift so the repeated texture varies across a section.
            drift_x = _value_noise_1d(xs.astype(np.float64), 900.0, self.seed, 21)
            drift_y = _value_noise_1d(ys.astype(np.float64), 700.0, self.seed, 22)
            density = stain * (1.0 + 0.1 * (drift_x[None, :] + drift_y[:, None]))
            texture = 255.0 - (255.0 - texture) * density[..., None]
            if alpha.min() >= 1.0:
                img = texture  # entirely inside tissue: no blending with glass
            else:
                img += (texture - img) * alpha[..., None]
        if pen is not None and self.pen is not None:
            img[pen] = img[pen] * 0.15 + np.array(self.pen.color, np.float32) * 0.85
        if border is not None:
            img[border] = np.float32(38.0) + (img[border] - self.glass_color.astype(np.float32)) * 2
        return np.clip(img + 0.5, 0, 255).astype(np.uint8)

    def _glass_at(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """Glass colour with fixed noise on the grid ``ys x xs`` as (h, w, 3) uint8."""
        ph, pw = _GLASS_PERIOD
        contiguous = xs.size <= pw and ys.size <= ph and _is_run(xs) and _is_run(ys)
        if contiguous:  # the usual tile request: one slice copy
            y0, x0 = int(ys[0] % ph), int(xs[0] % pw)
            return self._glass[y0 : y0 + ys.size, x0 : x0 + xs.size].copy()
        return np.take(np.take(self._glass[:ph, :pw], ys % ph, axis=0), xs % pw, axis=1)

    def _texture_at(self, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        """IHC texture as (h, w, 3) float32 at the grid ``ys x xs``.

        The plane is cut into ~320 px cells with wavy borders (cell index taken from
        coordinates shifted by smooth noise); each cell shows a random crop of one of
        the 8 flips/rotations of the texture, so no straight grid lines appear.
        """
        cell, warp, size = _CELL, _CELL_WARP, _TEXTURE_SIZE
        shift_x = warp * _value_noise_1d(ys.astype(np.float64), 600.0, self.seed, 31)
        shift_y = warp * _value_noise_1d(xs.astype(np.float64), 600.0, self.seed, 32)
        fx, fy = xs.astype(np.float32), ys.astype(np.float32)
        cx = np.floor((fx[None, :] + shift_x[:, None]) * (1.0 / cell)).astype(np.int32)
        cy = np.floor((fy[:, None] + shift_y[None, :]) * (1.0 / cell)).astype(np.int32)
        # Per-cell random choices, hashed once per cell rather than once per pixel.
        x0, y0 = int(cx.min()), int(cy.min())
        gx, gy = np.meshgrid(np.arange(x0, int(cx.max()) + 1), np.arange(y0, int(cy.max()) + 1))
        free = size - cell - 2 * warp - 16  # crop offsets keep every lookup in range
        variant = (_hash_uniform(self.seed, 7, gx, gy) * 8).astype(np.int64)
        off_x = warp + 8 + (_hash_uniform(self.seed, 8, gx, gy) * free).astype(np.int64)
        off_y = warp + 8 + (_hash_uniform(self.seed, 9, gx, gy) * free).astype(np.int64)
        # Fold everything per cell into one base offset: flat = base[cell] + y * size + x.
        base = (variant * size + off_y - (gy * cell)) * size + off_x - gx * cell
        gi, gj = cy - y0, cx - x0
        flat = base[gi, gj] + (ys[:, None] * size + xs[None, :])
        return _unpack_rgb(np.take(_texture_variants(), flat))

    # -- convenience for tests and demos ------------------------------------------------

    def tissue_point(self, index: int = 0) -> tuple[int, int]:
        """Level-0 coordinates of the centre of section ``index`` (always tissue)."""
        s = self.sections[index]
        return int(s.cx), int(s.cy)

    def background_point(self, margin: int = 128) -> tuple[int, int]:
        """Level-0 coordinates of a glass pixel with ``margin`` px of glass on every side.

        Sections stay above 0.9 of the height, so the bottom band is searched first.
        Raises LookupError when no such place exists (only on tiny canvases).
        """
        for fy in (0.95, 0.17, 0.5):
            y = int(self.height * fy)
            for fx in np.linspace(0.5, 0.95, 10):
                x = int(self.width * fx)
                inside = margin <= x <= self.width - margin and margin <= y <= self.height - margin
                window = self.labels(x - margin, y - margin, 2 * margin, 2 * margin)
                if inside and (window == BACKGROUND).all():
                    return x, y
        raise LookupError(f"no glass area with a {margin} px margin")


def _is_run(values: np.ndarray) -> bool:
    return values.size > 0 and int(values[-1]) - int(values[0]) == values.size - 1


def _span(start: int, length: int) -> np.ndarray:
    return np.arange(start, start + length, dtype=np.int64)


# --------------------------------------------------------------------------------------
# Associated images
# --------------------------------------------------------------------------------------


def render_label_image(text: str, size: tuple[int, int] = (400, 460), seed: int = 0) -> np.ndarray:
    """A slide-label photo: white paper, ``text`` in PIL's default font, a fake barcode.

    Returns (height, width, 3) uint8 with ``size = (width, height)``.
    """
    from PIL import Image, ImageDraw, ImageFont

    width, height = size
    img = Image.new("RGB", size, (250, 250, 245))
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(12, width // 7))
    draw.text((width * 0.08, height * 0.08), text, fill=(10, 10, 10), font=font)
    rng = np.random.default_rng([seed, 0x1ABE1])
    x = width * 0.08
    while x < width * 0.92:  # 1-D "barcode": random bar widths, deterministic per seed
        bar = float(rng.integers(2, 7))
        if rng.random() < 0.55:
            draw.rectangle([x, height * 0.55, x + bar - 1, height * 0.9], fill=(0, 0, 0))
        x += bar
    return np.asarray(img, dtype=np.uint8).copy()


def render_macro_image(
    canvas: TissueCanvas, label: np.ndarray | None = None, height: int = 431
) -> np.ndarray:
    """A macro camera view: a 3:1 glass slide with the label on the left and the tissue.

    Returns (height, 3 * height, 3) uint8.
    """
    from PIL import Image

    width = 3 * height
    macro = Image.new("RGB", (width, height), (205, 207, 210))
    label_w = int(height * 0.9)
    if label is not None:
        fitted = Image.fromarray(label).resize((label_w, height - 20))
        macro.paste(fitted, (10, 10))
    area_w, area_h = width - label_w - 40, height - 20
    preview = Image.fromarray(canvas.preview(max(area_w, area_h) * 2))
    preview.thumbnail((area_w, area_h))
    macro.paste(preview, (label_w + 25 + (area_w - preview.width) // 2, 10))
    return np.asarray(macro, dtype=np.uint8).copy()


# --------------------------------------------------------------------------------------
# Pyramid writing
# --------------------------------------------------------------------------------------


class _RowStore:
    """Append-only RGB image rows of one pyramid level, read back later in strips.

    Small levels live in RAM; large ones in an unlinked-on-close temporary file next to
    the output (plain file I/O, not mmap, so the data never counts towards RSS).
    """

    def __init__(self, width: int, height: int, folder: Path) -> None:
        self.width, self.height = width, height
        self.rows = 0
        self._array: np.ndarray | None = None
        self._file: IO[bytes] | None = None
        if width * height * 3 <= _SPILL_BYTES:
            self._array = np.empty((height, width, 3), np.uint8)
        else:
            self._file = tempfile.TemporaryFile(dir=folder, prefix=".pyramid-")

    def append(self, rows: np.ndarray) -> None:
        n = rows.shape[0]
        if self.rows + n > self.height or rows.shape[1] != self.width:
            raise AssertionError("pyramid level overflow")  # a bug, not bad input
        if self._array is not None:
            self._array[self.rows : self.rows + n] = rows
        else:
            assert self._file is not None
            self._file.write(np.ascontiguousarray(rows).tobytes())
        self.rows += n

    def read(self, y0: int, y1: int) -> np.ndarray:
        if self._array is not None:
            return self._array[y0:y1]
        assert self._file is not None
        row_bytes = self.width * 3
        self._file.seek(y0 * row_bytes)
        data = self._file.read((y1 - y0) * row_bytes)
        return np.frombuffer(data, np.uint8).reshape(y1 - y0, self.width, 3)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
        self._array = None


def _halve(rows: np.ndarray) -> np.ndarray:
    """2x2 box-filter downsample of an even number of rows; odd widths repeat the last column."""
    if rows.shape[1] % 2:
        rows = np.concatenate([rows, rows[:, -1:]], axis=1)
    acc = rows[0::2, 0::2].astype(np.uint16)
    acc += rows[1::2, 0::2]
    acc += rows[0::2, 1::2]
    acc += rows[1::2, 1::2]
    acc += 2
    acc >>= 2
    return acc.astype(np.uint8)


class _Cascade:
    """Feeds level-0 rows down the pyramid: each stage halves rows into the next store.

    Rows arrive in order and in any batch size; an odd leftover row waits for its partner.
    ``finish()`` pairs a final odd row with itself, matching ``ceil(n / 2)`` level sizes.
    """

    def __init__(self, stores: list[_RowStore]) -> None:
        self.stores = stores  # stores[i] receives level i + 1
        self._carry: list[np.ndarray | None] = [None] * len(stores)

    def push(self, rows: np.ndarray, stage: int = 0) -> None:
        if stage >= len(self.stores):
            return
        carry = self._carry[stage]
        if carry is not None:
            rows = np.concatenate([carry, rows])
        even = rows.shape[0] - rows.shape[0] % 2
        self._carry[stage] = rows[even:].copy() if even < rows.shape[0] else None
        if even:
            half = _halve(rows[:even])
            self.stores[stage].append(half)
            self.push(half, stage + 1)

    def finish(self, stage: int = 0) -> None:
        if stage >= len(self.stores):
            return
        carry = self._carry[stage]
        if carry is not None:
            self._carry[stage] = None
            half = _halve(np.concatenate([carry, carry]))
            self.stores[stage].append(half)
            self.push(half, stage + 1)
        self.finish(stage + 1)


def _level_sizes(width: int, height: int, tile_size: int) -> list[tuple[int, int]]:
    """Level dimensions: halve (rounding up) until the level fits in one tile."""
    sizes = [(width, height)]
    while max(sizes[-1]) > tile_size:
        w, h = sizes[-1]
        sizes.append(((w + 1) // 2, (h + 1) // 2))
    return sizes


def _pad(tile: np.ndarray, size: int) -> np.ndarray:
    """Pad an edge tile to size x size by repeating its edge (keeps JPEG edges clean)."""
    h, w = tile.shape[:2]
    if h == size and w == size:
        return tile
    return np.pad(tile, ((0, size - h), (0, size - w), (0, 0)), mode="edge")


def _tiles_from_strip(strip: np.ndarray, tile_size: int) -> Iterator[np.ndarray]:
    for x in range(0, strip.shape[1], tile_size):
        yield _pad(strip[:, x : x + tile_size], tile_size)


def _as_region_fn(
    source: np.ndarray | RegionSource | Callable[[int, int, int, int], np.ndarray],
    width: int,
    height: int,
) -> Callable[[int, int, int, int], np.ndarray]:
    if isinstance(source, np.ndarray):
        if source.shape != (height, width, 3) or source.dtype != np.uint8:
            raise ValueError(
                f"array must be ({height}, {width}, 3) uint8, got {source.shape} {source.dtype}"
            )
        return lambda x, y, w, h: source[y : y + h, x : x + w]
    if isinstance(source, RegionSource):
        return source.tile
    if callable(source):
        return source
    raise TypeError("source must be an RGB uint8 array, a RegionSource or a callable")


def _level0_tiles(
    region: Callable[[int, int, int, int], np.ndarray],
    width: int,
    height: int,
    tile_size: int,
    sink: Callable[[np.ndarray], None],
) -> Iterator[np.ndarray]:
    """Yield level-0 tiles in row-major order; hand each completed tile row to ``sink``.

    Only one strip (tile_size rows x width) is held at a time.
    """
    for y in range(0, height, tile_size):
        h = min(tile_size, height - y)
        strip = np.empty((h, width, 3), np.uint8)
        for x in range(0, width, tile_size):
            w = min(tile_size, width - x)
            tile = np.asarray(region(x, y, w, h))
            if tile.shape != (h, w, 3) or tile.dtype != np.uint8:
                raise ValueError(f"source returned {tile.shape} {tile.dtype}, want ({h}, {w}, 3)")
            strip[:, x : x + w] = tile
        sink(strip)  # before yielding, so lower levels are complete when tifffile stops
        yield from _tiles_from_strip(strip, tile_size)


def _store_tiles(store: _RowStore, tile_size: int) -> Iterator[np.ndarray]:
    for y in range(0, store.height, tile_size):
        strip = store.read(y, min(store.height, y + tile_size))
        yield from _tiles_from_strip(strip, tile_size)


def _compression_args(compression: str, quality: int) -> dict:
    """tifffile ``write`` arguments for a compression name (validated)."""
    if compression not in _COMPRESSIONS:
        raise ValueError(f"compression must be one of {_COMPRESSIONS}, got {compression!r}")
    if compression == "jpeg":
        if not 1 <= quality <= 100:
            raise ValueError("quality must be within 1..100")
        return {"compression": "jpeg", "compressionargs": {"level": quality}}
    return {"compression": None if compression == "none" else compression}


def _needs_bigtiff(width: int, height: int, compression: str, quality: int) -> bool:
    """Conservative size estimate: the whole pyramid is 4/3 of level 0."""
    raw = width * height * 3 * 4 / 3
    # JPEG at <= 95 with 4:2:0 chroma subsampling is at least 4:1 in practice.
    ratio = 4 if compression == "jpeg" and quality <= 95 else 1
    return raw / ratio > _BIGTIFF_THRESHOLD


_NAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class _Plan:
    """Everything about the file to write except the pixels."""

    width: int
    height: int
    mpp: float
    tile_size: int
    compression: str
    quality: int
    aperio: bool
    objective_power: float
    description: str | None
    filename: str
    maxworkers: int | None
    level_step: int = 2

    @functools.cached_property
    def sizes(self) -> list[tuple[int, int]]:
        return _level_sizes(self.width, self.height, self.tile_size)

    def options(self) -> dict:
        """tifffile ``write`` arguments shared by every directory."""
        return {
            "photometric": "rgb",
            "metadata": None,  # no tifffile JSON in ImageDescription
            "software": "rudolfv curation.synthetic_slides",
            **_compression_args(self.compression, self.quality),
        }

    def level_options(self, level: int) -> dict:
        """tifffile ``write`` arguments for one tiled pyramid level."""
        w, h = self.sizes[level]
        if self.aperio:
            description = self.aperio_description("base" if level == 0 else "level", (w, h))
        else:
            description = self.description if level == 0 else None
        return {
            **self.options(),
            "shape": (h, w, 3),
            "dtype": np.uint8,
            "tile": (self.tile_size, self.tile_size),
            # Pixels per centimetre of this level; OpenSlide derives mpp from level 0.
            "resolution": (1e4 / (self.mpp * self.width / w), 1e4 / (self.mpp * self.height / h)),
            "resolutionunit": "CENTIMETER",
            "subfiletype": 0 if level == 0 else 1,  # 1 = reduced-resolution image
            "description": description,
            "maxworkers": self.maxworkers,
            # tifffile batches raw tiles for its encoder threads, by default up to 512 MB:
            # cap the batch so memory stays bounded on many-core machines too.
            "buffersize": _ENCODE_BUFFER_BYTES,
        }

    def aperio_description(self, kind: str, size: tuple[int, int]) -> str:
        """ImageDescription text for one Aperio directory, shaped like scanner output.

        OpenSlide's aperio driver: the first directory's text must start with "Aperio"
        and its ``|key = value`` pairs become ``aperio.*`` properties (AppMag ->
        objective power, MPP -> mpp). Untiled directories other than the second are
        associated images named by the first word of the text's second line; the
        driver splits lines on every "\r" and "\n", so those use a bare "\n".
        """
        w, h, ts = self.width, self.height, self.tile_size
        codec = {"jpeg": f"JPEG/RGB Q={self.quality}", "none": "RAW/RGB"}
        props = (
            f"|AppMag = {self.objective_power:g}|MPP = {self.mpp:.6g}"
            f"|ScanScope ID = RUDOLFV-SYNTHETIC|Filename = {self.filename}"
            f"|OriginalWidth = {w}|OriginalHeight = {h}"
            "|Synthetic = scikit-image immunohistochemistry texture"
        )
        kind_text = codec.get(self.compression, f"{self.compression.upper()}/RGB")
        if kind == "base":
            return f"{_APERIO_HEADER} \r\n{w}x{h} [0,0 {w}x{h}] ({ts}x{ts}) {kind_text}{props}"
        if kind == "level":
            return (
                f"{_APERIO_HEADER} \r\n{w}x{h} [0,0 {w}x{h}] ({ts}x{ts}) "
                f"-> {size[0]}x{size[1]} {kind_text}{props}"
            )
        if kind == "thumbnail":
            return f"{_APERIO_HEADER} \r\n{w}x{h} -> {size[0]}x{size[1]} - {props}"
        return f"{_APERIO_HEADER}\n{kind} {size[0]}x{size[1]}"


def write_pyramidal_tiff(
    path: str | os.PathLike[str],
    source: np.ndarray | RegionSource | Callable[[int, int, int, int], np.ndarray],
    *,
    width: int,
    height: int,
    mpp: float,
    tile_size: int = 256,
    compression: str = "jpeg",
    quality: int = 85,
    aperio: bool = False,
    objective_power: float | None = None,
    associated: Mapping[str, np.ndarray] | None = None,
    description: str | None = None,
    bigtiff: bool | None = None,
    maxworkers: int | None = None,
    level_step: int = 2,
) -> Path:
    """Write a tiled multi-resolution RGB slide that OpenSlide opens; return its path.

    ``source`` is the level-0 image: an (height, width, 3) uint8 array, an object with
    ``tile(x, y, w, h)`` (e.g. :class:`TissueCanvas`), or a callable with that signature
    returning (h, w, 3) uint8. Each tile is requested exactly once, row by row.

    Layout: level 0 plus levels halved (rounding up) until one fits in a tile, each a
    tiled top-level directory (reduced levels have NewSubfileType 1), resolution tags in
    pixels per centimetre from ``mpp`` (micrometres per pixel).

    * ``aperio=False``: OpenSlide vendor ``generic-tiff`` with ``openslide.mpp-x/y``.
      ``description`` (optional, must not start with "Aperio") is stored in level 0.
    * ``aperio=True``: an Aperio-style SVS (vendor ``aperio``): level 0, a stripped
      thumbnail (longest side <= 1024), the reduced levels, then each ``associated``
      image (e.g. ``{"label": ..., "macro": ...}``, (h, w, 3) uint8) as a stripped
      directory. ``objective_power`` defaults to ``round(10 / mpp)`` (0.25 -> 40,
      0.5 -> 20). OpenSlide then reports ``openslide.objective-power``, mpp and the
      associated images ``thumbnail`` plus the given names. ``associated`` and
      ``objective_power`` require ``aperio=True``: generic TIFF can store neither.

    ``compression``: "jpeg" (``quality`` 1..100, YCbCr 4:2:0, needs ``imagecodecs``),
    "zlib", "lzw" or "none"; OpenSlide's aperio and generic-tiff drivers read all four.
    ``bigtiff=None`` picks BigTIFF when a conservative size estimate exceeds 3.5 GiB.
    ``level_step``: the downsample between stored levels, 2 (every halving) or 4 (as most
    scanners store, e.g. Aperio's 1, 4, 16…): viewers then render half their zoom levels
    from a level with four times the pixels, as on real scanner files.

    Memory is bounded by one tile row of level 0 (tile_size x width x 3 bytes, ~30 MB
    for a 40,000 px wide slide) plus reduced levels up to 32 MiB each; larger reduced
    levels are staged in anonymous temporary files in the destination folder.

    Atomic: the file is written under a hidden temporary name in the same folder, synced
    and renamed onto ``path``; on any error the temporary file is removed and whatever
    was at ``path`` before is left untouched.
    """
    target = Path(path)
    _validate(width, height, mpp, tile_size, aperio, objective_power, associated, description)
    if level_step not in (2, 4):
        raise ValueError(f"level_step must be 2 or 4, got {level_step!r}")
    plan = _Plan(
        width=width,
        height=height,
        mpp=float(mpp),
        tile_size=tile_size,
        compression=compression,
        quality=quality,
        aperio=aperio,
        objective_power=float(objective_power or max(1, round(10 / mpp))),
        description=description,
        filename=target.stem,
        maxworkers=maxworkers,
        level_step=level_step,
    )
    plan.options()  # validates compression and quality before any file is created
    region = _as_region_fn(source, width, height)
    images = {name: _check_rgb(image, name) for name, image in (associated or {}).items()}
    if bigtiff is None:
        bigtiff = _needs_bigtiff(width, height, compression, quality)

    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _write_pyramid(tmp, region, plan, images, bigtiff)
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())  # data on disk before the rename makes it visible
        os.chmod(tmp, 0o644)  # mkstemp creates 0600; slides are meant to be shared
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return target


def _validate(
    width: int,
    height: int,
    mpp: float,
    tile_size: int,
    aperio: bool,
    objective_power: float | None,
    associated: Mapping[str, np.ndarray] | None,
    description: str | None,
) -> None:
    if width < 1 or height < 1:
        raise ValueError(f"size must be positive, got {width}x{height}")
    if not (mpp > 0 and math.isfinite(mpp)):
        raise ValueError(f"mpp must be a positive number, got {mpp!r}")
    if tile_size < 16 or tile_size % 16:
        raise ValueError("tile_size must be a positive multiple of 16 (TIFF and JPEG need it)")
    if associated and not aperio:
        raise ValueError("associated images need aperio=True (generic TIFF has none)")
    if objective_power is not None and (not aperio or objective_power <= 0):
        raise ValueError("objective_power must be positive and needs aperio=True")
    if description is not None and description.startswith("Aperio"):
        raise ValueError("a generic TIFF description must not start with 'Aperio'")
    for name in associated or {}:
        if not _NAME_RE.match(name) or name == "thumbnail":
            raise ValueError(f"invalid associated image name {name!r}")


def _check_rgb(image: np.ndarray, name: str) -> np.ndarray:
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f"associated image {name!r} must be (h, w, 3) uint8")
    return image


def _write_pyramid(
    tmp: Path,
    region: Callable[[int, int, int, int], np.ndarray],
    plan: _Plan,
    associated: dict[str, np.ndarray],
    bigtiff: bool,
) -> None:
    """Stream level 0 from ``region`` into ``tmp`` while cascading it into lower levels.

    Directory order follows real SVS files (the aperio driver relies on it): level 0,
    [thumbnail], levels 1.., [associated images].
    """
    stores = [_RowStore(w, h, tmp.parent) for w, h in plan.sizes[1:]]
    # A one-level Aperio file has no reduced level to make the thumbnail from.
    level0_copy = _RowStore(*plan.sizes[0], tmp.parent) if plan.aperio and not stores else None
    cascade = _Cascade(stores)

    def sink(strip: np.ndarray) -> None:
        if level0_copy is not None:
            level0_copy.append(strip)
        cascade.push(strip)

    try:
        with tifffile.TiffWriter(tmp, bigtiff=bigtiff) as tw:
            tiles = _level0_tiles(region, plan.width, plan.height, plan.tile_size, sink)
            tw.write(tiles, **plan.level_options(0))
            cascade.finish()  # tifffile consumed every tile, so every strip was pushed
            if plan.aperio:
                thumb = _thumbnail(stores if level0_copy is None else [level0_copy], 1024)
                desc = plan.aperio_description("thumbnail", (thumb.shape[1], thumb.shape[0]))
                _write_stripped(tw, thumb, desc, 0, plan.options())
            every = plan.level_step // 2  # stored levels are every 1st or 2nd halving
            for level, store in enumerate(stores, start=1):
                if level % every == 0 or level == len(stores):
                    tw.write(_store_tiles(store, plan.tile_size), **plan.level_options(level))
                store.close()  # frees RAM / temporary disk as soon as the level is written
            for name, image in associated.items():
                _write_associated(tw, plan, name, image)
    finally:
        for store in [*stores, level0_copy]:
            if store is not None:
                store.close()


def _thumbnail(stores: list[_RowStore], max_size: int) -> np.ndarray:
    """Thumbnail from the largest stored level of at most 2048 x 2048 pixels."""
    from PIL import Image

    small = [s for s in stores if s.width * s.height <= 2048 * 2048] or stores[-1:]
    store = small[0]
    img = Image.fromarray(np.ascontiguousarray(store.read(0, store.height)))
    img.thumbnail((max_size, max_size), Image.Resampling.LANCZOS)
    return np.asarray(img, dtype=np.uint8).copy()


def _write_associated(tw: tifffile.TiffWriter, plan: _Plan, name: str, image: np.ndarray) -> None:
    """Label (LZW, NewSubfileType 1) or other image (JPEG, 9), as in real SVS files."""
    options = plan.options()
    if name == "label":
        options = {**options, "compression": "lzw", "compressionargs": None}
    desc = plan.aperio_description(name, (image.shape[1], image.shape[0]))
    _write_stripped(tw, image, desc, 1 if name == "label" else 9, options)


def _write_stripped(
    tw: tifffile.TiffWriter, image: np.ndarray, desc: str, subfiletype: int, options: dict
) -> None:
    """An untiled directory, as Aperio uses for thumbnail, label and macro."""
    tw.write(
        image,
        rowsperstrip=16,  # a multiple of 16, as JPEG with 4:2:0 subsampling requires
        subfiletype=subfiletype,
        description=desc,
        **options,
    )


# --------------------------------------------------------------------------------------
# Demo slides
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSlideSpec:
    """What one demo slide is; ``make_demo_slides`` checks existing files against it."""

    filename: str
    width: int
    height: int
    mpp: float
    seed: int
    vendor: str
    objective_power: float | None = None
    label_text: str | None = None
    quality: int = 80


DEMO_SLIDES: tuple[DemoSlideSpec, ...] = (
    DemoSlideSpec("demo-ihc-small.tiff", 4096, 3072, 0.5, seed=1, vendor="generic-tiff"),
    DemoSlideSpec(
        "demo-ihc-aperio.svs",
        8192,
        6144,
        0.25,
        seed=2,
        vendor="aperio",
        objective_power=40,
        label_text="DEMO-2",
    ),
    DemoSlideSpec("demo-ihc-20x.tiff", 6000, 4000, 0.5, seed=3, vendor="generic-tiff"),
)


def _is_valid_demo(path: Path, spec: DemoSlideSpec) -> bool:
    """True if OpenSlide opens ``path``, it matches ``spec`` and its smallest level decodes."""
    if not path.is_file():
        return False
    import openslide

    try:
        with openslide.OpenSlide(str(path)) as slide:
            props = slide.properties
            mpp = float(props.get(openslide.PROPERTY_NAME_MPP_X, "nan"))
            matches = (
                slide.dimensions == (spec.width, spec.height)
                and props.get(openslide.PROPERTY_NAME_VENDOR) == spec.vendor
                and abs(mpp - spec.mpp) < 1e-3
                and slide.level_count > 1
            )
            if matches:  # the last level's tiles sit near the end: catches truncation
                last = slide.level_count - 1
                slide.read_region((0, 0), last, slide.level_dimensions[last])
            return matches
    except (openslide.OpenSlideError, ValueError, OSError):
        return False


def write_demo_slide(dest_dir: str | os.PathLike[str], spec: DemoSlideSpec) -> Path:
    """Render and write one demo slide described by ``spec`` into ``dest_dir``."""
    canvas = TissueCanvas(spec.width, spec.height, spec.seed)
    aperio = spec.vendor == "aperio"
    associated = None
    if aperio:
        label = render_label_image(spec.label_text or spec.filename, seed=spec.seed)
        associated = {"label": label, "macro": render_macro_image(canvas, label)}
    return write_pyramidal_tiff(
        Path(dest_dir) / spec.filename,
        canvas,
        width=spec.width,
        height=spec.height,
        mpp=spec.mpp,
        quality=spec.quality,
        aperio=aperio,
        objective_power=spec.objective_power if aperio else None,
        associated=associated,
        description=None
        if aperio
        else f"RudolfV synthetic slide (scikit-image IHC texture), seed={spec.seed}",
    )


def make_demo_slides(
    dest_dir: str | os.PathLike[str], specs: tuple[DemoSlideSpec, ...] = DEMO_SLIDES
) -> list[Path]:
    """Ensure the demo slides exist in ``dest_dir`` and return their paths (in ``specs`` order).

    Idempotent: a file that is already present and valid (OpenSlide opens it with the
    expected size, vendor and mpp) is kept; missing or broken ones are (re)written
    atomically. Needs no network. The defaults total ~10 MB and take ~3 s on two cores.
    """
    folder = Path(dest_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for spec in specs:
        path = folder / spec.filename
        if not _is_valid_demo(path, spec):
            write_demo_slide(folder, spec)
        paths.append(path)
    return paths
