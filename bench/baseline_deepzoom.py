"""The baseline for the deep-zoom benchmark: the plain way to serve deep-zoom tiles.

The idea of openslide-python's deep-zoom example server, reduced to its core: on every tile
request, open the slide, build a `DeepZoomGenerator`, render the tile, encode it as JPEG. No
handle cache, no tile cache, no ETag, no database, no authentication: nothing that our server
does on top (which makes the comparison conservative for ours).

`BASELINE_KEEP_OPEN=1` keeps one open slide and generator per file and process instead (as
openslide's multi-slide example does with its LRU), to show how much of the difference the
handle cache alone makes.

Served by gunicorn with the same workers and threads as the web app:
    BASELINE_SLIDES='{"big": "/path/big.tiff"}' python -m gunicorn bench.baseline_deepzoom:app
URLs: /health and /<name>_files/<level>/<col>_<row>.jpeg. Geometry and JPEG quality are the
web app's defaults (254 px tiles, 1 px overlap, quality 80, limit_bounds), so both servers
render the same tiles.
"""

import io
import json
import os
import re
import threading

import openslide
from openslide.deepzoom import DeepZoomGenerator

TILE_SIZE = int(os.environ.get("DEEPZOOM_TILE_SIZE", "254"))
OVERLAP = int(os.environ.get("DEEPZOOM_OVERLAP", "1"))
QUALITY = int(os.environ.get("DEEPZOOM_JPEG_QUALITY", "80"))
SLIDES: dict[str, str] = json.loads(os.environ.get("BASELINE_SLIDES", "{}"))
KEEP_OPEN = os.environ.get("BASELINE_KEEP_OPEN") == "1"
TILE_PATH = re.compile(r"/(?P<name>[\w.-]+)_files/(?P<level>\d+)/(?P<col>\d+)_(?P<row>\d+)\.jpeg")

_open: dict[str, DeepZoomGenerator] = {}
_open_lock = threading.Lock()


def _generator(path: str) -> tuple[DeepZoomGenerator, openslide.OpenSlide | None]:
    """A generator for `path` and the handle to close after the request (None: kept open)."""
    if not KEEP_OPEN:
        handle = openslide.OpenSlide(path)
        return DeepZoomGenerator(handle, TILE_SIZE, OVERLAP, limit_bounds=True), handle
    with _open_lock:
        if path not in _open:
            _open[path] = DeepZoomGenerator(
                openslide.OpenSlide(path), TILE_SIZE, OVERLAP, limit_bounds=True
            )
        return _open[path], None


def _tile_jpeg(path: str, level: int, col: int, row: int) -> bytes | None:
    generator, handle = _generator(path)
    try:
        if level >= generator.level_count:
            return None
        cols, rows = generator.level_tiles[level]
        if col >= cols or row >= rows:
            return None
        tile = generator.get_tile(level, (col, row))
        if tile.mode != "RGB":
            tile = tile.convert("RGB")
        out = io.BytesIO()
        tile.save(out, "JPEG", quality=QUALITY)
        return out.getvalue()
    finally:
        if handle is not None:
            handle.close()


def _reply(start_response, status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/health":
        return _reply(start_response, "200 OK", b"ok", "text/plain")
    match = TILE_PATH.fullmatch(path)
    slide = SLIDES.get(match["name"]) if match else None
    if slide is None:
        return _reply(start_response, "404 Not Found", b"no such slide", "text/plain")
    data = _tile_jpeg(slide, int(match["level"]), int(match["col"]), int(match["row"]))
    if data is None:
        return _reply(start_response, "404 Not Found", b"no such tile", "text/plain")
    return _reply(start_response, "200 OK", data, "image/jpeg")
