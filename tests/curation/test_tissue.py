"""Tests for curation.tissue: tissue detection, pen marks and tile classification."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from curation.slide_reader import SlideReader
from curation.synthetic_slides import BORDER, PEN, TISSUE, TissueCanvas, write_pyramidal_tiff
from curation.tissue import (
    TissueParams,
    classify_tile,
    detect_tissue,
    load_mask_png,
    pen_mask,
    save_mask_png,
)
from tests.slide_corpus import REAL_SVS, SHARED_DATA

TILES = SHARED_DATA / "tiles" / "tissue-filter"
TILE_FILES = sorted(TILES.glob("*.png")) if TILES.is_dir() else []
OVERVIEW_MPP = 4.0


def _expected_class(name: str) -> str:
    if name.startswith("tissue"):
        return "tissue"
    if "pen" in name:
        return "pen"
    return "background"  # no-tissue*, almost-white*


@pytest.mark.skipif(not TILE_FILES, reason=f"labelled tiles not present under {TILES}")
@pytest.mark.parametrize("path", TILE_FILES, ids=lambda p: p.name)
def test_real_tiles_are_classified_as_named(path: Path) -> None:
    rgb = np.asarray(Image.open(path).convert("RGB"))
    assert classify_tile(rgb) == _expected_class(path.name)


@pytest.mark.skipif(not TILE_FILES, reason=f"labelled tiles not present under {TILES}")
def test_pen_mask_on_real_tiles() -> None:
    for path in TILE_FILES:
        fraction = pen_mask(np.asarray(Image.open(path).convert("RGB"))).mean()
        if "pen" in path.name:
            assert fraction > 0.2, path.name
        else:
            assert fraction < 0.02, path.name  # stains are not ink


def test_pen_mask_colours() -> None:
    inks = {
        "green": (40, 110, 70),
        "blue": (35, 60, 140),
        "red": (200, 30, 40),
        "black": (30, 30, 35),
    }
    stains = {"eosin": (230, 150, 200), "haematoxylin": (110, 80, 160), "dab": (150, 100, 50)}
    for name, colour in inks.items():
        assert pen_mask(np.full((4, 4, 3), colour, np.uint8)).all(), name
    for name, colour in stains.items():
        assert not pen_mask(np.full((4, 4, 3), colour, np.uint8)).any(), name
    assert not pen_mask(np.full((4, 4, 3), 245, np.uint8)).any()  # glass


@pytest.fixture(scope="module", params=[0, 2, 4], ids=lambda s: f"seed{s}")
def generated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """(overview, ground-truth labels at overview scale) of a generated 0.5 µm/px slide.

    Seeds 0, 2, 4 have blue, black and green pen strokes; all have a dark left border.
    """
    width, height = 3000, 2000
    canvas = TissueCanvas(width, height, seed=request.param)
    path = write_pyramidal_tiff(
        tmp_path_factory.mktemp("tissue") / "slide.tiff",
        canvas,
        width=width,
        height=height,
        mpp=0.5,
    )
    with SlideReader(path) as reader:
        overview, scale = reader.overview(OVERVIEW_MPP)
    f = round(scale)
    h, w = overview.shape[:2]
    labels = canvas.labels(0, 0, w * f, h * f).reshape(h, f, w, f).transpose(0, 2, 1, 3)
    return overview, labels.reshape(h, w, f * f)


def test_detection_matches_ground_truth(generated) -> None:
    overview, labels = generated
    mask = detect_tissue(overview, um_per_px=OVERVIEW_MPP)
    assert mask.shape == overview.shape[:2] and mask.dtype == bool
    truth = (labels == TISSUE).mean(-1) >= 0.5
    iou = (mask & truth).sum() / (mask | truth).sum()
    assert iou > 0.9
    # No tissue on the pen stroke or the dark border, nor anywhere near them.
    assert not (mask & (labels == PEN).any(-1)).any()
    assert not (mask & (labels == BORDER).any(-1)).any()


def test_pen_detection_can_be_switched_off(generated) -> None:
    overview, labels = generated
    pen = (labels == PEN).any(-1)
    on = detect_tissue(overview, um_per_px=OVERVIEW_MPP)
    off = detect_tissue(overview, um_per_px=OVERVIEW_MPP, params=TissueParams(pen_detection=False))
    assert not (on & pen).any()
    assert off.sum() >= on.sum()  # switching it off never removes tissue


def test_blank_and_black_images_have_no_tissue() -> None:
    glass = np.full((200, 300, 3), 242, np.uint8)
    glass += np.random.default_rng(0).integers(0, 4, glass.shape, dtype=np.uint8)
    assert not detect_tissue(glass, um_per_px=8.0).any()
    black = np.full((200, 300, 3), 20, np.uint8)
    assert not detect_tissue(black, um_per_px=8.0).any()


def test_minimum_area_and_holes() -> None:
    image = np.full((300, 300, 3), 243, np.uint8)
    image[50:250, 50:250] = (200, 120, 180)  # a 1.6 mm square of "tissue" at 8 µm/px
    image[140:160, 140:160] = 243  # a 160 µm lumen inside it
    image[10:14, 280:284] = (200, 120, 180)  # a 32 µm speck
    mask = detect_tissue(image, um_per_px=8.0)
    assert mask[150, 150]  # hole filled
    assert not mask[12, 282]  # speck dropped
    kept = detect_tissue(image, um_per_px=8.0, params=TissueParams(fill_holes=False))
    assert not kept[150, 150]


def test_detect_tissue_validates() -> None:
    with pytest.raises(ValueError):
        detect_tissue(np.zeros((10, 10), np.uint8), um_per_px=8.0)
    with pytest.raises(ValueError):
        detect_tissue(np.zeros((10, 10, 3), np.uint8), um_per_px=0.0)


@pytest.mark.skipif(not REAL_SVS.is_file(), reason=f"real slide {REAL_SVS} not present")
def test_real_slide_detection() -> None:
    with SlideReader(REAL_SVS) as reader:
        overview, _ = reader.overview(4.0)
    mask = detect_tissue(overview, um_per_px=4.0)
    assert 0.15 < mask.mean() < 0.6  # a strip of skin on glass
    assert not mask[:20, :20].any()  # the top-left corner is glass


def test_mask_png_round_trip(tmp_path: Path) -> None:
    mask = np.zeros((37, 53), bool)
    mask[5:20, 10:40] = True
    path = save_mask_png(mask, tmp_path / "masks" / "slide.png")
    assert path.is_file() and path.stat().st_size < 1000
    assert np.array_equal(load_mask_png(path), mask)
    assert not [p for p in path.parent.iterdir() if p.name != "slide.png"]  # no temp left
    Image.fromarray((mask * 255).astype(np.uint8)).save(tmp_path / "eight.png")
    assert np.array_equal(load_mask_png(tmp_path / "eight.png"), mask)
    with pytest.raises(ValueError):
        save_mask_png(np.zeros((2, 2, 2), bool), tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()
