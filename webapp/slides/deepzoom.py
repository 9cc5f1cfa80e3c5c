"""Deep-zoom tiles for OpenSeadragon, fast.

Three layers keep tile serving cheap:
- an LRU of open OpenSlide handles and their DeepZoomGenerator per process (opening a slide
  parses its whole TIFF directory: milliseconds to seconds for big files);
- the encoded JPEG in Redis, keyed by content fingerprint and tile geometry, shared by all
  web processes;
- an ETag derived from the same key, so a browser's revalidation costs no tile work at all.
"""

import hashlib
import io
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import openslide
from django.conf import settings
from django.core.cache import cache
from openslide.deepzoom import DeepZoomGenerator
from PIL import Image

from webapp.core.errors import NotFound
from webapp.slides.models import Slide, SlideStatus


@dataclass(frozen=True)
class TileGeometry:
    tile_size: int
    overlap: int
    quality: int

    @classmethod
    def from_settings(cls) -> "TileGeometry":
        return cls(
            settings.DEEPZOOM_TILE_SIZE, settings.DEEPZOOM_OVERLAP, settings.DEEPZOOM_JPEG_QUALITY
        )


class SlideHandleCache:
    """A thread-safe LRU of (OpenSlide, DeepZoomGenerator) per slide file and fingerprint.

    OpenSlide handles are safe to share between threads; the lock only guards the dict.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: OrderedDict[tuple, tuple[openslide.OpenSlide, DeepZoomGenerator]] = (
            OrderedDict()
        )
        self._lock = threading.Lock()

    def get(self, path: str, fingerprint: str, geometry: TileGeometry) -> DeepZoomGenerator:
        key = (path, fingerprint, geometry.tile_size, geometry.overlap)
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key][1]
        handle = openslide.OpenSlide(path)  # outside the lock: opening can be slow
        generator = DeepZoomGenerator(
            handle, tile_size=geometry.tile_size, overlap=geometry.overlap, limit_bounds=True
        )
        with self._lock:
            self._items[key] = (handle, generator)
            self._items.move_to_end(key)
            while len(self._items) > self.capacity:
                _, (old, _) = self._items.popitem(last=False)
                old.close()
        return generator

    def discard(self, path: str) -> None:
        """Forget a slide's handles: after an OpenSlide error a handle stays unusable."""
        with self._lock:
            for key in [k for k in self._items if k[0] == path]:
                self._items.pop(key)[0].close()

    def clear(self) -> None:
        with self._lock:
            for handle, _ in self._items.values():
                handle.close()
            self._items.clear()


handles = SlideHandleCache(settings.SLIDE_HANDLE_CACHE_SIZE)


@dataclass(frozen=True)
class TileSource:
    """What tile serving needs to know of a slide: a few fields, cheap to keep in memory."""

    pk: int
    path: str
    fingerprint: str
    status: str
    failure_reason: str
    mpp_x: float | None
    mpp_y: float | None

    @classmethod
    def of(cls, slide: Slide) -> "TileSource":
        return cls(
            slide.pk,
            str(slide.absolute_path),
            slide.fingerprint,
            slide.status,
            slide.failure_reason,
            slide.mpp_x,
            slide.mpp_y,
        )


_sources: dict[int, tuple[float, TileSource]] = {}
_sources_lock = threading.Lock()


def tile_source(pk: int) -> TileSource:
    """The slide's TileSource, from a per-process cache that lives a few seconds.

    A viewer fetches dozens of tiles a second from one slide; looking the slide up once per
    TTL instead of once per tile takes a query off every warm tile. A re-scan's changes reach
    the tiles within the TTL (the fingerprint in the cache key keeps old and new tiles apart).
    """
    now = time.monotonic()
    with _sources_lock:
        hit = _sources.get(pk)
    if hit and now - hit[0] < settings.DEEPZOOM_SLIDE_TTL:
        return hit[1]
    slide = Slide.objects.select_related("root").filter(pk=pk).first()
    if slide is None:
        raise NotFound("No slide with this id.")
    source = TileSource.of(slide)
    with _sources_lock:
        if len(_sources) >= 4 * settings.SLIDE_HANDLE_CACHE_SIZE:
            _sources.clear()  # bounded memory; refilled from the database on demand
        _sources[pk] = (now, source)
    return source


def _usable(source: TileSource) -> None:
    if source.status != SlideStatus.REGISTERED:
        raise NotFound(f"The slide is {source.status}: {source.failure_reason or 'no image'}")


def generator_for(source: TileSource, geometry: TileGeometry) -> DeepZoomGenerator:
    _usable(source)
    try:
        return handles.get(source.path, source.fingerprint, geometry)
    except (openslide.OpenSlideError, OSError) as exc:
        raise NotFound(f"The slide cannot be opened now: {exc}") from exc


def descriptor(source: TileSource) -> dict:
    """The DZI descriptor as OpenSeadragon's JSON tile source, plus mpp for the scale bar."""
    geometry = TileGeometry.from_settings()
    width, height = generator_for(source, geometry).level_dimensions[-1]
    return {
        "Image": {
            "xmlns": "http://schemas.microsoft.com/deepzoom/2008",
            "Url": f"/api/slides/{source.pk}/dzi_files/",
            "Format": "jpeg",
            "Overlap": str(geometry.overlap),
            "TileSize": str(geometry.tile_size),
            "Size": {"Width": str(width), "Height": str(height)},
        },
        "mpp": {"x": source.mpp_x, "y": source.mpp_y},
    }


def descriptor_xml(source: TileSource) -> str:
    return generator_for(source, TileGeometry.from_settings()).get_dzi("jpeg")


def tile_etag(source: TileSource, level: int, col: int, row: int) -> str:
    g = TileGeometry.from_settings()
    raw = f"{source.fingerprint}:{g.tile_size}:{g.overlap}:{g.quality}:{level}:{col}:{row}"
    return hashlib.sha1(raw.encode()).hexdigest()


def _encode(tile: Image.Image, quality: int) -> bytes:
    if tile.mode != "RGB":
        # Pixels outside the scanned area are transparent; show them as glass-white.
        flat = Image.new("RGB", tile.size, (255, 255, 255))
        flat.paste(tile, mask=tile.split()[-1] if tile.mode == "RGBA" else None)
        tile = flat
    out = io.BytesIO()
    tile.save(out, "JPEG", quality=quality)
    return out.getvalue()


def tile_jpeg(source: TileSource, level: int, col: int, row: int) -> bytes:
    """The JPEG bytes of one tile, from Redis when another request made it already."""
    _usable(source)
    key = f"dz:{tile_etag(source, level, col, row)}"
    data = cache.get(key)
    if data is not None:
        return data
    geometry = TileGeometry.from_settings()
    generator = generator_for(source, geometry)
    if not 0 <= level < generator.level_count:
        raise NotFound(f"No deep-zoom level {level}; the slide has {generator.level_count}.")
    cols, rows = generator.level_tiles[level]
    if not (0 <= col < cols and 0 <= row < rows):
        raise NotFound(f"No tile {col}_{row} at level {level} ({cols}×{rows} tiles).")
    try:
        tile = generator.get_tile(level, (col, row))
    except openslide.OpenSlideError as exc:
        handles.discard(source.path)
        raise NotFound(f"The tile cannot be read: {exc}") from exc
    data = _encode(tile, geometry.quality)
    cache.set(key, data)
    return data
