"""Pathology augmentations and DINOv2 multi-crop: Reinhard transfer on real pixels, dihedral
transforms, the batch stain transfer, per-slide statistics and the multi-crop pipeline."""

import numpy as np
import pytest
import torch
from skimage import color

from curation.slide_reader import SlideReader
from curation.synthetic_slides import TissueCanvas
from trainer.data import (
    BatchStainTransfer,
    MultiCropAugmentation,
    MultiCropConfig,
    PerSlideStats,
    StainStats,
    dihedral,
    invert_dihedral,
    lab_to_rgb,
    random_rot90_flip,
    reinhard_transfer,
    rgb_to_lab,
    stain_stats,
    tissue_mask,
)

# Level-0 positions on tissue of the real CMU-1-Small-Region slide (0.499 µm/px).
_REAL_TISSUE = [(1000, 1500), (1200, 2000)]


@pytest.fixture
def real_tiles(real_svs):
    with SlideReader(real_svs) as reader:
        return np.stack([reader.read(x, y, 256, 0.5) for x, y in _REAL_TISSUE])


@pytest.fixture(scope="module")
def canvas_tile():
    """A tile of a generated slide, stained differently from the real one (brownish)."""
    canvas = TissueCanvas(2048, 2048, seed=3)
    x, y = canvas.tissue_point(0)
    return canvas.tile(x, y, 256, 256)


def test_lab_conversions_match_skimage():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (20000, 3), dtype=np.uint8)
    lab = rgb_to_lab(pixels)
    assert np.abs(lab - color.rgb2lab(pixels[None])[0]).max() < 1e-3
    assert np.array_equal(lab_to_rgb(lab), pixels)  # exact round trip on uint8
    inside = color.rgb2lab(rng.random((1, 5000, 3)))[0].astype(np.float32)
    expected = np.rint(color.lab2rgb(inside[None].astype(np.float64))[0] * 255)
    assert np.abs(lab_to_rgb(inside).astype(int) - expected).max() <= 1


def test_reinhard_moves_tissue_statistics_to_the_target(real_tiles, canvas_tile):
    target = stain_stats(canvas_tile)
    assert np.abs(stain_stats(real_tiles).mean - target.mean).max() > 10  # really different
    for tile in real_tiles:
        out = reinhard_transfer(tile, None, target)
        assert out.dtype == np.uint8 and out.shape == tile.shape
        lab = rgb_to_lab(out[tissue_mask(tile)]).astype(np.float64)
        assert np.abs(lab.mean(axis=0) - target.mean).max() < 0.5
        assert np.abs(lab.std(axis=0) / target.std - 1).max() < 0.05


def test_reinhard_leaves_glass_white(real_tiles, canvas_tile):
    tile = real_tiles[0].copy()
    tile[:, :100] = (243, 244, 246)  # glass
    out = reinhard_transfer(tile, stain_stats(real_tiles), stain_stats(canvas_tile))
    assert np.array_equal(out[:, :100], tile[:, :100])
    assert not np.array_equal(out[:, 100:], tile[:, 100:])
    assert not tissue_mask(tile[:, :100]).any()
    # Statistics leave glass out: adding glass does not move them.
    own = stain_stats(real_tiles[0])
    assert np.allclose(
        stain_stats(np.concatenate([real_tiles[0], tile[:, :100]], axis=1)).mean,
        own.mean,
        atol=1e-6,
    )


def test_reinhard_is_the_identity_when_source_is_target(real_tiles):
    tile = real_tiles[1]
    stats = stain_stats(tile)
    out = reinhard_transfer(tile, stats, StainStats(stats.mean.copy(), stats.std.copy()))
    diff = np.abs(out.astype(int) - tile)
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01
    assert np.array_equal(reinhard_transfer(tile, None, stats), out)


