"""Training batches from a dataset manifest: tiles read from the slides on the fly.

Each step's batch is a pure function of (seed, step, rank): `StepSampler` picks the manifest
rows of the step, and `StepBatches[step]` reads them (one `ReaderCache` of open slides per
DataLoader worker) and collates them under a torch RNG seeded for that step. So a DataLoader
with any number of workers gives the same batches, and a run resumed at step s reads exactly
the batches an uninterrupted run would have read: no data position beyond the step is needed.

Sampling (``sampling``):
- ``"weighted"`` (default): every (group, category) cell of the manifest gets its ``weight``
  share of the draws, spread evenly over its tiles (draws with replacement). The dataset
  builder's allocation already follows the weights, so this is the same as uniform sampling
  unless a cell fell short of its target; then its tiles are drawn more often.
- ``"uniform"``: epochs of a seeded permutation of the rows, without replacement.

Memory: the manifest's rows are held as compact columns (about 30 bytes a row; slide paths
once per slide), never as Python objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.compute as pc
import pyarrow.parquet as pq
import torch
from torch.utils.data import DataLoader, Dataset

from curation.slide_metadata import SlideReadError
from curation.tile_loader import ReaderCache, SlideUnavailableError
from trainer.data.augmentations import PerSlideStats, stain_stats

SAMPLING_MODES = ("weighted", "uniform")
_COLUMNS = ("slide_id", "slide_path", "x", "y", "read_size", "tile_size", "target_mpp", "split")


class ManifestError(ValueError):
    """The manifest cannot be used for training (missing, unreadable, no rows of the split)."""


@dataclass
class ManifestIndex:
    """The rows of one split of a manifest as compact numpy columns."""

    slide_codes: np.ndarray  # int32, index into slide_paths / slide_ids
    slide_paths: list[str]
    slide_ids: np.ndarray  # int64 per slide code
    x: np.ndarray  # int64 level-0
    y: np.ndarray
    read_size: np.ndarray  # int32
    tile_size: np.ndarray  # int32
    target_mpp: np.ndarray  # float32
    cell_codes: np.ndarray  # int32, one code per (group, category)
    cell_weights: np.ndarray  # float64 per cell code

    @classmethod
    def read(cls, manifest: str | Path, split: str | None = "train") -> ManifestIndex:
        path = Path(manifest)
        if not path.is_file():
            raise ManifestError(f"manifest not found: {path}")
        try:
            schema = pq.read_schema(path)
        except Exception as error:  # pyarrow raises several types for a file that is not parquet
            raise ManifestError(f"{path}: not a readable parquet manifest ({error})") from error
        missing = [c for c in _COLUMNS if c not in schema.names]
        if missing:
            raise ManifestError(f"{path}: manifest lacks columns {missing}")
        extra = [c for c in ("group", "category", "weight") if c in schema.names]
        table = pq.read_table(path, columns=[*_COLUMNS, *extra])
        if split is not None:
            table = table.filter(pc.equal(table["split"], split))
        if table.num_rows == 0:
            raise ManifestError(f"{path}: no rows in split {split!r}")

        paths = table["slide_path"].combine_chunks().dictionary_encode()
        slide_codes = paths.indices.to_numpy().astype(np.int32)
        slide_paths = paths.dictionary.to_pylist()
        slide_ids = np.zeros(len(slide_paths), dtype=np.int64)
        slide_ids[slide_codes] = table["slide_id"].to_numpy()

        if "weight" in extra:
            keys = pc.binary_join_element_wise(
                pc.cast(table["group"], "string"), pc.cast(table["category"], "string"), "\x1f"
            ).combine_chunks()
            cells = keys.dictionary_encode()
            cell_codes = cells.indices.to_numpy().astype(np.int32)
            weights = table["weight"].to_numpy().astype(np.float64)
            cell_weights = np.zeros(len(cells.dictionary), dtype=np.float64)
            cell_weights[cell_codes] = weights
        else:
            cell_codes = np.zeros(table.num_rows, dtype=np.int32)
            cell_weights = np.ones(1)
        return cls(
            slide_codes=slide_codes,
            slide_paths=slide_paths,
            slide_ids=slide_ids,
            x=table["x"].to_numpy().astype(np.int64),
            y=table["y"].to_numpy().astype(np.int64),
            read_size=table["read_size"].to_numpy().astype(np.int32),
            tile_size=table["tile_size"].to_numpy().astype(np.int32),
            target_mpp=table["target_mpp"].to_numpy().astype(np.float32),
            cell_codes=cell_codes,
            cell_weights=cell_weights,
        )

    def __len__(self) -> int:
        return len(self.slide_codes)

    def row(self, i: int) -> dict:
        code = int(self.slide_codes[i])
        return {
            "slide_id": int(self.slide_ids[code]),
            "slide_path": self.slide_paths[code],
            "x": int(self.x[i]),
            "y": int(self.y[i]),
            "read_size": int(self.read_size[i]),
            "tile_size": int(self.tile_size[i]),
            "target_mpp": float(self.target_mpp[i]),
        }

    def tile_probabilities(self) -> np.ndarray:
        """Per-row probability for weighted sampling: the cell's weight share over its rows."""
        counts = np.bincount(self.cell_codes, minlength=len(self.cell_weights)).astype(np.float64)
        weights = np.clip(self.cell_weights, 0.0, None)
        if weights[counts > 0].sum() <= 0:  # no usable weights: uniform
            weights = np.ones_like(weights)
        per_row = weights[self.cell_codes] / counts[self.cell_codes]
        return per_row / per_row.sum()


