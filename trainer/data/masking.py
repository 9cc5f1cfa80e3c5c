"""Block masking for iBOT's masked-image modelling (BEiT / iBOT / DINOv2 style).

A mask is the union of random axis-aligned rectangles on the patch grid, each of area at least
``min_block_patches`` and aspect ratio in ``[min_aspect, 1 / min_aspect]`` (log-uniform), added
until a target number of masked patches is reached. If a few patches are still missing when no
more rectangle fits (fewer left than ``min_block_patches``, or a crowded grid), they are filled
with smaller rectangles, down to single patches, so the count is always exactly the target.
Randomness comes only from the generator passed in (a ``torch.Generator``, a
``numpy.random.Generator``, an int seed, or None for a fresh unseeded one).
"""

from __future__ import annotations

import math

import numpy as np
import torch

_MAX_TRIES = 10  # attempts per rectangle, as BEiT / DINOv2 do


class _Rng:
    """uniform / randint / shuffle on top of a torch or numpy generator."""

    def __init__(self, generator):
        if generator is None or isinstance(generator, int | np.integer):
            generator = np.random.default_rng(generator)
        self.gen = generator

    def uniform(self, low: float, high: float) -> float:
        if isinstance(self.gen, torch.Generator):
            u = torch.rand((), generator=self.gen, dtype=torch.float64).item()
        else:
            u = float(self.gen.random())
        return low + (high - low) * u

    def randint(self, low: int, high: int) -> int:
        """Inclusive of both ends."""
        if isinstance(self.gen, torch.Generator):
            return int(torch.randint(low, high + 1, (), generator=self.gen).item())
        return int(self.gen.integers(low, high + 1))

    def permutation(self, n: int) -> list[int]:
        if isinstance(self.gen, torch.Generator):
            return torch.randperm(n, generator=self.gen).tolist()
        return [int(i) for i in self.gen.permutation(n)]


class BlockMaskGenerator:
    """Random rectangular-block masks on a (H, W) patch grid.

    ``generator(n)`` (or :meth:`sample`) gives one (H, W) bool mask with exactly ``n`` patches
    masked; :meth:`mask_batch` gives (B, H*W) masks for a batch as DINOv2's collate does.
    """

    def __init__(
        self,
        grid_size: tuple[int, int],
        min_ratio: float = 0.1,
        max_ratio: float = 0.5,
        min_aspect: float = 0.3,
        min_block_patches: int = 4,
    ):
        self.height, self.width = (int(grid_size[0]), int(grid_size[1]))
        if self.height < 1 or self.width < 1:
            raise ValueError(f"bad grid size {grid_size}")
        if not 0.0 <= min_ratio <= max_ratio <= 1.0:
            raise ValueError("need 0 <= min_ratio <= max_ratio <= 1")
        if not 0.0 < min_aspect <= 1.0:
            raise ValueError("need 0 < min_aspect <= 1")
        self.min_ratio = float(min_ratio)
        self.max_ratio = float(max_ratio)
        self.min_aspect = float(min_aspect)
        self.min_block_patches = max(int(min_block_patches), 1)
        self.log_aspect = (math.log(self.min_aspect), math.log(1.0 / self.min_aspect))

    @property
    def num_patches(self) -> int:
        return self.height * self.width

    def _add_block(self, mask: np.ndarray, rng: _Rng, min_area: int, max_new: int, blocks):
        """Try to add one rectangle adding 1..max_new new patches; returns how many it added."""
        for _ in range(_MAX_TRIES):
            area = rng.uniform(min_area, max(max_new, min_area))
            aspect = math.exp(rng.uniform(*self.log_aspect))
            h = max(1, int(round(math.sqrt(area * aspect))))
            w = max(1, int(round(math.sqrt(area / aspect))))
            if h > self.height or w > self.width:
                continue
            top = rng.randint(0, self.height - h)
            left = rng.randint(0, self.width - w)
            new = h * w - int(mask[top : top + h, left : left + w].sum())
            if 0 < new <= max_new:
                mask[top : top + h, left : left + w] = True
                blocks.append((top, left, h, w))
                return new
        return 0

    def __call__(self, num_masking_patches: int, generator=None, return_blocks: bool = False):
        """One (H, W) bool mask with exactly ``num_masking_patches`` masked patches."""
        target = int(num_masking_patches)
        if not 0 <= target <= self.num_patches:
            raise ValueError(f"cannot mask {target} of {self.num_patches} patches")
        rng = generator if isinstance(generator, _Rng) else _Rng(generator)
        mask = np.zeros((self.height, self.width), dtype=bool)
        blocks: list[tuple[int, int, int, int]] = []
        count = 0
        min_area = self.min_block_patches
        while count < target:
            remaining = target - count
            added = 0
            if remaining >= min_area:
                added = self._add_block(mask, rng, min_area, remaining, blocks)
            if added == 0:
                # top-up: smaller rectangles, then single free patches
                added = self._add_block(mask, rng, 1, remaining, blocks)
            if added == 0:
                free = np.flatnonzero(~mask.reshape(-1))
                idx = int(free[rng.randint(0, len(free) - 1)])
                top, left = divmod(idx, self.width)
                mask[top, left] = True
                blocks.append((top, left, 1, 1))
                added = 1
            count += added
        torch_mask = torch.from_numpy(mask)
        return (torch_mask, blocks) if return_blocks else torch_mask

    def sample(self, generator=None) -> torch.Tensor:
        """One mask with a ratio drawn uniformly in [min_ratio, max_ratio]."""
        rng = generator if isinstance(generator, _Rng) else _Rng(generator)
        ratio = rng.uniform(self.min_ratio, self.max_ratio)
        return self(int(self.num_patches * ratio), rng)

    def mask_batch(self, batch_size: int, probability: float = 0.5, generator=None):
        """(B, H*W) bool masks: ``int(B * probability)`` images are masked, the rest not.

        As in DINOv2, the masked images' ratios are spread over [min_ratio, max_ratio]: image i
        of n draws its ratio uniformly in the i-th of n equal sub-intervals; the masks are then
        shuffled over the batch.
        """
        rng = generator if isinstance(generator, _Rng) else _Rng(generator)
        n_masked = int(batch_size * probability)
        edges = np.linspace(self.min_ratio, self.max_ratio, n_masked + 1)
        masks = []
        for i in range(n_masked):
            ratio = rng.uniform(float(edges[i]), float(edges[i + 1]))
            masks.append(self(int(self.num_patches * ratio), rng).reshape(-1))
        for _ in range(batch_size - n_masked):
            masks.append(torch.zeros(self.num_patches, dtype=torch.bool))
        order = rng.permutation(batch_size)
        if not masks:
            return torch.zeros(0, self.num_patches, dtype=torch.bool)
        return torch.stack([masks[i] for i in order])
