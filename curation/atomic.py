"""Write files so that readers never see a partial one.

A writer gets a hidden temporary path in the target folder (same file system, so the final
rename is atomic), writes and fsyncs it, and the temporary is renamed over the target only on
success. A killed writer leaves a hidden `.<name>.<uuid>.tmp` that folder scans skip and
`curation.tile_store.remove_stale_temporaries`-style cleaners can delete.
"""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temporary_path(path: Path) -> Path:
    """A hidden name next to `path`, unique per attempt so concurrent writers never share one."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}{TEMP_SUFFIX}")


def fsync_file(path: Path) -> None:
    with path.open("rb+") as handle:
        os.fsync(handle.fileno())


@contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on normal exit it is fsynced and renamed to `path`.

    On any exception (KeyboardInterrupt too) the temporary is removed and `path` keeps its old
    content, or stays absent. The parent folder is created.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = temporary_path(path)
    try:
        yield temporary
        fsync_file(temporary)  # the rename must not outlive the data after a power cut
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
