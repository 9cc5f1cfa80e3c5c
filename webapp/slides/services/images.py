"""Thumbnails and associated images (label, macro), rendered once and kept on disk.

Files are keyed by the slide's content fingerprint, so a moved slide keeps its images and a
changed file gets new ones.
"""

import os
import tempfile
from pathlib import Path

from django.conf import settings

from curation.slide_metadata import SlideReadError, slide_images
from webapp.core.errors import NotFound
from webapp.slides.models import Slide, SlideStatus


def _image_dir(fingerprint: str) -> Path:
    return settings.DATA_ROOT / "slide-images" / fingerprint[:2] / fingerprint


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def slide_images_ensure(*, slide: Slide) -> None:
    """Render the slide's images unless they exist already. Raises SlideReadError."""
    folder = _image_dir(slide.fingerprint)
    if (folder / "thumbnail.jpg").is_file():
        return
    images = slide_images(slide.absolute_path)
    # The thumbnail goes last: its presence means the whole set is on disk.
    for key, data in sorted(images.items(), key=lambda item: item[0] == "thumbnail"):
        _write_atomic(folder / f"{key}.jpg", data)


def slide_image_path(*, slide: Slide, name: str) -> Path:
    """The JPEG file of the thumbnail (`name="thumbnail"`) or an associated image."""
    if slide.status != SlideStatus.REGISTERED or not slide.fingerprint:
        raise NotFound(f"The slide is {slide.status}; it has no images.")
    key = "thumbnail" if name == "thumbnail" else f"associated-{name}"
    if name != "thumbnail" and name not in slide.associated_images:
        raise NotFound(f"The slide has no associated image named {name!r}.")
    path = _image_dir(slide.fingerprint) / f"{key}.jpg"
    if not path.is_file():
        try:
            slide_images_ensure(slide=slide)
        except SlideReadError as exc:
            raise NotFound(f"The slide's images cannot be rendered: {exc}") from exc
    if not path.is_file():
        raise NotFound(f"The slide has no image named {name!r}.")
    return path
