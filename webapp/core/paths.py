"""Files the API serves must lie under DATA_ROOT, whatever a stored relative path says."""

import os
from pathlib import Path

from django.conf import settings

from webapp.core.errors import NotFound


def inside_data_root(path: Path) -> Path:
    """`path` if it resolves (symlinks followed) to a place under DATA_ROOT, else a 404: a
    stored `folder` / `path` with `..` or a symlink out of DATA_ROOT is never served."""
    root = Path(os.path.realpath(settings.DATA_ROOT))
    resolved = Path(os.path.realpath(path))
    if resolved != root and root not in resolved.parents:
        raise NotFound("No such file.")
    return path
