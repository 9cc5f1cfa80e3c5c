"""Batch collation for DINOv2-style pretraining: multi-crop, stain transfer and iBOT masks.

`MultiCropCollate` turns a list of ``(uint8 (H, W, 3) tile, manifest row dict)`` into one batch:
``global`` (2B, 3, G, G) ordered crop-major as DINOv2 (all first global crops, then all second
ones), ``local`` (N·B, 3, L, L) likewise (all first local crops, then all second, ...),
``masks`` (2B, n_patches) bool block masks for the global crops, and ``slide_ids`` (B,).

Randomness: the augmentations draw from the global torch RNG; the stain transfer and the masks
from ``generator`` when given, else from the global torch RNG too, so `seeded_batches` (which
seeds the global RNG per step inside `torch.random.fork_rng`) makes a batch a pure function of
(seed, step).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch

from trainer.data.augmentations import BatchStainTransfer, MultiCropAugmentation
from trainer.data.masking import BlockMaskGenerator


class MultiCropCollate:
    """Callable on a list of (tile, row) samples; see the module docstring."""

    def __init__(
        self,
        aug: MultiCropAugmentation,
        mask_generator: BlockMaskGenerator,
        mask_probability: float = 0.5,
        stain: BatchStainTransfer | None = None,
        stats: Mapping | None = None,
    ) -> None:
        if not 0.0 <= mask_probability <= 1.0:
            raise ValueError(f"mask_probability must be in [0, 1], got {mask_probability}")
        self.aug = aug
        self.mask_generator = mask_generator
        self.mask_probability = float(mask_probability)
        self.stain = stain
        self.stats = stats

    def __call__(
        self,
        samples: Sequence[tuple[np.ndarray, dict]],
        generator: torch.Generator | None = None,
    ) -> dict:
        if not samples:
            raise ValueError("empty batch")
        tiles = [np.asarray(tile) for tile, _ in samples]
        slide_ids = [row.get("slide_id") for _, row in samples]
        if self.stain is not None:
            tiles, _ = self.stain(tiles, slide_ids, generator=generator, stats=self.stats)
        crops = [self.aug(tile) for tile in tiles]
        n_global = len(crops[0]["global_crops"])
        n_local = len(crops[0]["local_crops"])
        global_crops = torch.stack(
            [c["global_crops"][i] for i in range(n_global) for c in crops]
        )  # crop-major
        if n_local:
            local_crops = torch.stack([c["local_crops"][i] for i in range(n_local) for c in crops])
        else:
            size = self.aug.config.local_crops_size
            local_crops = torch.zeros(0, 3, size, size)
        rng = generator if generator is not None else torch.default_generator
        masks = self.mask_generator.mask_batch(
            len(global_crops), self.mask_probability, generator=rng
        ).to(torch.bool)
        return {
            "global": global_crops,
            "local": local_crops,
            "masks": masks,
            "slide_ids": slide_ids,
        }


def step_seed(seed: int, step: int) -> int:
    """A 63-bit seed for step ``step`` of a run seeded ``seed`` (numpy's SeedSequence mixing)."""
    return int(np.random.SeedSequence([int(seed), int(step)]).generate_state(2, np.uint64)[0] >> 1)


def seeded_batches(
    samples_for_step: Callable[[int], Sequence[tuple[np.ndarray, dict]]],
    collate: Callable[..., dict],
    seed: int,
    start_step: int = 0,
) -> Iterator[dict]:
    """Batches for steps ``start_step, start_step + 1, ...``: batch ``s`` is
    ``collate(samples_for_step(s))`` with the global torch RNG seeded by ``step_seed(seed, s)``
    inside `torch.random.fork_rng` (the caller's RNG state is left untouched), so a batch depends
    only on (seed, step), whatever ran before it."""
    step = int(start_step)
    while True:
        samples = samples_for_step(step)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(step_seed(seed, step))
            batch = collate(samples)
        yield batch
        step += 1


def cyclic_samples(
    samples: Sequence[tuple[np.ndarray, dict]], batch_size: int, seed: int
) -> Callable[[int], list[tuple[np.ndarray, dict]]]:
    """``step -> batch_size samples``: epochs of ``samples`` in a shuffled order per epoch
    (numpy, seeded by (seed, epoch)), batches taken consecutively across epochs; a pure function
    of (seed, step)."""
    n = len(samples)
    if n == 0 or batch_size < 1:
        raise ValueError("need samples and a positive batch size")

    def order(epoch: int) -> np.ndarray:
        rng = np.random.default_rng(np.random.SeedSequence([int(seed), int(epoch)]))
        return rng.permutation(n)

    def for_step(step: int) -> list[tuple[np.ndarray, dict]]:
        out = []
        for position in range(step * batch_size, (step + 1) * batch_size):
            epoch, index = divmod(position, n)
            out.append(samples[int(order(epoch)[index])])
        return out

    return for_step
