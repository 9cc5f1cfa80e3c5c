"""Slide files for tests: the real shared SVS and a corpus of broken files."""

import os
from pathlib import Path

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_SVS = SHARED_DATA / "slides" / "cmu-1-small-region.svs"


def write_bad_corpus(folder: Path, outside: Path) -> dict[str, str]:
    """Broken files a lab meets in practice; returns {relative path: expected reason text}."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "empty.svs").write_bytes(b"")
    (folder / "random.svs").write_bytes(os.urandom(200_000))
    from PIL import Image

    Image.new("RGB", (64, 64), (200, 100, 150)).save(folder / "photo.ndpi", format="JPEG")
    source = REAL_SVS if REAL_SVS.is_file() else None
    expected = {
        "empty.svs": "empty",
        "random.svs": "matches no whole-slide format",
        "photo.ndpi": "JPEG image",
        "escape.svs": "outside the slide root",
    }
    if source:
        data = source.read_bytes()
        (folder / "truncated.svs").write_bytes(data[: len(data) // 3])
        expected["truncated.svs"] = "damaged or incomplete"
    outside.mkdir(parents=True, exist_ok=True)
    target = outside / "secret.svs"
    target.write_bytes(b"not yours")
    (folder / "escape.svs").symlink_to(target)
    (folder / "notes.txt").write_text("not a slide, ignored")
    return expected
