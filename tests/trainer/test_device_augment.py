"""Augmentation on the training device from draws made in the workers: each operation against
its reference (torchvision's functional ops, the CPU Reinhard transfer, the dihedral
transforms), crop-major order, RandomResizedCrop's ranges, and draws fixed by the RNG."""

import numpy as np
import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from curation.synthetic_slides import TissueCanvas
from trainer.data.augmentations import (
    MultiCropConfig,
    PerSlideStats,
    dihedral,
    reinhard_transfer,
    stain_stats,
)
from trainer.data.device_augment import (
    DeviceCropCollate,
    _blur,
    _colour_matrices,
    _crop_boxes,
    _reinhard,
    augment_batch,
)
from trainer.data.masking import BlockMaskGenerator


def he_tile(seed: int, size: int = 64) -> np.ndarray:
    """A tile of generated tissue (each seed stains a little differently)."""
    canvas = TissueCanvas(1024, 1024, seed=seed)
    x, y = canvas.tissue_point(0)
    return canvas.tile(x, y, size, size)


PLAIN = dict(
    colour_jitter_p=0.0,
    grayscale_p=0.0,
    blur_p=(0.0, 0.0, 0.0),
    reinhard=False,
    rot90_flip=False,
    horizontal_flip=False,
    normalize=False,
)


def _collate(cfg, stats=None, p=0.5):
    masks = BlockMaskGenerator((2, 2), 0.1, 0.5, min_block_patches=1)
    return DeviceCropCollate(cfg, masks, 0.5, p, stats)


def _colours(n, size=32):
    return [
        (np.full((size, size, 3), (10 * i, 100 + i, 200 - i), np.uint8), {"slide_id": i})
        for i in range(n)
    ]


def test_full_tile_box_gives_the_tile_and_crops_are_crop_major():
    cfg = MultiCropConfig(
        global_crops_size=32, local_crops_size=16, local_crops_number=2,
        global_crops_scale=(1.0, 1.0), **PLAIN,
    )  # fmt: skip
    samples = _colours(3)
    batch = _collate(cfg)(samples)
    boxes = batch["draws"]["boxes"]
    assert boxes.shape == (3 * 4, 4)
    out = augment_batch(batch, cfg, "cpu")
    assert out["global"].shape == (6, 3, 32, 32) and out["local"].shape == (6, 3, 16, 16)
    for crop in range(2):
        for tile in range(3):
            expected = torch.tensor(samples[tile][0][0, 0], dtype=torch.float32) / 255
            got = out["global"][crop * 3 + tile]
            assert torch.allclose(got, expected[:, None, None].expand_as(got), atol=1e-5)
    rng = np.random.default_rng(0)
    tile = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    batch = _collate(cfg)([(tile, {"slide_id": 1})])
    batch["draws"]["boxes"][:2] = torch.tensor([0.0, 0.0, 32.0, 32.0])
    exact = augment_batch(batch, cfg, "cpu")["global"][0]
    assert torch.allclose(exact, torch.from_numpy(tile).permute(2, 0, 1).float() / 255, atol=1e-5)


def test_crop_boxes_follow_random_resized_crop():
    torch.manual_seed(0)
    boxes = _crop_boxes(4000, 256, 256, (0.05, 0.32), None)
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    share = w * h / 256**2
    assert boxes[:, :2].min() >= 0 and boxes[:, 2:].max() <= 256
    assert share.min() >= 0.04 and share.max() <= 0.33
    assert (w / h).min() >= 0.7 and (w / h).max() <= 1.43
    assert 0.15 < share.mean() < 0.22  # uniform over the range: mean 0.185
    torch.manual_seed(0)
    assert torch.equal(boxes, _crop_boxes(4000, 256, 256, (0.05, 0.32), None))


def test_each_colour_operation_matches_torchvision():
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.uniform(0.2, 0.8, (1, 3, 16, 16)).astype(np.float32))
    identity = torch.tensor([[1.0, 1.0, 1.0, 0.0]])

    def apply(op: int, value: float) -> torch.Tensor:
        """Only operation ``op`` (0 brightness, 1 contrast, 2 saturation, 3 hue) changes."""
        factors = identity.clone()
        factors[0, op] = value
        order = torch.tensor([[op, *[i for i in range(4) if i != op]]])
        a, t = _colour_matrices(x, factors, order)
        return (torch.einsum("kij,kjhw->kihw", a, x) + t[:, :, None, None]).clamp(0, 1)

    assert torch.allclose(apply(0, 1.3), TF.adjust_brightness(x, 1.3).clamp(0, 1), atol=1e-5)
    assert torch.allclose(apply(1, 0.7), TF.adjust_contrast(x, 0.7), atol=1e-5)
    assert torch.allclose(apply(2, 1.2), TF.adjust_saturation(x, 1.2).clamp(0, 1), atol=1e-5)
    assert torch.allclose(apply(3, 0.0), x, atol=1e-5)
    factors = identity.clone()
    factors[0, 3] = 0.1
    a, t = _colour_matrices(x, factors, torch.tensor([[3, 0, 1, 2]]))
    hue = torch.einsum("kij,kjhw->kihw", a, x) + t[:, :, None, None]  # unclamped
    luma = torch.tensor([0.299, 0.587, 0.114])  # YIQ's Y, which the hue turn keeps
    before, after = (torch.einsum("c,kchw->khw", luma, v) for v in (x, hue))
    assert torch.allclose(before, after, atol=1e-3)
    assert (hue - x).abs().max() > 0.01  # the colours did turn


