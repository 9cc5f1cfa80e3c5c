"""Tests for curation.features: colour features and quality signals of RGB tiles.

Each colour space is checked against scikit-image's converter, and the full feature vector
against an independent per-tile computation (skimage in float64 + numpy/scipy statistics).
"""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from scipy.stats import circmean
from skimage import color

from curation import features as ft
from curation.features import FEATURE_NAMES, QUALITY_NAMES, colour_features, quality_signals

TILES_ROOT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tiles"
NCT_DIR = TILES_ROOT / "nct-crc-he"
FILTER_DIR = TILES_ROOT / "tissue-filter"


def _load_dir(folder: Path, pattern: str = "*") -> dict[str, np.ndarray]:
    if not folder.is_dir():
        pytest.skip(f"real test tiles not found at {folder} (shared data not mounted)")
    tiles = {p.name: np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob(pattern))}
    if not tiles:
        pytest.skip(f"no tiles matching {pattern!r} in {folder}")
    return tiles


@pytest.fixture(scope="module")
def nct_tiles() -> dict[str, np.ndarray]:
    """Nine 224×224 H&E tiles, one per NCT-CRC-HE class (the file-name prefix)."""
    return _load_dir(NCT_DIR, "*.tif")


@pytest.fixture(scope="module")
def filter_tiles() -> dict[str, np.ndarray]:
    """Tissue, no-tissue (incl. pen) and almost-white tiles."""
    return _load_dir(FILTER_DIR, "*.png")


@pytest.fixture(scope="module")
def random_tiles() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (3, 40, 50, 3), dtype=np.uint8)