def batch_seed(seed: int, step: int, rank: int = 0) -> int:
    """The 63-bit seed of one rank's batch at one step (rank 0 equals `step_seed`)."""
    words = [int(seed), int(step)] if rank == 0 else [int(seed), int(step), int(rank)]
    return int(np.random.SeedSequence(words).generate_state(2, np.uint64)[0] >> 1)


class StepSampler:
    """Row indices of each step's global batch (``batch_size`` rows), sliced per rank."""

    def __init__(
        self,
        index: ManifestIndex,
        batch_size: int,
        seed: int,
        sampling: str = "weighted",
        world_size: int = 1,
    ) -> None:
        if sampling not in SAMPLING_MODES:
            raise ValueError(f"sampling must be one of {SAMPLING_MODES}, got {sampling!r}")
        if batch_size < world_size or batch_size % world_size:
            raise ValueError(f"batch size {batch_size} must split evenly over {world_size} ranks")
        self.n = len(index)
        self.batch_size, self.seed, self.sampling = int(batch_size), int(seed), sampling
        self.world_size = int(world_size)
        self._cdf = np.cumsum(index.tile_probabilities()) if sampling == "weighted" else None
        self._epoch, self._order = -1, None

    def _permutation(self, epoch: int) -> np.ndarray:
        if epoch != self._epoch:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch]))
            self._epoch, self._order = epoch, rng.permutation(self.n)
        return self._order

    def global_batch(self, step: int) -> np.ndarray:
        if self._cdf is not None:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, int(step)]))
            draws = rng.random(self.batch_size) * self._cdf[-1]
            return np.minimum(np.searchsorted(self._cdf, draws, side="right"), self.n - 1)
        positions = np.arange(step * self.batch_size, (step + 1) * self.batch_size)
        out = np.empty(self.batch_size, dtype=np.int64)
        for epoch in np.unique(positions // self.n):
            where = positions // self.n == epoch
            out[where] = self._permutation(int(epoch))[positions[where] % self.n]
        return out

    def indices(self, step: int, rank: int = 0) -> np.ndarray:
        per_rank = self.batch_size // self.world_size
        return self.global_batch(step)[rank * per_rank : (rank + 1) * per_rank]


class StepBatches(Dataset):
    """Map-style dataset: item ``step`` is the collated batch of that step for ``rank``.

    A tile that cannot be read (slide gone, undecodable) is replaced by another tile of the
    same batch, so the batch keeps its size; ``.failed`` (per worker) counts them. A batch of
    which no tile reads raises."""

    def __init__(
        self,
        index: ManifestIndex,
        sampler: StepSampler,
        collate: Callable[..., dict],
        seed: int,
        rank: int = 0,
        handles: int = 16,
    ) -> None:
        self.index, self.sampler, self.collate = index, sampler, collate
        self.seed, self.rank, self.handles = int(seed), int(rank), handles
        self._readers: ReaderCache | None = None
        self.failed = 0

    def __len__(self) -> int:  # steps are unbounded; the sampler of the DataLoader bounds them
        return 2**62

    def _read(self, rows: list[dict]) -> list[tuple[np.ndarray, dict]]:
        if self._readers is None:  # opened lazily: one cache per worker process
            self._readers = ReaderCache(self.handles)
        samples: list[tuple[np.ndarray, dict] | None] = []
        for row in rows:
            try:
                samples.append((self._readers.read(row), row))
            except (SlideUnavailableError, SlideReadError):
                self.failed += 1
                samples.append(None)
        good = [s for s in samples if s is not None]
        if not good:
            reasons = sorted(set(self._readers.failed.values()))[:3]
            raise SlideUnavailableError(f"no tile of the batch could be read: {reasons}")
        # deterministic stand-ins: the i-th missing tile takes the i-th readable one (cyclic)
        return [s if s is not None else good[i % len(good)] for i, s in enumerate(samples)]

    def __getitem__(self, step: int) -> dict:
        rows = [self.index.row(int(i)) for i in self.sampler.indices(step, self.rank)]
        samples = self._read(rows)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(batch_seed(self.seed, step, self.rank))
            return self.collate(samples)


def batch_iterator(
    dataset: StepBatches, start_step: int, end_step: int, workers: int = 0
) -> Iterator[dict]:
    """Batches ``start_step .. end_step - 1`` in order, read by ``workers`` DataLoader worker
    processes (0: in this process)."""
    loader = DataLoader(
        dataset,
        batch_size=None,
        sampler=range(int(start_step), int(end_step)),
        num_workers=workers,
        prefetch_factor=2 if workers else None,
        persistent_workers=False,
    )
    return iter(loader)


def _slide_stats(args: tuple[dict, list[tuple[int, int]]]):
    row, coords = args
    readers = ReaderCache(handles=1)
    try:
        tiles = [readers.read({**row, "x": x, "y": y}) for x, y in coords]
        return row["slide_id"], stain_stats(np.stack(tiles)).to_dict()
    except (SlideUnavailableError, SlideReadError):
        return row["slide_id"], None
    finally:
        readers.close()


class _SlideStatsJobs(Dataset):
    def __init__(self, jobs: list) -> None:
        self.jobs = jobs

    def __len__(self) -> int:
        return len(self.jobs)

    def __getitem__(self, i: int):
        return _slide_stats(self.jobs[i])


def precompute_stain_stats(
    index: ManifestIndex,
    tiles_per_slide: int = 4,
    workers: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> PerSlideStats:
    """Per-slide LAB statistics (Reinhard transfer) from up to ``tiles_per_slide`` tiles of
    each slide, evenly spaced over its manifest rows; slides that cannot be read are left out
    (the transfer then uses the batch's own tiles of that slide)."""
    order = np.argsort(index.slide_codes, kind="stable")
    bounds = np.searchsorted(index.slide_codes[order], np.arange(len(index.slide_paths) + 1))
    jobs = []
    for code in range(len(index.slide_paths)):
        rows = order[bounds[code] : bounds[code + 1]]
        if len(rows) == 0:
            continue
        picked = rows[np.linspace(0, len(rows) - 1, min(tiles_per_slide, len(rows))).astype(int)]
        first = index.row(int(picked[0]))
        jobs.append((first, [(int(index.x[i]), int(index.y[i])) for i in picked]))
    stats = PerSlideStats()
    loader = DataLoader(
        _SlideStatsJobs(jobs), batch_size=None, num_workers=workers, collate_fn=lambda s: s
    )
    for done, (slide_id, value) in enumerate(loader, start=1):
        if value is not None:
            stats[slide_id] = value
        if progress is not None:
            progress(done, len(jobs))
    return stats
