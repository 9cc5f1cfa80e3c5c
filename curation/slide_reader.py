"""Reading whole-slide images at a physical resolution (micrometres per pixel).

Curation works in µm/px, never in pyramid levels: a tile "at 0.5 µm/px" must show the
same tissue area on a 40× and a 20× scan. :class:`SlideReader` reads each request from
the coarsest stored level that is still at least as fine as the target (never from a
coarser one, which would lose detail) and resamples it to the requested size with an
area-averaging filter.

This module is a pure library: no Django, no network.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import numpy as np
import openslide
from PIL import Image

from curation.slide_metadata import SlideReadError, open_slide

__all__ = ["MppUnknownError", "SlideReader", "resolve_mpp"]

# Relative slack when comparing a level's µm/px with a target: stored downsamples are
# often not exact (e.g. 4.0003), and 0.2501 µm/px must still count as 0.25.
_MPP_TOLERANCE = 1e-3
# Largest level region decoded at once (pixels per side): bounds memory to ~16 MiB RGBA
# per chunk however large the request or the slide.
_CHUNK = 2048
# Longest side of an overview: a 100,000 px slide at 8 µm/px would be ~12,500 px (or
# far more for a very coarse target on a giant slide), too large for a "small" image.
_OVERVIEW_MAX_SIDE = 4096


class MppUnknownError(SlideReadError):
    """The slide's pixel size is unknown and no override was given."""


