"""Tests for curation.slide_reader: reading slides at a physical resolution (µm/px)."""

from pathlib import Path

import numpy as np
import openslide
import pytest

from curation.slide_metadata import SlideReadError
from curation.slide_reader import MppUnknownError, SlideReader, resolve_mpp
from curation.synthetic_slides import TissueCanvas, write_pyramidal_tiff
from tests.slide_corpus import REAL_SVS

W, H = 1536, 1024


def _box_downsample(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean of each factor × factor block, rounded: the reference area resampling."""
    h, w = image.shape[0] // factor, image.shape[1] // factor
    blocks = image[: h * factor, : w * factor].astype(np.float64)
    blocks = blocks.reshape(h, factor, w, factor, 3).mean(axis=(1, 3))
    return np.floor(blocks + 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def canvas() -> TissueCanvas:
    return TissueCanvas(W, H, seed=5)


@pytest.fixture(scope="module")
def slides(tmp_path_factory: pytest.TempPathFactory, canvas: TissueCanvas) -> dict[str, Path]:
    """0.25 µm/px slides, lossless so pixel comparisons are exact up to rounding.

    "step2" stores levels 1, 2, 4, 8 ... ; "step4" stores 1, 4, 16 (as Aperio does).
    """
    folder = tmp_path_factory.mktemp("reader")
    common = {"width": W, "height": H, "mpp": 0.25, "compression": "zlib"}
    return {
        "step2": write_pyramidal_tiff(folder / "s2.tiff", canvas, level_step=2, **common),
        "step4": write_pyramidal_tiff(folder / "s4.tiff", canvas, level_step=4, **common),
        "aperio": write_pyramidal_tiff(
            folder / "a.svs", canvas, aperio=True, level_step=4, **common
        ),
    }


def _level0(path: Path, x: int, y: int, w: int, h: int) -> np.ndarray:
    with openslide.OpenSlide(str(path)) as slide:
        return np.asarray(slide.read_region((x, y), 0, (w, h)))[..., :3]


# -- resolve_mpp ------------------------------------------------------------------------


def test_resolve_mpp_sources() -> None:
    props = {"openslide.mpp-x": "0.2525", "openslide.mpp-y": "0.2475"}
    assert resolve_mpp(props) == (pytest.approx(0.25), "metadata")
    assert resolve_mpp({"openslide.objective-power": "20"}) == (
        pytest.approx(0.5),
        "objective-power",
    )
    assert resolve_mpp({"openslide.objective-power": "40"})[0] == pytest.approx(0.25)
    # A user's override wins over everything the file says.
    assert resolve_mpp(props, override=0.3) == (0.3, "override")


def test_resolve_mpp_ignores_garbage_and_explains_unknown() -> None:
    garbage = {"openslide.mpp-x": "0", "openslide.mpp-y": "nan", "openslide.objective-power": "x"}
    with pytest.raises(MppUnknownError, match="mpp override") as info:
        resolve_mpp(garbage)
    assert isinstance(info.value, SlideReadError)
    with pytest.raises(ValueError):
        resolve_mpp({}, override=-1.0)


# -- levels and resampling --------------------------------------------------------------


def test_reader_basics(slides: dict[str, Path]) -> None:
    with SlideReader(slides["step2"]) as reader:
        assert reader.dimensions == (W, H)
        assert reader.mpp == pytest.approx(0.25)
        assert reader.mpp_source == "metadata"
        assert reader.path == slides["step2"]
    with SlideReader(slides["aperio"]) as reader:
        assert reader.mpp == pytest.approx(0.25) and reader.level_downsamples[1] == 4


@pytest.mark.parametrize("kind", ["step2", "step4", "aperio"])
@pytest.mark.parametrize("target", [0.25, 0.3, 0.5, 0.75, 1.0, 1.7, 2.0, 5.0])
def test_level_is_never_coarser_than_target(
    slides: dict[str, Path], kind: str, target: float
) -> None:
    with SlideReader(slides[kind]) as reader:
        level = reader.level_for(target)
        mpps = [reader.mpp * d for d in reader.level_downsamples]
        assert mpps[level] <= target * 1.001
        # ... and it is the coarsest such level: no finer-than-needed decoding.
        assert all(m > target * 1.001 for m in mpps if m > mpps[level])


def test_level_for_finer_than_scan_is_level0(slides: dict[str, Path]) -> None:
    with SlideReader(slides["step2"]) as reader:
        assert reader.level_for(0.1) == 0
        assert reader.level_for(0.5) == 1  # stored exactly: read as is
        assert reader.level_for(0.4999) == 1  # within the 1e-3 tolerance
        assert reader.level_for(0.49) == 0


@pytest.mark.parametrize("kind", ["step2", "step4"])
def test_read_half_resolution_matches_level0_downsample(slides: dict[str, Path], kind: str) -> None:
    """0.5 µm/px from a 0.25 µm/px slide = 2×2 means of the level-0 pixels."""
    x, y, size = 400, 300, 256
    expected = _box_downsample(_level0(slides[kind], x, y, 2 * size, 2 * size), 2)
    with SlideReader(slides[kind]) as reader:
        tile = reader.read(x, y, size, 0.5)
        assert reader.level_for(0.5) == (1 if kind == "step2" else 0)
    assert tile.shape == (size, size, 3) and tile.dtype == np.uint8
    diff = np.abs(tile.astype(int) - expected.astype(int))
    assert diff.max() <= 2  # rounding in the writer's pyramid, nothing more
    assert diff.mean() < 0.6


def test_read_non_integer_factor_is_area_average(slides: dict[str, Path]) -> None:
    """0.75 µm/px from 0.25 µm/px: 3×3 block means (read from level 0 on a step-4 slide)."""
    x, y, size = 200, 100, 128
    expected = _box_downsample(_level0(slides["step4"], x, y, 3 * size, 3 * size), 3)
    with SlideReader(slides["step4"]) as reader:
        tile = reader.read(x, y, size, 0.75)
    assert np.abs(tile.astype(int) - expected.astype(int)).max() <= 1


def test_read_same_area_at_any_level(slides: dict[str, Path]) -> None:
    """A tile covers size × target / mpp level-0 pixels, whichever level serves it."""
    with SlideReader(slides["step2"]) as a, SlideReader(slides["step4"]) as b:
        ta, tb = a.read(512, 256, 96, 0.5), b.read(512, 256, 96, 0.5)
        # Level 1 (2×) of one, level 0 of the other (its next level is 4×: too coarse).
        assert a.level_downsamples[a.level_for(0.5)] == 2 and b.level_for(0.5) == 0
    assert np.abs(ta.astype(int) - tb.astype(int)).mean() < 2.0


def test_read_outside_is_white(slides: dict[str, Path]) -> None:
    with SlideReader(slides["step2"]) as reader:
        tile = reader.read(W - 64, H - 64, 128, 1.0)  # 512 level-0 px: mostly outside
    assert (tile[64:, 64:] == 255).all()


def test_read_validates_arguments(slides: dict[str, Path]) -> None:
    with SlideReader(slides["step2"]) as reader:
        with pytest.raises(ValueError):
            reader.read(0, 0, 0, 0.5)
        with pytest.raises(ValueError):
            reader.read(0, 0, 16, 0.0)


def test_overview_scale_and_size(slides: dict[str, Path], canvas: TissueCanvas) -> None:
    with SlideReader(slides["aperio"]) as reader:
        image, scale = reader.overview(4.0)
        assert scale == pytest.approx(16.0)
        assert image.shape == (H // 16, W // 16, 3)
        tx, ty = canvas.tissue_point(0)
        # Tissue at its level-0 position shows up at position / scale in the overview.
        assert image[int(ty / scale), int(tx / scale)].mean() < 230
        bx, by = canvas.background_point(64)
        assert image[int(by / scale), int(bx / scale)].mean() > 230


def test_overview_is_bounded(slides: dict[str, Path]) -> None:
    with SlideReader(slides["step2"]) as reader:
        image, scale = reader.overview(0.25)  # asks for level 0 of the whole slide
    assert max(image.shape[:2]) <= 4096
    assert scale >= 1.0


def test_mpp_override_and_unknown(tmp_path: Path, canvas: TissueCanvas) -> None:
    """A generic TIFF without resolution has no mpp: refuse unless the user gives one."""
    import tifffile

    path = tmp_path / "nompp.tiff"
    data = canvas.tile(0, 0, 256, 256)
    tifffile.imwrite(path, data, tile=(128, 128), photometric="rgb")
    with openslide.OpenSlide(str(path)) as slide:
        if openslide.PROPERTY_NAME_MPP_X in slide.properties:
            pytest.skip("this OpenSlide invents an mpp for TIFFs without resolution")
    with pytest.raises(MppUnknownError, match="override"):
        SlideReader(path)
    with SlideReader(path, mpp_override=0.5) as reader:
        assert (reader.mpp, reader.mpp_source) == (0.5, "override")
        assert reader.read(0, 0, 128, 1.0).shape == (128, 128, 3)


def test_unreadable_file_raises_slide_read_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.svs"
    bad.write_bytes(b"not a slide at all")
    with pytest.raises(SlideReadError):
        SlideReader(bad)


@pytest.mark.skipif(not REAL_SVS.is_file(), reason=f"real slide {REAL_SVS} not present")
def test_real_svs() -> None:
    with SlideReader(REAL_SVS) as reader:
        assert reader.mpp == pytest.approx(0.499) and reader.mpp_source == "metadata"
        tile = reader.read(800, 1200, 224, 1.0)
        assert tile.shape == (224, 224, 3)
        image, scale = reader.overview(8.0)
        assert scale == pytest.approx(8.0 / 0.499)
        assert image.shape[0] == round(reader.dimensions[1] / scale)
