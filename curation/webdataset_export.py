"""Exporting a dataset version as WebDataset shards: tar files of JPEG tiles and their rows.

Row i of the manifest goes to shard i // shard_size (`shard-%06d.tar`), so shard boundaries
depend only on the manifest and the shard size. Each tile is two members with one key,
`<key>.jpg` (the tile at the manifest's tile_size and target_mpp) and `<key>.json` (its
manifest row); keys hold no dot (WebDataset splits a member name at the first one).

Every shard is written atomically (`curation.atomic`): a killed export leaves no partial
shard visible. Beside each finished shard a small `shard-%06d.done` (JSON: the manifest's
checksum, the shard size, the shard's counts and missing slides, its tar size) lets a rerun
with `resume=True` keep the shards that are complete for the same manifest and shard size.
`report.json` is written last, after shards beyond the new count (from an earlier export
with another shard size) are deleted. A slide that cannot be opened loses its tiles (counted as
skipped, named in `missing_slides`); the export goes on.
"""

import io
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from curation.atomic import atomic_write
from curation.manifest import file_sha256, iter_batches, manifest_rows
from curation.slide_metadata import SlideReadError, render_jpeg
from curation.tile_loader import ReaderCache, SlideUnavailableError

SHARD_PATTERN = "shard-{:06d}.tar"
DONE_SUFFIX = ".done"
REPORT_NAME = "report.json"
_HANDLES = 16

Progress = Callable[[int, int], None]


@dataclass
class ExportReport:
    """What an export wrote: `shards` [(name, bytes)] in order, tiles written and skipped,
    `missing_slides` [(slide_id, reason)] (one entry per slide, ascending)."""

    shards: list[tuple[str, int]] = field(default_factory=list)
    tiles_written: int = 0
    tiles_skipped: int = 0
    missing_slides: list[tuple[int, str]] = field(default_factory=list)

    def to_json(self) -> dict:
        """The ExportJob `report` shape of docs/datasets.md (plus the shard list)."""
        return {
            "shards": [{"name": name, "size": size} for name, size in self.shards],
            "tiles_written": self.tiles_written,
            "tiles_skipped": self.tiles_skipped,
            "missing_slides": [{"slide": s, "reason": r} for s, r in self.missing_slides],
        }


def tile_key(row: dict) -> str:
    """A tile's member key: zero-padded slide id and level-0 position, e.g. 00000012_1024_512."""
    return f"{int(row['slide_id']):08d}_{int(row['x'])}_{int(row['y'])}"


def _add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    """A regular file member with fixed metadata (no mtime, owner), so content alone decides
    the bytes."""
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    info.mtime = 0
    tar.addfile(info, io.BytesIO(data))


def _done_path(shard: Path) -> Path:
    return shard.with_name(shard.name.removesuffix(".tar") + DONE_SUFFIX)


def _finished(shard: Path, identity: dict) -> dict | None:
    """The shard's .done record when the shard is complete for this manifest and shard size."""
    try:
        record = json.loads(_done_path(shard).read_text())
        size = shard.stat().st_size
    except (OSError, ValueError):
        return None
    if any(record.get(k) != v for k, v in identity.items()) or record.get("size") != size:
        return None
    return record


def _remove_stale_shards(out_dir: Path, count: int) -> None:
    """Shards numbered `count` and above (left by an export with a smaller shard size or an
    older manifest) are not part of this export: delete them and their records."""
    for path in [*out_dir.glob("shard-*.tar"), *out_dir.glob(f"shard-*{DONE_SUFFIX}")]:
        number = path.name.removeprefix("shard-").split(".")[0]
        if number.isdigit() and int(number) >= count:
            path.unlink(missing_ok=True)


