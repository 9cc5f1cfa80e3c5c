"""Answering a file download with HTTP caching and byte ranges, streamed.

- `Content-Length` always; `Accept-Ranges: bytes`; `ETag` given by the caller (for
  manifests: the version's checksum and the format) and `Last-Modified`;
- `If-None-Match` (any of the tags, weak comparison, or `*`) → 304;
- `Range: bytes=a-b`, `bytes=a-`, `bytes=-n` (one range) → 206 with `Content-Range`; a
  range that starts past the end (or `-0`) → 416 with `Content-Range: bytes */size`;
  several ranges or a malformed header → the whole file (allowed by RFC 9110);
- `If-Range`: the range is honoured only when the tag (strong comparison) or the date
  matches, else the whole file;
- the body is streamed from a reader limited to the range: under gunicorn by sendfile(2)
  (the reader exposes its descriptor, positioned at the range's start, and the response
  its Content-Length), elsewhere by FileResponse's block iterator; a file is never read
  into memory.
"""

import os
import re
from pathlib import Path

from django.http import FileResponse, HttpResponse, JsonResponse
from django.utils.http import http_date, parse_http_date_safe

from webapp.core.paths import inside_data_root

RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
BLOCK = 1 << 20


class RangeReader:
    """A file object that reads at most `length` bytes from `start`."""

    def __init__(self, path: Path, start: int, length: int):
        self._file = open(path, "rb")  # noqa: SIM115 - FileResponse closes it
        self._file.seek(start)
        self._left = length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size is None or size < 0 else min(size, self._left)
        data = self._file.read(size)
        self._left -= len(data)
        return data

    def fileno(self) -> int:
        """The open file's descriptor, positioned at the range's start: gunicorn then sends
        the body with sendfile(2) from that position for Content-Length bytes (zero-copy, no
        Python loop); servers without sendfile call `read` as before."""
        return self._file.fileno()

    def close(self) -> None:
        self._file.close()


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def _weak(tag: str) -> str:
    return tag[2:] if tag.startswith("W/") else tag


def parse_range(header: str, size: int) -> tuple[int, int] | None | str:
    """(first, last) inclusive for one satisfiable range; None to send the whole file;
    "unsatisfiable" for a 416."""
    match = RANGE.match(header.strip().replace(" ", ""))
    if not match or (not match.group(1) and not match.group(2)):
        return None  # several ranges, another unit, or garbage: ignore it
    first, last = match.group(1), match.group(2)
    if not first:  # the last n bytes
        n = int(last)
        if n == 0 or size == 0:
            return "unsatisfiable"
        return max(size - n, 0), size - 1
    first = int(first)
    if last and int(last) < first:
        return None  # invalid: ignored
    if first >= size:
        return "unsatisfiable"
    return first, min(int(last) if last else size - 1, size - 1)


def file_response(
    request,
    path: Path,
    *,
    etag: str,
    content_type: str,
    filename: str,
    cache_control: str = "private, max-age=0, must-revalidate",
) -> HttpResponse:
    """The file at `path` as a download honouring the headers above. `etag` is the bare
    value (quoted here). Only files under DATA_ROOT are served (404 otherwise)."""
    path = inside_data_root(Path(path))
    try:
        stat = path.stat()
    except FileNotFoundError:
        return JsonResponse(
            {"detail": "The file is missing from the store.", "code": "file_missing"}, status=410
        )
    size, quoted = stat.st_size, f'"{etag}"'
    modified = http_date(stat.st_mtime)

    def headers(response: HttpResponse) -> HttpResponse:
        response["ETag"] = quoted
        response["Last-Modified"] = modified
        response["Accept-Ranges"] = "bytes"
        response["Cache-Control"] = cache_control
        return response

    none_match = request.headers.get("If-None-Match")
    if none_match and (none_match.strip() == "*" or _weak(quoted) in map(_weak, _tags(none_match))):
        return headers(HttpResponse(status=304))

    span = None
    header = request.headers.get("Range")
    if header:
        if_range = request.headers.get("If-Range", "").strip()
        honour = True
        if if_range:
            if if_range.startswith(('"', "W/")):
                honour = if_range == quoted  # strong comparison
            else:
                when = parse_http_date_safe(if_range)
                honour = when is not None and int(stat.st_mtime) <= when
        if honour:
            span = parse_range(header, size)
    if span == "unsatisfiable":
        response = JsonResponse(
            {"detail": f"The range is outside the file ({size:,} bytes).", "code": "range"},
            status=416,
        )
        response["Content-Range"] = f"bytes */{size}"
        return headers(response)

    if span is None:
        first, length, status = 0, size, 200
    else:
        first, length, status = span[0], span[1] - span[0] + 1, 206
    response = FileResponse(
        RangeReader(path, first, length),
        status=status,
        content_type=content_type,
        as_attachment=True,
        filename=filename,
    )
    response.block_size = BLOCK
    response["Content-Length"] = str(length)
    if status == 206:
        response["Content-Range"] = f"bytes {first}-{first + length - 1}/{size}"
    return headers(response)


def safe_name(name: str) -> str:
    """A file name that is safe in a Content-Disposition header."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "file"


def file_size(path: Path) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0
