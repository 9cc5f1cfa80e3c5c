"""Finding whole-slide images under a folder.

A slide is one file for most formats, but a file plus a companion folder for MIRAX (.mrxs)
and a whole folder of .dcm files for DICOM. Discovery works on names only (no file is opened)
so a scan of a large archive stays cheap; reading happens per slide, later.
"""

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Extensions OpenSlide reads (plus the generic TIFF ones). A file with one of these names is a
# slide candidate: if it turns out unreadable it is registered as failed, with the reason.
SLIDE_EXTENSIONS = frozenset(
    {".svs", ".tif", ".tiff", ".ndpi", ".vms", ".vmu", ".scn", ".mrxs", ".svslide", ".bif"}
)
DICOM_EXTENSION = ".dcm"


@dataclass(frozen=True)
class SlideCandidate:
    """A slide found under a root.

    `relative_path` identifies it within the root (a folder for DICOM); `open_path` is what
    OpenSlide opens; `problem` is set when the candidate must not be opened at all (a link out
    of the root), with a sentence a person understands.
    """

    relative_path: str
    open_path: Path
    problem: str = ""

    @property
    def name(self) -> str:
        return Path(self.relative_path).name


def _inside(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _check_link(path: Path, root: Path) -> str:
    if not path.is_symlink():
        return ""
    target = Path(os.path.realpath(path))
    if not target.exists():
        return f"Broken symbolic link (points to {os.readlink(path)}, which does not exist)."
    if not _inside(target, root):
        return "Symbolic link points outside the slide root; it is not followed for safety."
    return ""


def discover_slides(root: Path) -> Iterator[SlideCandidate]:
    """Yield every slide candidate under `root`, in a stable (sorted) order.

    Hidden files and folders are skipped; symlinked folders are not entered (a link can point
    anywhere); symlinked files are reported, with a problem when they leave the root.
    """
    root = Path(os.path.realpath(root))
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        here = Path(dirpath)
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        filenames = sorted(f for f in filenames if not f.startswith("."))

        dicoms = [f for f in filenames if f.lower().endswith(DICOM_EXTENSION)]
        if dicoms:
            # A DICOM WSI is a folder of instances: one slide, opened through any of its files.
            rel = here.relative_to(root).as_posix() if here != root else "."
            yield SlideCandidate(relative_path=rel, open_path=here / dicoms[0])

        mrxs_stems = set()
        for name in filenames:
            path = here / name
            suffix = path.suffix.lower()
            if suffix not in SLIDE_EXTENSIONS:
                continue
            if suffix == ".mrxs":
                mrxs_stems.add(path.stem)
            yield SlideCandidate(
                relative_path=path.relative_to(root).as_posix(),
                open_path=path,
                problem=_check_link(path, root),
            )
        # A MIRAX slide's data folder belongs to its .mrxs file; do not scan it as slides.
        dirnames[:] = [d for d in dirnames if d not in mrxs_stems]


def candidate_at(root: Path, relative_path: str) -> SlideCandidate:
    """The candidate for one known relative path (as discovery would have yielded it)."""
    root = Path(os.path.realpath(root))
    path = root / relative_path
    if path.is_dir() and not path.is_symlink():
        dicoms = sorted(p for p in path.iterdir() if p.suffix.lower() == DICOM_EXTENSION)
        open_path = dicoms[0] if dicoms else path
        return SlideCandidate(relative_path=relative_path, open_path=open_path)
    return SlideCandidate(
        relative_path=relative_path, open_path=path, problem=_check_link(path, root)
    )


def stat_candidate(candidate: SlideCandidate) -> tuple[int, float]:
    """(bytes, modification time) of the slide's files, without following links out of the
    root: enough to tell an unchanged slide without reading it."""
    path = candidate.open_path
    if candidate.problem:
        st = path.lstat()
        return st.st_size, st.st_mtime
    if path.suffix.lower() == DICOM_EXTENSION:
        stats = [p.stat() for p in path.parent.iterdir() if p.suffix.lower() == DICOM_EXTENSION]
        return sum(s.st_size for s in stats), max(s.st_mtime for s in stats)
    st = path.stat()
    size, mtime = st.st_size, st.st_mtime
    if path.suffix.lower() == ".mrxs":
        companion = path.with_suffix("")
        if companion.is_dir():
            for p in companion.iterdir():
                s = p.stat()
                size, mtime = size + s.st_size, max(mtime, s.st_mtime)
    return size, mtime