def test_blur_matches_torchvision_and_sigma_zero_is_identity():
    rng = np.random.default_rng(2)
    x = torch.from_numpy(rng.uniform(0, 1, (2, 3, 24, 24)).astype(np.float32))
    out = _blur(x.clone(), torch.tensor([1.5, 0.0]), 9)
    assert torch.allclose(out[0], TF.gaussian_blur(x[0], [9, 9], [1.5, 1.5]), atol=1e-5)
    assert torch.equal(out[1], x[1])


def test_reinhard_on_the_device_matches_the_cpu_transfer():
    source_tile, target_tile = he_tile(seed=3), he_tile(seed=4)
    source, target = stain_stats(source_tile), stain_stats(target_tile)
    expected = reinhard_transfer(source_tile, source, target)
    u8 = torch.from_numpy(source_tile).permute(2, 0, 1)[None]
    stain = torch.tensor(np.stack([[source.mean, source.std], [target.mean, target.std]]))
    got = _reinhard(u8.float() / 255, stain[None].float(), torch.tensor([True]), u8)
    got = torch.round(got[0] * 255).permute(1, 2, 0).numpy().astype(int)
    diff = np.abs(got - expected.astype(int))
    assert diff.max() <= 2 and (diff <= 1).mean() > 0.99


def test_dihedral_draws_turn_the_crops():
    plain = {**PLAIN, "rot90_flip": True}
    cfg = MultiCropConfig(
        global_crops_size=32, local_crops_number=0, global_crops_scale=(1.0, 1.0), **plain
    )
    tile = np.random.default_rng(5).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    torch.manual_seed(3)
    batch = _collate(cfg)([(tile, {"slide_id": 1})] * 8)
    batch["draws"]["boxes"][:] = torch.tensor([0.0, 0.0, 32.0, 32.0])
    out = augment_batch(batch, cfg, "cpu")["global"]
    plain = torch.from_numpy(tile).permute(2, 0, 1).float() / 255
    ks = batch["draws"]["dihedral"]
    assert len(set(ks.tolist())) > 2
    for crop, k in zip(out, ks.tolist(), strict=True):
        assert torch.allclose(crop, dihedral(plain, k), atol=1e-5)


def test_draws_are_fixed_by_the_rng_and_stain_donors_are_other_slides():
    cfg = MultiCropConfig(global_crops_size=32, local_crops_size=16, local_crops_number=2)
    samples = [(he_tile(seed=i % 3), {"slide_id": i % 3}) for i in range(6)]
    stats = PerSlideStats({i: stain_stats(he_tile(seed=i)) for i in range(3)})
    collate = _collate(cfg, stats, p=1.0)
    torch.manual_seed(9)
    a = collate(samples)
    torch.manual_seed(9)
    b = collate(samples)
    assert all(torch.equal(a["draws"][k], b["draws"][k]) for k in a["draws"])
    assert torch.equal(a["stain"], b["stain"]) and a["stain_apply"].all()
    for i, (_, row) in enumerate(samples):
        own = stats[row["slide_id"]]
        assert np.allclose(a["stain"][i, 0, 0].numpy(), own.mean, atol=1e-4)
        assert not np.allclose(a["stain"][i, 1, 0].numpy(), own.mean, atol=1e-4)
    out = augment_batch(a, cfg, "cpu")
    assert torch.isfinite(out["global"]).all() and out["masks"].shape == (12, 4)


@pytest.mark.parametrize("size", [32, 40])
def test_shapes_for_other_tile_sizes(size):
    cfg = MultiCropConfig(global_crops_size=16, local_crops_size=8, local_crops_number=3)
    tiles = [(np.full((size, size, 3), 120, np.uint8), {"slide_id": 0})] * 2
    out = augment_batch(_collate(cfg)(tiles), cfg, "cpu")
    assert out["global"].shape == (4, 3, 16, 16) and out["local"].shape == (6, 3, 8, 8)