def test_dihedral_transforms_keep_content_all_reachable_and_invertible():
    rng = np.random.default_rng(1)
    tile = rng.integers(0, 256, (6, 6, 3), dtype=np.uint8)
    images = [dihedral(tile, k) for k in range(8)]
    assert len({im.tobytes() for im in images}) == 8  # all distinct
    for k, im in enumerate(images):
        assert np.array_equal(np.sort(im, axis=None), np.sort(tile, axis=None))
        assert np.array_equal(invert_dihedral(im, k), tile)
        # The torch (C, H, W) version is the same transform.
        chw = torch.from_numpy(tile).permute(2, 0, 1)
        assert np.array_equal(dihedral(chw, k).permute(1, 2, 0).numpy(), im)
    generator = torch.Generator().manual_seed(0)
    seen = {random_rot90_flip(tile, generator).tobytes() for _ in range(200)}
    assert seen == {im.tobytes() for im in images}
    again = torch.Generator().manual_seed(0)
    first = [random_rot90_flip(tile, again).tobytes() for _ in range(5)]
    generator = torch.Generator().manual_seed(0)
    assert first == [random_rot90_flip(tile, generator).tobytes() for _ in range(5)]


def test_batch_stain_transfer_takes_another_slide_of_the_batch(real_tiles, canvas_tile):
    canvas = TissueCanvas(2048, 2048, seed=11)
    x, y = canvas.tissue_point(0)
    tiles = [real_tiles[0], real_tiles[1], canvas_tile, canvas.tile(x, y, 256, 256)]
    slides = ["real", "real", "gen3", "gen11"]
    transfer = BatchStainTransfer(p=1.0)
    out, donors = transfer(tiles, slides, generator=torch.Generator().manual_seed(0))
    pairs = zip(donors, slides, strict=True)
    assert all(d is not None and d != s and d in slides for d, s in pairs)
    for tile, new, donor in zip(tiles, out, donors, strict=True):
        own = [t for t, s in zip(tiles, slides, strict=True) if s == donor]
        target = stain_stats(np.stack(own))
        lab = rgb_to_lab(new[tissue_mask(tile)]).astype(np.float64)
        assert np.abs(lab.mean(axis=0) - target.mean).max() < 6  # slide-level, not per tile
    # Seeded: the same draws again; p = 0 and a one-slide batch change nothing.
    again, donors2 = transfer(tiles, slides, generator=torch.Generator().manual_seed(0))
    assert donors2 == donors and all(np.array_equal(a, b) for a, b in zip(out, again, strict=True))
    same, none = BatchStainTransfer(p=0.0)(tiles, slides)
    assert none == [None] * 4 and all(a is b for a, b in zip(same, tiles, strict=True))
    _, alone = transfer(tiles[:2], slides[:2])
    assert alone == [None, None]
    # Across many draws with p = 0.5 both outcomes happen and donors stay in the batch.
    small = [t[:32, :32] for t in tiles]
    g = torch.Generator().manual_seed(1)
    drawn = [d for _ in range(10) for d in BatchStainTransfer(p=0.5)(small, slides, generator=g)[1]]
    assert None in drawn and {d for d in drawn if d} <= set(slides)


def test_per_slide_stats_json_round_trip_and_from_the_slide(real_svs, real_tiles, tmp_path):
    stats = PerSlideStats()
    from_slide = stats.add_slide(7, real_svs, _REAL_TISSUE, tile_size=256, target_mpp=0.5)
    assert from_slide == stain_stats(real_tiles)
    stats.add_tiles("other", real_tiles[:1])
    assert 7 in stats and "7" in stats and len(stats) == 2
    stats.save(tmp_path / "stats.json")
    loaded = PerSlideStats.load(tmp_path / "stats.json")
    assert loaded[7] == stats[7] and loaded["other"] == stats["other"]
    assert PerSlideStats.from_json(stats.to_json()).to_json() == stats.to_json()
    # BatchStainTransfer uses precomputed statistics where it has them.
    _, donors = BatchStainTransfer(p=1.0)(
        [real_tiles[0], real_tiles[1]], [7, "other"], stats=loaded
    )
    assert donors == ["other", 7]


