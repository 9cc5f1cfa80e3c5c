"""Opening a slide with OpenSlide and describing it, with errors a person understands."""

import io
import math
from dataclasses import dataclass, field
from pathlib import Path

import openslide
from PIL import Image

# Magic numbers of files that are often misnamed as slides, to explain a refusal.
_MAGIC = [
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"\x89PNG", "a PNG image"),
    (b"%PDF", "a PDF document"),
    (b"PK\x03\x04", "a ZIP archive"),
    (b"GIF8", "a GIF image"),
    (b"\x1f\x8b", "a gzip archive"),
]
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


class SlideReadError(Exception):
    """The slide cannot be used; the message says why in plain words."""


@dataclass
class SlideMetadata:
    vendor: str
    level_count: int
    width: int
    height: int
    level_dimensions: list[list[int]]
    level_downsamples: list[float]
    mpp_x: float | None
    mpp_y: float | None
    objective_power: float | None
    properties: dict[str, str]
    associated_images: list[str] = field(default_factory=list)


def _float_or_none(value: str | None) -> float | None:
    try:
        number = float(value) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) and number > 0 else None


def _tiff_first_ifd(head: bytes) -> int | None:
    order = "little" if head[:2] == b"II" else "big"
    if head[2:4] in (b"*\x00", b"\x00*"):
        return int.from_bytes(head[4:8], order)
    return int.from_bytes(head[8:16], order)  # BigTIFF


def _explain_unsupported(path: Path, size: int) -> str:
    """Why OpenSlide refused the file, from its first bytes: a sentence for the user."""
    with path.open("rb") as f:
        head = f.read(16)
    for magic, what in _MAGIC:
        if head.startswith(magic):
            return f"Not a slide OpenSlide can read: the file is {what}, not a whole-slide image."
    if head.startswith(_TIFF_MAGIC):
        first_ifd = _tiff_first_ifd(head)
        if first_ifd is not None and first_ifd >= size:
            return (
                "The slide is damaged or incomplete: the file is cut short (its TIFF directory "
                "lies beyond the end of the file), as after an interrupted copy."
            )
        return (
            "Not a slide OpenSlide can read: the file is a TIFF but not a tiled slide pyramid "
            "(or it is damaged or incomplete)."
        )
    return "Not a slide OpenSlide can read: its content matches no whole-slide format."


def open_slide(path: Path) -> openslide.OpenSlide:
    """Open a slide or raise SlideReadError with the reason."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise SlideReadError("The file does not exist (it was moved or deleted).") from exc
    except OSError as exc:
        raise SlideReadError(f"The file cannot be read: {exc.strerror}.") from exc
    if path.is_file() and size == 0:
        raise SlideReadError("The file is empty (0 bytes).")
    try:
        return openslide.OpenSlide(str(path))
    except openslide.OpenSlideUnsupportedFormatError as exc:
        raise SlideReadError(_explain_unsupported(path, size)) from exc
    except openslide.OpenSlideError as exc:
        raise SlideReadError(f"The slide is damaged or incomplete: {exc}.") from exc
    except OSError as exc:
        raise SlideReadError(f"The file cannot be read: {exc}.") from exc


def _probe_pixels(slide: openslide.OpenSlide) -> None:
    """Decode a few tiles so a truncated or corrupt file fails now, not in the viewer."""
    last = slide.level_count - 1
    w, h = slide.level_dimensions[last]
    slide.read_region((0, 0), last, (min(w, 512), min(h, 512)))
    w0, h0 = slide.dimensions
    d = slide.level_downsamples[last]
    for x, y in ((0, 0), (w0 // 2, h0 // 2), (max(0, w0 - 256), max(0, h0 - 256))):
        slide.read_region((x, y), 0, (min(256, w0), min(256, h0)))
    if d > 1:  # the lowest level alone may not hold the tail of the file
        slide.read_region((max(0, w0 - 1024), max(0, h0 - 1024)), 0, (1, 1))


def describe_slide(slide: openslide.OpenSlide) -> SlideMetadata:
    props = dict(slide.properties)
    width, height = slide.dimensions
    return SlideMetadata(
        vendor=props.get(openslide.PROPERTY_NAME_VENDOR, "") or "unknown",
        level_count=slide.level_count,
        width=width,
        height=height,
        level_dimensions=[list(d) for d in slide.level_dimensions],
        level_downsamples=[float(d) for d in slide.level_downsamples],
        mpp_x=_float_or_none(props.get(openslide.PROPERTY_NAME_MPP_X)),
        mpp_y=_float_or_none(props.get(openslide.PROPERTY_NAME_MPP_Y)),
        objective_power=_float_or_none(props.get(openslide.PROPERTY_NAME_OBJECTIVE_POWER)),
        properties=props,
        associated_images=sorted(slide.associated_images.keys()),
    )


def read_slide_metadata(path: Path) -> SlideMetadata:
    """Open the slide, check that its pixels decode, and describe it.

    Raises SlideReadError (never an OpenSlide or OS error) for anything unusable.
    """
    slide = open_slide(path)
    try:
        if slide.dimensions[0] <= 0 or slide.dimensions[1] <= 0:
            raise SlideReadError("The slide has no pixels (zero width or height).")
        _probe_pixels(slide)
        return describe_slide(slide)
    except openslide.OpenSlideError as exc:
        raise SlideReadError(f"The slide is damaged or incomplete: {exc}.") from exc
    finally:
        slide.close()


def render_jpeg(image: Image.Image, max_size: int | None = None, quality: int = 85) -> bytes:
    """Flatten onto white (slides carry alpha outside the scanned area) and encode as JPEG."""

    if max_size:
        image = image.copy()
        image.thumbnail((max_size, max_size))
    if image.mode in ("RGBA", "LA", "P"):
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.split()[-1])
        image = flat
    elif image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def slide_images(path: Path, *, thumbnail_size: int = 512) -> dict[str, bytes]:
    """JPEG bytes of the slide's thumbnail (key "thumbnail") and associated images
    (keys prefixed "associated-")."""
    slide = open_slide(path)
    try:
        images = {"thumbnail": render_jpeg(slide.get_thumbnail((thumbnail_size, thumbnail_size)))}
        for name, image in slide.associated_images.items():
            images[f"associated-{name}"] = render_jpeg(image, max_size=2048)
        return images
    except openslide.OpenSlideError as exc:
        raise SlideReadError(f"The slide is damaged or incomplete: {exc}.") from exc
    finally:
        slide.close()