def _tie_tiles() -> np.ndarray:
    """Every grey level plus colours with two equal maximal channels (hue ties), as tiles."""
    v = np.arange(256, dtype=np.uint8)
    low = (v // 3).astype(np.uint8)
    pixels = np.concatenate(
        [
            np.stack([v, v, v], -1),
            np.stack([v, v, low], -1),
            np.stack([v, low, v], -1),
            np.stack([low, v, v], -1),
            np.stack([low, low, v], -1),
        ]
    )
    return pixels.reshape(5, 16, 16, 3)


# --- names ------------------------------------------------------------------------------


def test_feature_names():
    assert len(FEATURE_NAMES) == 36 == len(set(FEATURE_NAMES))
    assert FEATURE_NAMES[:3] == ("rgb_r_mean", "rgb_r_std", "rgb_r_skew")
    assert {"lab_l_std", "hsv_h_mean", "hed_e_skew", "hed_d_mean"} <= set(FEATURE_NAMES)
    assert [name.split("_")[0] for name in FEATURE_NAMES[::9]] == ["rgb", "lab", "hsv", "hed"]
    assert QUALITY_NAMES == ("tissue_fraction", "sharpness", "pen_score", "white_score")


# --- colour-space conversions against skimage -------------------------------------------


def _our_planes(tiles: np.ndarray) -> np.ndarray:
    """(12, N, P) channel planes from the module's own converters."""
    u8 = ft._planar(tiles)
    planes = np.empty((12, *u8.shape[1:]), dtype=np.float32)
    ft._channel_planes(u8, planes, np.empty((3, *u8.shape[1:]), dtype=np.float32))
    return planes


def _skimage_planes(tiles: np.ndarray, space: str) -> np.ndarray:
    converted = {
        "rgb": lambda t: t / 255.0,
        "lab": color.rgb2lab,
        "hsv": color.rgb2hsv,
        "hed": color.rgb2hed,
    }[space](tiles)
    return np.moveaxis(converted.reshape(len(tiles), -1, 3), -1, 0)


# float32 against float64: 1e-5 absolute on [0, 1]-scale channels (RGB, HSV, and HED, whose
# optical densities stay below ~2); 1e-3 on LAB, whose L runs to 100 and a, b to ~±128.
TOLERANCE = {"rgb": 1e-5, "lab": 1e-3, "hsv": 1e-5, "hed": 1e-5}


@pytest.mark.parametrize("space", ft.SPACES)
def test_conversions_match_skimage_synthetic(space, random_tiles):
    for tiles in (random_tiles, _tie_tiles()):
        ours = _our_planes(tiles)[3 * ft.SPACES.index(space) : 3 * ft.SPACES.index(space) + 3]
        np.testing.assert_allclose(ours, _skimage_planes(tiles, space), atol=TOLERANCE[space])


@pytest.mark.parametrize("space", ft.SPACES)
def test_conversions_match_skimage_real(space, nct_tiles):
    tiles = np.stack(list(nct_tiles.values()))
    ours = _our_planes(tiles)[3 * ft.SPACES.index(space) : 3 * ft.SPACES.index(space) + 3]
    np.testing.assert_allclose(ours, _skimage_planes(tiles, space), atol=TOLERANCE[space])


# --- full features against an independent per-tile computation --------------------------


def _reference_features(tile: np.ndarray) -> np.ndarray:
    """The 36 features of one tile in float64: skimage conversions, numpy / scipy stats."""
    values = []
    for space in ft.SPACES:
        converted = _skimage_planes(tile[None], space)[:, 0]
        for k, channel in enumerate(converted):
            if space == "hsv" and k == 0:
                centre = circmean(channel, high=1.0, low=0.0)
                offsets = (channel - centre + 0.5) % 1.0 - 0.5
                mean, spread = centre % 1.0, offsets
            else:
                mean, spread = channel.mean(), channel
            deviation = spread - spread.mean()
            values += [mean, deviation.std(), np.cbrt((deviation**3).mean())]
    return np.array(values)


def _assert_features_close(ours: np.ndarray, reference: np.ndarray) -> None:
    """Means and stds to 1e-4 relative plus 2e-4 of the channel's scale; skew compared as
    its cube, the third central moment, to 1e-3 of the scale cubed, since the cube root
    magnifies float32 rounding of a near-zero moment. A channel's scale is its std plus ten
    times its conversion tolerance (flat tiles: the float32 conversion error then dominates).
    Hue means are compared on the circle."""
    floor = np.repeat([10 * TOLERANCE[space] for space in ft.SPACES], 9)
    scale = np.abs(reference[1::3]).repeat(3) + floor
    diff = ours - reference
    hue = FEATURE_NAMES.index("hsv_h_mean")
    diff[hue] = (diff[hue] + 0.5) % 1.0 - 0.5
    is_skew = np.array([name.endswith("_skew") for name in FEATURE_NAMES])
    assert np.all(
        np.abs(diff[~is_skew]) <= 1e-4 * np.abs(reference[~is_skew]) + 2e-4 * scale[~is_skew]
    ), dict(zip(np.array(FEATURE_NAMES)[~is_skew], diff[~is_skew], strict=True))
    cube_diff = ours[is_skew] ** 3 - reference[is_skew] ** 3
    assert np.all(np.abs(cube_diff) <= 1e-3 * scale[is_skew] ** 3), dict(
        zip(np.array(FEATURE_NAMES)[is_skew], cube_diff, strict=True)
    )


def test_features_match_reference_on_real_tiles(nct_tiles, filter_tiles):
    picked = [*nct_tiles.values(), *(t[:256, :256] for t in list(filter_tiles.values())[::3])]
    for tile in picked:
        _assert_features_close(
            colour_features(tile)[0].astype(np.float64), _reference_features(tile)
        )


def test_features_match_reference_on_synthetic_tiles(random_tiles):
    for tile in [*random_tiles, *_tie_tiles()]:
        _assert_features_close(
            colour_features(tile)[0].astype(np.float64), _reference_features(tile)
        )


# --- shapes, batching, errors -----------------------------------------------------------


def test_batch_shapes_and_chunking(random_tiles):
    batch = colour_features(random_tiles)
    assert batch.shape == (3, 36) and batch.dtype == np.float32
    assert colour_features(random_tiles[0]).shape == (1, 36)
    for chunk in (1, 2, 64):
        np.testing.assert_allclose(
            colour_features(random_tiles, chunk=chunk), batch, rtol=1e-5, atol=1e-6
        )
    quality = quality_signals(random_tiles)
    assert quality.shape == (3, 4) and quality.dtype == np.float32
    assert quality_signals(random_tiles[0]).shape == (1, 4)
    np.testing.assert_allclose(quality_signals(random_tiles, chunk=1), quality, rtol=1e-6)


def test_blocks_bound_memory_and_cover_all_tiles(monkeypatch):
    blocks = ft._blocks(10, 256 * 256, chunk=64)
    assert all(b.stop - b.start <= ft._BLOCK_PIXELS // (256 * 256) for b in blocks)
    assert [i for b in blocks for i in range(b.start, b.stop)] == list(range(10))
    assert len(ft._blocks(5, 10**7, chunk=64)) == 5  # a huge tile still goes one at a time
    # A batch split into an uneven last block gives the same features as tile by tile.
    monkeypatch.setattr(ft, "_BLOCK_PIXELS", 3 * 40 * 50)
    tiles = np.random.default_rng(1).integers(0, 256, (7, 40, 50, 3), dtype=np.uint8)
    single = np.concatenate([colour_features(t) for t in tiles])
    np.testing.assert_allclose(colour_features(tiles), single, rtol=1e-5, atol=1e-6)


def test_empty_batch():
    assert colour_features(np.zeros((0, 8, 8, 3), np.uint8)).shape == (0, 36)
    assert quality_signals(np.zeros((0, 8, 8, 3), np.uint8)).shape == (0, 4)


@pytest.mark.parametrize("fn", [colour_features, quality_signals])
def test_rejects_bad_input(fn):
    with pytest.raises(TypeError):
        fn(np.zeros((2, 8, 8, 3), np.float32))
    with pytest.raises(ValueError):
        fn(np.zeros((2, 8, 8, 4), np.uint8))
    with pytest.raises(ValueError):
        fn(np.zeros((8, 8), np.uint8))
    with pytest.raises(ValueError):
        fn(np.zeros((2, 8, 8, 3), np.uint8), chunk=0)


# --- statistics on synthetic tiles with known answers -----------------------------------


def _feature(values: np.ndarray, name: str) -> float:
    return float(values[..., FEATURE_NAMES.index(name)].squeeze())


def test_flat_tile_has_zero_spread():
    tile = np.full((32, 32, 3), (200, 100, 50), np.uint8)
    values = colour_features(tile)
    for stat in ("std", "skew"):
        spread = values[0, [i for i, n in enumerate(FEATURE_NAMES) if n.endswith(stat)]]
        np.testing.assert_allclose(spread, 0.0, atol=1e-3)
    assert _feature(values, "rgb_r_mean") == pytest.approx(200 / 255, abs=1e-6)
    assert _feature(values, "hsv_v_mean") == pytest.approx(200 / 255, abs=1e-6)
    assert _feature(values, "hsv_h_mean") == pytest.approx((50 / 150) / 6, abs=1e-6)


def test_skew_sign_follows_the_tail():
    pale = np.full((20, 20, 3), 220, np.uint8)
    pale[:2] = 40  # a few dark pixels: a long tail towards dark
    values = colour_features(pale)
    assert _feature(values, "rgb_g_skew") < 0 < _feature(values, "hed_h_skew")


def test_hue_statistics_are_circular():
    """Reds either side of hue 0 average to red (not cyan), with a small spread."""
    tile = np.zeros((10, 10, 3), np.uint8)
    tile[:5] = (200, 0, 24)  # hue 1 - 0.02
    tile[5:] = (200, 24, 0)  # hue 0.02
    values = colour_features(tile)
    hue_mean = _feature(values, "hsv_h_mean")
    assert min(hue_mean, 1.0 - hue_mean) < 1e-6
    assert _feature(values, "hsv_h_std") == pytest.approx(0.02, abs=1e-6)
    assert abs(_feature(values, "hsv_h_skew")) < 1e-3


# --- quality signals ---------------------------------------------------------------------


def _quality(tile: np.ndarray) -> dict[str, float]:
    return dict(zip(QUALITY_NAMES, quality_signals(tile)[0].tolist(), strict=True))


def test_quality_on_synthetic_tiles():
    white = _quality(np.full((16, 16, 3), 240, np.uint8))
    assert white["white_score"] == 1.0 and white["tissue_fraction"] == 0.0
    black = _quality(np.zeros((16, 16, 3), np.uint8))
    assert black["white_score"] == 0.0 and black["tissue_fraction"] == 0.0
    pink = _quality(np.full((16, 16, 3), (220, 130, 190), np.uint8))  # eosin-like
    assert pink["tissue_fraction"] == 1.0 and pink["pen_score"] == 0.0
    for ink in [(30, 60, 200), (40, 160, 70), (220, 30, 40)]:  # blue, green, red markers
        assert _quality(np.full((16, 16, 3), ink, np.uint8))["pen_score"] == 1.0, ink
    half = np.full((16, 16, 3), 240, np.uint8)
    half[:4] = (30, 60, 200)
    assert _quality(half)["pen_score"] == pytest.approx(0.25)
    assert _quality(half)["white_score"] == pytest.approx(0.75)


def test_sharpness_drops_with_blur():
    rng = np.random.default_rng(2)
    sharp = rng.integers(60, 200, (64, 64, 1), dtype=np.uint8).repeat(3, axis=-1)
    blurred = sharp.astype(np.float32)
    for _ in range(3):  # box blur along both axes
        blurred = (np.roll(blurred, 1, 0) + blurred + np.roll(blurred, -1, 0)) / 3
        blurred = (np.roll(blurred, 1, 1) + blurred + np.roll(blurred, -1, 1)) / 3
    s_sharp, s_blur, s_flat = quality_signals(
        np.stack([sharp, blurred.round().astype(np.uint8), np.full_like(sharp, 128)])
    )[:, 1]
    assert s_sharp > 20 * s_blur > 0 and s_flat == 0.0
    assert quality_signals(np.zeros((2, 2, 3), np.uint8))[0, 1] == 0.0


def test_sharpness_matches_scipy_laplace():
    from scipy import ndimage

    tile = np.random.default_rng(3).integers(0, 256, (30, 40, 3), dtype=np.uint8)
    grey = tile.astype(np.float64) @ np.array([0.2125, 0.7154, 0.0721])
    expected = ndimage.laplace(grey)[1:-1, 1:-1].var()
    assert quality_signals(tile)[0, 1] == pytest.approx(expected, rel=1e-4)


def test_quality_on_nct_classes(nct_tiles):
    for name, tile in nct_tiles.items():
        q = _quality(tile)
        assert q["pen_score"] < 0.01, name
        if name.split("-")[0] in {"DEB", "LYM", "MUS", "NORM", "STR"}:  # dense tissue
            assert q["tissue_fraction"] > 0.9 and q["white_score"] < 0.1, name
        if name.startswith("BACK"):
            assert q["white_score"] > 0.9 and q["tissue_fraction"] < 0.1, name


def test_quality_on_tissue_filter_tiles(filter_tiles):
    for name, tile in filter_tiles.items():
        q = _quality(tile)
        if name.startswith("tissue-"):
            assert q["tissue_fraction"] > 0.5 and q["pen_score"] < 0.01, name
            assert q["sharpness"] > 100, name
        elif "pen" in name:
            assert q["pen_score"] > 0.2, name
        elif name.startswith(("no-tissue", "almost-white")):
            assert q["tissue_fraction"] < 0.06 and q["white_score"] > 0.9, name
            assert q["pen_score"] < 0.01, name
        assert q["tissue_fraction"] + q["white_score"] <= 1.0 + 1e-6, name