def _positive(value: str | float | None) -> float | None:
    """``value`` as a positive finite float, or None for missing/garbage values."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number > 0 else None


def resolve_mpp(
    properties: Mapping[str, str], *, override: float | None = None
) -> tuple[float, str]:
    """Return (µm/px at level 0, source) with source "override", "metadata" or "objective-power".

    Precedence: a user's ``override`` (the web app stores one per slide), then the
    ``openslide.mpp-x/y`` properties (their mean when both exist and differ slightly),
    then the objective power p as 10 / p (20× → 0.5 µm/px, the usual scanner optics).
    Raises ValueError for an override that is not a positive number, and MppUnknownError
    (a SlideReadError) when nothing gives the pixel size.
    """
    if override is not None:
        value = _positive(override)
        if value is None:
            raise ValueError(f"the mpp override must be a positive number, got {override!r}")
        return value, "override"
    mpp_x = _positive(properties.get(openslide.PROPERTY_NAME_MPP_X))
    mpp_y = _positive(properties.get(openslide.PROPERTY_NAME_MPP_Y))
    known = [v for v in (mpp_x, mpp_y) if v is not None]
    if known:
        return sum(known) / len(known), "metadata"
    power = _positive(properties.get(openslide.PROPERTY_NAME_OBJECTIVE_POWER))
    if power is not None:
        return 10.0 / power, "objective-power"
    raise MppUnknownError(
        "The slide does not record its pixel size (µm per pixel) or its objective power, so "
        "it cannot be read at a physical resolution; set an mpp override for this slide "
        "(e.g. 0.25 for a 40× scan, 0.5 for 20×)."
    )


def _flatten_on_white(rgba: np.ndarray) -> np.ndarray:
    """RGBA (straight alpha, as openslide-python returns) composited onto white, as RGB.

    Areas outside the scanned region come back fully transparent; they must read as
    glass (white), not black, or tissue detection would see them as dark borders.
    """
    rgb = rgba[..., :3]
    alpha = rgba[..., 3:4]
    if alpha.min() == 255:
        return np.ascontiguousarray(rgb)
    a = alpha.astype(np.uint16)
    out = (rgb.astype(np.uint16) * a + 255 * (255 - a) + 127) // 255
    return out.astype(np.uint8)


class SlideReader:
    """An open slide read at physical resolutions; a context manager.

    Attributes: ``path``; ``dimensions`` (level-0 width, height); ``mpp`` (µm/px at level
    0) and ``mpp_source`` (see :func:`resolve_mpp`); ``level_count`` and
    ``level_downsamples``. Calls are serialised by a lock, so sharing one reader between
    threads is safe but not parallel; the intended use is one reader per worker process.
    Raises SlideReadError (or MppUnknownError) on opening when the slide is unusable.
    """

    def __init__(self, path: str | Path, *, mpp_override: float | None = None) -> None:
        self.path = Path(path)
        self._slide: openslide.OpenSlide | None = open_slide(self.path)
        try:
            self.mpp, self.mpp_source = resolve_mpp(self._slide.properties, override=mpp_override)
        except BaseException:
            self._slide.close()
            raise
        self.dimensions: tuple[int, int] = tuple(self._slide.dimensions)  # type: ignore[assignment]
        self.level_count: int = self._slide.level_count
        self.level_downsamples: tuple[float, ...] = tuple(
            float(d) for d in self._slide.level_downsamples
        )
        self._lock = threading.Lock()

    # -- context manager ---------------------------------------------------------------

    def __enter__(self) -> SlideReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the OpenSlide handle; idempotent."""
        if self._slide is not None:
            self._slide.close()
            self._slide = None

    # -- levels ------------------------------------------------------------------------

    def level_for(self, target_mpp: float) -> int:
        """The level to read ``target_mpp`` from: the largest downsample whose µm/px is at
        most ``target_mpp`` (1e-3 relative tolerance); level 0 when the target is finer
        than the scan. Never a level coarser than the target."""
        target = _check_mpp(target_mpp)
        best = 0
        for level, downsample in enumerate(self.level_downsamples):
            fine_enough = self.mpp * downsample <= target * (1 + _MPP_TOLERANCE)
            if fine_enough and downsample > self.level_downsamples[best]:
                best = level
        return best

    # -- reading -----------------------------------------------------------------------

    def read(self, x: int, y: int, size: int, target_mpp: float) -> np.ndarray:
        """(size, size, 3) uint8 RGB of the square at level-0 (x, y) seen at ``target_mpp``.

        The square's side is ``size * target_mpp / mpp`` level-0 pixels. It is read from
        ``level_for(target_mpp)`` and resampled to size × size (area averaging when
        reducing, bicubic when the target is finer than the scan). Transparent areas and
        areas outside the slide are white. Raises ValueError for bad arguments and
        SlideReadError when the slide's pixels cannot be decoded.
        """
        if int(size) < 1:
            raise ValueError(f"size must be at least 1 pixel, got {size!r}")
        target = _check_mpp(target_mpp)
        level = self.level_for(target)
        step = self._step(level, target)
        return self._resample(level, int(x), int(y), int(size), int(size), step)

    def overview(self, target_mpp: float = 8.0) -> tuple[np.ndarray, float]:
        """A small RGB image of the whole slide near ``target_mpp`` and its scale.

        Returns (image, scale) where scale is level-0 pixels per overview pixel. The
        image comes from the coarsest level fine enough for the target, area-averaged; its
        longest side is at most 4096 px (the target is coarsened for very large slides).
        Memory stays bounded: the level is decoded in chunks.
        """
        target = _check_mpp(target_mpp)
        width, height = self.dimensions
        target = max(target, self.mpp * max(width, height) / _OVERVIEW_MAX_SIDE)
        scale = target / self.mpp
        out_w = max(1, min(_OVERVIEW_MAX_SIDE, round(width / scale)))
        out_h = max(1, min(_OVERVIEW_MAX_SIDE, round(height / scale)))
        level = self.level_for(target)
        return self._resample(level, 0, 0, out_w, out_h, self._step(level, target)), scale

    def _step(self, level: int, target: float) -> float:
        """Level pixels per output pixel (float: levels need not be powers of two apart).

        Snapped to a nearby whole number: stored downsamples are inexact (2.0004 for odd
        sizes), and a whole step keeps the stored pixels unblurred (step 1) or averages
        whole blocks (step 2, 4, ...).
        """
        step = target / (self.mpp * self.level_downsamples[level])
        whole = round(step)
        return float(whole) if whole >= 1 and abs(step - whole) <= _MPP_TOLERANCE * step else step

    def _resample(
        self, level: int, x0: int, y0: int, out_w: int, out_h: int, step: float
    ) -> np.ndarray:
        """Output pixels (out_h, out_w, 3) each covering ``step`` × ``step`` pixels of
        ``level``, the first one's corner at level-0 (x0, y0).

        Works in output chunks whose source spans are at most ~_CHUNK level pixels, so
        memory does not grow with the request. Each chunk is read on whole level pixels
        and cut with PIL's float source box, so chunk seams fall exactly on output pixel
        boundaries and the result equals a single resize of the whole area.
        """
        out = np.empty((out_h, out_w, 3), np.uint8)
        per_chunk = max(1, int(_CHUNK // max(step, 1.0)))  # output pixels per chunk side
        downsample = self.level_downsamples[level]
        for oy in range(0, out_h, per_chunk):
            oh = min(per_chunk, out_h - oy)
            for ox in range(0, out_w, per_chunk):
                ow = min(per_chunk, out_w - ox)
                out[oy : oy + oh, ox : ox + ow] = self._resample_chunk(
                    level, downsample, x0, y0, (ox, oy, ow, oh), step
                )
        return out

    def _resample_chunk(
        self,
        level: int,
        downsample: float,
        x0: int,
        y0: int,
        chunk: tuple[int, int, int, int],
        step: float,
    ) -> np.ndarray:
        """One chunk of :meth:`_resample`; ``chunk`` is (ox, oy, ow, oh) in output pixels."""
        ox, oy, ow, oh = chunk
        # Source span in level pixels, relative to (x0, y0) seen at this level.
        sx0, sy0 = ox * step, oy * step
        sx1, sy1 = (ox + ow) * step, (oy + oh) * step
        ix0, iy0 = math.floor(sx0), math.floor(sy0)
        iw = max(1, math.ceil(sx1) - ix0)
        ih = max(1, math.ceil(sy1) - iy0)
        location = (x0 + round(ix0 * downsample), y0 + round(iy0 * downsample))
        rgb = self._read_level(location, level, (iw, ih))
        if iw == ow and ih == oh and step == 1.0:
            return rgb  # exactly the stored pixels: no resampling
        k = int(step)
        if k == step and sx0 == ix0 and sy0 == iy0 and iw == ow * k and ih == oh * k:
            # Whole k × k blocks: PIL's reduce averages them exactly, several times faster
            # than the general box resize.
            return np.asarray(Image.fromarray(rgb).reduce(k), dtype=np.uint8)
        box = (sx0 - ix0, sy0 - iy0, sx1 - ix0, sy1 - iy0)
        # BOX is exact area averaging when reducing (no aliasing of fine texture);
        # upsampling (target finer than the scan) needs interpolation instead.
        method = Image.Resampling.BOX if step >= 1.0 else Image.Resampling.BICUBIC
        image = Image.fromarray(rgb).resize((ow, oh), method, box=box)
        return np.asarray(image, dtype=np.uint8)

    def _read_level(
        self, location: tuple[int, int], level: int, size: tuple[int, int]
    ) -> np.ndarray:
        """RGB pixels of ``level`` at level-0 ``location``, transparent parts white."""
        if self._slide is None:
            raise ValueError("the slide reader is closed")
        try:
            with self._lock:
                region = self._slide.read_region(location, level, size)
        except openslide.OpenSlideError as exc:
            raise SlideReadError(f"The slide is damaged or incomplete: {exc}.") from exc
        return _flatten_on_white(np.asarray(region, dtype=np.uint8))


def _check_mpp(target_mpp: float) -> float:
    value = _positive(target_mpp)
    if value is None:
        raise ValueError(f"target_mpp must be a positive number, got {target_mpp!r}")
    return value
