"""Block masking for iBOT: counts, rectangles, determinism, batch masking."""

import numpy as np
import pytest
import torch

from trainer.data.masking import BlockMaskGenerator


def test_exact_count_and_union_of_rectangles():
    gen = BlockMaskGenerator((16, 16), min_block_patches=4)
    rng = torch.Generator().manual_seed(0)
    for target in (0, 3, 26, 77, 128, 200, 256):
        mask, blocks = gen(target, rng, return_blocks=True)
        assert mask.dtype == torch.bool and mask.shape == (16, 16)
        assert int(mask.sum()) == target
        union = torch.zeros(16, 16, dtype=torch.bool)
        for top, left, h, w in blocks:
            assert 0 <= top and top + h <= 16 and 0 <= left and left + w <= 16
            union[top : top + h, left : left + w] = True
        assert torch.equal(union, mask)


def test_blocks_are_mostly_large_rectangles():
    gen = BlockMaskGenerator((14, 14), min_block_patches=4)
    rng = np.random.default_rng(1)
    big = total = 0
    for _ in range(20):
        mask, blocks = gen(60, rng, return_blocks=True)
        big += sum(h * w for _, _, h, w in blocks if h * w >= 4)
        total += int(mask.sum())
    assert big >= 0.8 * total


@pytest.mark.parametrize(
    "make_gen",
    [lambda s: torch.Generator().manual_seed(s), lambda s: np.random.default_rng(s), lambda s: s],
)
def test_sample_ratio_bounds_and_determinism(make_gen):
    gen = BlockMaskGenerator((16, 16), min_ratio=0.1, max_ratio=0.5)
    rng = make_gen(7)
    for _ in range(30):
        n = int(gen.sample(rng).sum())
        assert int(256 * 0.1) <= n <= int(256 * 0.5)
    a = gen.mask_batch(8, 0.5, make_gen(3))
    b = gen.mask_batch(8, 0.5, make_gen(3))
    assert torch.equal(a, b)
    c = gen.mask_batch(8, 0.5, make_gen(4))
    assert not torch.equal(a, c)


def test_mask_batch_masks_about_probability_of_images_with_spread_ratios():
    gen = BlockMaskGenerator((16, 16), min_ratio=0.1, max_ratio=0.5)
    masks = gen.mask_batch(40, probability=0.5, generator=torch.Generator().manual_seed(5))
    assert masks.shape == (40, 256) and masks.dtype == torch.bool
    counts = masks.sum(1)
    assert int((counts > 0).sum()) == 20
    masked = counts[counts > 0].sort().values.float() / 256
    # the i-th smallest ratio lies in the i-th sub-interval of [0.1, 0.5]
    edges = torch.linspace(0.1, 0.5, 21)
    assert ((masked >= edges[:-1] - 1 / 256) & (masked <= edges[1:] + 1e-6)).all()
    # shuffled: masked images are not all at the front
    assert not bool((counts[:20] > 0).all())
    assert int(gen.mask_batch(10, 0.0, 1).sum()) == 0
    assert int((gen.mask_batch(10, 1.0, 1).sum(1) > 0).sum()) == 10