def _write_shard(
    path: Path,
    rows: list[dict],
    readers: ReaderCache,
    jpeg_quality: int,
    missing: dict[int, str],
) -> tuple[int, int, dict[int, str]]:
    """Write one shard (atomically); returns (written, skipped, missing slides of the shard)."""
    written = skipped = 0
    shard_missing: dict[int, str] = {}
    with atomic_write(path) as temporary:
        with tarfile.open(temporary, "w", format=tarfile.PAX_FORMAT) as tar:
            for row in rows:
                slide_id = int(row["slide_id"])
                try:
                    tile = readers.read(row)
                except (SlideUnavailableError, SlideReadError) as error:
                    skipped += 1
                    shard_missing.setdefault(slide_id, str(error))
                    missing.setdefault(slide_id, str(error))
                    continue
                key = tile_key(row)
                jpeg = render_jpeg(
                    Image.fromarray(np.ascontiguousarray(tile)), quality=jpeg_quality
                )
                _add_member(tar, f"{key}.jpg", jpeg)
                text = json.dumps(row, separators=(",", ":"), ensure_ascii=False)
                _add_member(tar, f"{key}.json", text.encode())
                written += 1
    return written, skipped, shard_missing


def write_shards(
    manifest: str | Path,
    out_dir: str | Path,
    *,
    shard_size: int = 1000,
    jpeg_quality: int = 90,
    progress: Progress | None = None,
    resume: bool = True,
) -> ExportReport:
    """Export the manifest's tiles to WebDataset shards in `out_dir` and write `report.json`
    (`ExportReport.to_json()`, plus the manifest checksum and shard size).

    With `resume`, a shard whose .done record matches this manifest (SHA-256) and shard size
    and whose tar has the recorded size is kept as it is (not rewritten). `progress(done,
    total)` counts manifest rows (kept shards count at once). Raises ValueError for a
    shard_size < 1 or a jpeg_quality outside 1..100.
    """
    if shard_size < 1:
        raise ValueError(f"shard_size must be ≥ 1, got {shard_size!r}")
    if not 1 <= jpeg_quality <= 100:
        raise ValueError(f"jpeg_quality must be in 1..100, got {jpeg_quality!r}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = manifest_rows(manifest)
    identity = {"manifest_sha256": file_sha256(manifest), "shard_size": shard_size}
    report = ExportReport()
    missing: dict[int, str] = {}
    readers = ReaderCache(_HANDLES)
    done = 0
    shard_index = 0
    pending: list = []  # record batches of the current shard
    pending_rows = 0

    def finish(batches: list) -> None:
        nonlocal done, shard_index
        path = out_dir / SHARD_PATTERN.format(shard_index)
        count = sum(b.num_rows for b in batches)
        record = _finished(path, identity) if resume else None
        if record is None:
            rows = [row for batch in batches for row in batch.to_pylist()]
            written, skipped, shard_missing = _write_shard(
                path, rows, readers, jpeg_quality, missing
            )
            record = {
                **identity,
                "rows": count,
                "written": written,
                "skipped": skipped,
                "missing": [[s, r] for s, r in sorted(shard_missing.items())],
                "size": path.stat().st_size,
            }
            with atomic_write(_done_path(path)) as temporary:
                temporary.write_text(json.dumps(record, sort_keys=True))
        else:
            for slide_id, reason in record["missing"]:
                missing.setdefault(int(slide_id), reason)
        report.shards.append((path.name, int(record["size"])))
        report.tiles_written += int(record["written"])
        report.tiles_skipped += int(record["skipped"])
        done += count
        shard_index += 1
        if progress:
            progress(done, total)

    try:
        for batch in iter_batches(manifest, batch_size=min(65536, max(shard_size, 1024))):
            start = 0
            while start < batch.num_rows:
                take = min(shard_size - pending_rows, batch.num_rows - start)
                pending.append(batch.slice(start, take))
                pending_rows += take
                start += take
                if pending_rows == shard_size:
                    finish(pending)
                    pending, pending_rows = [], 0
        if pending_rows:
            finish(pending)
    finally:
        readers.close()
    report.missing_slides = sorted(missing.items())
    _remove_stale_shards(out_dir, shard_index)
    with atomic_write(out_dir / REPORT_NAME) as temporary:
        temporary.write_text(json.dumps({**report.to_json(), **identity}, indent=1))
    return report
