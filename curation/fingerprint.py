"""Content fingerprints that recognise a slide after a move or copy, cheaply.

Hashing a whole 3 GB slide on every scan of a 134k-slide archive is not affordable, so the
fingerprint hashes the size plus three 1 MiB samples (head, middle, tail) of each file of the
slide. Slide files differ in their headers (scan date, barcode, offsets) and their tiles, so
two different slides sharing all samples and the size is not a practical concern.
"""

import hashlib
from pathlib import Path

SAMPLE_BYTES = 1 << 20


def _slide_files(open_path: Path) -> list[Path]:
    """The files that make up the slide opened through `open_path`."""
    suffix = open_path.suffix.lower()
    if suffix == ".dcm":
        return sorted(p for p in open_path.parent.iterdir() if p.suffix.lower() == ".dcm")
    if suffix == ".mrxs":
        companion = open_path.with_suffix("")
        extra = sorted(p for p in companion.iterdir() if p.is_file()) if companion.is_dir() else []
        return [open_path, *extra]
    return [open_path]


def _hash_file(digest, path: Path, label: str) -> None:
    size = path.stat().st_size
    digest.update(f"{label}:{size};".encode())
    with path.open("rb") as f:
        for offset in sorted(
            {0, max(0, size // 2 - SAMPLE_BYTES // 2), max(0, size - SAMPLE_BYTES)}
        ):
            f.seek(offset)
            digest.update(f.read(SAMPLE_BYTES))


def fingerprint(open_path: Path) -> str:
    """A hex SHA-256 over the sizes and sampled content of the slide's files."""
    digest = hashlib.sha256()
    main, *companions = _slide_files(Path(open_path))
    # The main file's name stays out of the hash so a renamed slide keeps its fingerprint;
    # MIRAX companions are named by their index file, so their names are content.
    _hash_file(digest, main, "")
    for path in companions:
        _hash_file(digest, path, "" if path.suffix.lower() == ".dcm" else path.name)
    return digest.hexdigest()