_SMALL = dict(global_crops_size=64, local_crops_size=32, local_crops_number=3)


def test_multi_crop_shapes_and_defaults(real_tiles, canvas_tile):
    defaults = MultiCropConfig()
    assert (defaults.global_crops_size, defaults.local_crops_size) == (224, 96)
    assert defaults.global_crops_scale == (0.32, 1.0) and defaults.local_crops_scale == (0.05, 0.32)
    assert defaults.local_crops_number == 8 and defaults.solarization is False
    assert defaults.reinhard and defaults.rot90_flip
    aug = MultiCropAugmentation(MultiCropConfig(**_SMALL))
    assert "Solarize" not in repr(aug.global2) + repr(aug.global1) + repr(aug.local)
    solar = MultiCropAugmentation(MultiCropConfig(**_SMALL, solarization=True))
    assert "RandomSolarize" in repr(solar.global2)
    torch.manual_seed(0)
    crops = aug(real_tiles[0], stain_stats(canvas_tile))
    assert [c.shape for c in crops["global_crops"]] == [(3, 64, 64)] * 2
    assert [c.shape for c in crops["local_crops"]] == [(3, 32, 32)] * 3
    assert all(c.dtype == torch.float32 for c in crops["global_crops"] + crops["local_crops"])
    for crop in crops["global_crops"] + crops["local_crops"]:  # normalised, not in [0, 1]
        assert float(crop.min()) < 0 or float(crop.max()) > 1


def test_multi_crop_is_deterministic_with_a_seed(real_tiles):
    aug = MultiCropAugmentation(MultiCropConfig(**_SMALL))
    torch.manual_seed(3)
    first = aug(real_tiles[0])
    torch.manual_seed(3)
    second = aug(real_tiles[0])
    third = aug(real_tiles[0])
    for key in ("global_crops", "local_crops"):
        assert all(torch.equal(a, b) for a, b in zip(first[key], second[key], strict=True))
    assert not torch.equal(first["local_crops"][0], third["local_crops"][0])


def test_switches_turn_augmentations_off(real_tiles, canvas_tile):
    tile = real_tiles[0][:64, :64].copy()
    off = MultiCropConfig(
        global_crops_size=64,
        global_crops_scale=(1.0, 1.0),
        local_crops_size=64,
        local_crops_scale=(1.0, 1.0),
        local_crops_number=2,
        colour_jitter_p=0.0,
        grayscale_p=0.0,
        blur_p=(0.0, 0.0, 0.0),
        reinhard=False,
        rot90_flip=False,
        horizontal_flip=False,
    )
    expected = (
        torch.from_numpy(tile).permute(2, 0, 1).float() / 255
        - torch.tensor([0.485, 0.456, 0.406])[:, None, None]
    ) / torch.tensor([0.229, 0.224, 0.225])[:, None, None]
    torch.manual_seed(0)
    crops = MultiCropAugmentation(off)(tile, stain_stats(canvas_tile))
    for crop in crops["global_crops"] + crops["local_crops"]:
        assert torch.allclose(crop, expected, atol=1e-5)
    # Reinhard on: the same pipeline then sees the transferred tile.
    on = MultiCropAugmentation(MultiCropConfig(**{**off.to_dict(), "reinhard": True}))
    moved = on(tile, stain_stats(canvas_tile))["global_crops"][0]
    assert not torch.allclose(moved, expected, atol=1e-2)
    # rot90_flip on: every crop is one of the 8 dihedral images of the tile.
    rot = MultiCropAugmentation(MultiCropConfig(**{**off.to_dict(), "rot90_flip": True}))
    torch.manual_seed(0)
    outs = rot(tile)["local_crops"]
    candidates = [dihedral(expected, k) for k in range(8)]
    for crop in outs:
        assert any(torch.allclose(crop, c, atol=1e-5) for c in candidates)
