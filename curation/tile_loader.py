"""Reading a dataset version's tiles for training: an iterable over (pixels, manifest row).

`ManifestTiles` reads each tile straight from its slide with `SlideReader` at the manifest's
(x, y, tile_size, target_mpp), keeping a small LRU of open slides per process. Under a torch
`DataLoader` with workers, each worker takes its own contiguous share of the rows (and, with
`rank` / `world_size`, each distributed process its own share of those), so no tile is read
twice in an epoch. Shuffling is deterministic for (seed, epoch); call `set_epoch` each epoch.

Memory: the manifest is read in windows of rows (row groups touched by the window), never
all rows as Python objects; only the row indices of the split are held (one int64 per row).

No Django, and torch is optional: without it (or outside a DataLoader worker) one process
reads every row. `as_torch_dataset()` wraps the object as a torch IterableDataset.
"""

import sys
from collections import OrderedDict
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.slide_metadata import SlideReadError
from curation.slide_reader import MppUnknownError, SlideReader

MISSING_MODES = ("skip", "raise")
_MPP_TOLERANCE = 1e-3
_MIN_WINDOW = 65536
_MAX_PASSES = 64  # a shuffled epoch reads the manifest at most this many times
_ROWS_PER_SLICE = 1024  # rows turned into Python dicts at once
_OPEN_ERRORS = (SlideReadError, OSError, ValueError)


class SlideUnavailableError(Exception):
    """A slide of the manifest cannot be opened (missing, unreadable, unsupported)."""


class ReaderCache:
    """Open `SlideReader`s by slide path, least recently used closed beyond `handles`.

    A slide is opened at the pixel size the manifest implies (tile_size × target_mpp /
    read_size): the file's own when they agree within 0.1 %, else as an override (a slide
    whose µm/px was overridden when it was tiled reads the same squares). A slide that fails
    to open is remembered: later requests raise SlideUnavailableError at once.
    """

    def __init__(self, handles: int = 16) -> None:
        if handles < 1:
            raise ValueError(f"handles must be ≥ 1, got {handles!r}")
        self.handles = handles
        self._open: OrderedDict[str, SlideReader] = OrderedDict()
        self.failed: dict[str, str] = {}

    def get(self, slide_path: str, manifest_mpp: float) -> SlideReader:
        reader = self._open.get(slide_path)
        if reader is not None:
            self._open.move_to_end(slide_path)
            return reader
        if slide_path in self.failed:
            raise SlideUnavailableError(self.failed[slide_path])
        try:
            reader = self._open_reader(slide_path, manifest_mpp)
        except _OPEN_ERRORS as error:
            reason = f"{type(error).__name__}: {error}"
            if not Path(slide_path).exists():
                reason = f"slide file not found: {slide_path}"
            self.failed[slide_path] = reason
            raise SlideUnavailableError(reason) from error
        self._open[slide_path] = reader
        while len(self._open) > self.handles:
            _, evicted = self._open.popitem(last=False)
            evicted.close()
        return reader

    @staticmethod
    def _open_reader(slide_path: str, manifest_mpp: float) -> SlideReader:
        try:
            reader = SlideReader(slide_path)
        except MppUnknownError:
            return SlideReader(slide_path, mpp_override=manifest_mpp)
        if abs(reader.mpp - manifest_mpp) > _MPP_TOLERANCE * manifest_mpp:
            reader.close()
            return SlideReader(slide_path, mpp_override=manifest_mpp)
        return reader

    def read(self, row: dict) -> np.ndarray:
        """The tile of a manifest row: uint8 (tile_size, tile_size, 3). Raises
        SlideUnavailableError when its slide cannot be opened, SlideReadError when the
        pixels cannot be decoded."""
        tile_size, target_mpp = int(row["tile_size"]), float(row["target_mpp"])
        manifest_mpp = tile_size * target_mpp / float(row["read_size"])
        reader = self.get(row["slide_path"], manifest_mpp)
        return reader.read(int(row["x"]), int(row["y"]), tile_size, target_mpp)

    def close(self) -> None:
        while self._open:
            _, reader = self._open.popitem()
            reader.close()


def _torch_worker() -> tuple[int, int]:
    """(worker id, workers) of the torch DataLoader worker running this, or (0, 1). torch is
    only consulted when already imported: without it there can be no torch worker."""
    torch = sys.modules.get("torch")
    if torch is None:
        return 0, 1
    from torch.utils.data import get_worker_info

    info = get_worker_info()
    if info is None:
        return 0, 1
    return int(info.id), int(info.num_workers)


class ManifestTiles:
    """Iterable of (uint8 tile_size × tile_size × 3 array, manifest row dict).

    `split` None / "train" / "validation"; `shuffle` with `seed` and `set_epoch(epoch)`
    (same order for the same (seed, epoch)); `handles` open slides per process; `missing`
    "skip" (tiles of slides that cannot be opened are skipped, counted in `.skipped`, reasons
    by slide path in `.missing`) or "raise" (SlideUnavailableError). `rank` / `world_size`
    shard rows between distributed processes (on top of DataLoader workers). `len()` is the
    number of rows of the split (all shards together).
    """

    def __init__(
        self,
        manifest: str | Path,
        *,
        split: str | None = None,
        shuffle: bool = False,
        seed: int = 0,
        handles: int = 16,
        missing: str = "skip",
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        if split not in (None, "train", "validation"):
            raise ValueError(f"split must be None, 'train' or 'validation', got {split!r}")
        if missing not in MISSING_MODES:
            raise ValueError(f"missing must be one of {MISSING_MODES}, got {missing!r}")
        if handles < 1:
            raise ValueError(f"handles must be ≥ 1, got {handles!r}")
        if world_size < 1 or not 0 <= rank < world_size:
            raise ValueError(f"need 0 ≤ rank < world_size, got {rank}, {world_size}")
        self.manifest = Path(manifest)
        self.split, self.shuffle, self.seed = split, shuffle, int(seed)
        self.handles, self.missing_mode = handles, missing
        self.rank, self.world_size = rank, world_size
        self.epoch = 0
        self.skipped = 0
        self.missing: dict[str, str] = {}
        self._rows = self._split_rows()
        with pq.ParquetFile(self.manifest) as parquet:
            sizes = [parquet.metadata.row_group(i).num_rows for i in range(parquet.num_row_groups)]
        self._group_starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)])

    def _split_rows(self) -> np.ndarray:
        """Indices (file order) of the rows of the split, read from the `split` column only."""
        with pq.ParquetFile(self.manifest) as parquet:
            if self.split is None:
                return np.arange(parquet.metadata.num_rows, dtype=np.int64)
            parts, offset = [], 0
            for batch in parquet.iter_batches(batch_size=65536, columns=["split"]):
                values = batch.column(0).to_numpy(zero_copy_only=False)
                parts.append(np.flatnonzero(values == self.split) + offset)
                offset += batch.num_rows
        return np.concatenate(parts).astype(np.int64) if parts else np.empty(0, np.int64)

    def __len__(self) -> int:
        return len(self._rows)

    def set_epoch(self, epoch: int) -> None:
        """Choose the shuffle of the next iteration (same epoch, same order)."""
        self.epoch = int(epoch)

    def order(self) -> np.ndarray:
        """Row indices this process (worker / rank) reads this epoch, in reading order: all
        rows of the split, shuffled when asked, then a contiguous share per shard."""
        rows = self._rows
        if self.shuffle:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, self.epoch]))
            rows = rows[rng.permutation(len(rows))]
        worker, workers = _torch_worker()
        shards = workers * self.world_size
        shard = self.rank * workers + worker
        bounds = np.linspace(0, len(rows), shards + 1).round().astype(np.int64)
        return rows[bounds[shard] : bounds[shard + 1]]

    def _window_rows(self, parquet: pq.ParquetFile, wanted: np.ndarray) -> pa.Table:
        """The manifest rows at the sorted file indices `wanted`, reading only the row groups
        that hold them."""
        groups = np.searchsorted(self._group_starts, wanted, side="right") - 1
        parts = []
        for group in np.unique(groups).tolist():
            table = parquet.read_row_group(group)
            local = wanted[groups == group] - self._group_starts[group]
            parts.append(table.take(pa.array(local)))
        return pa.concat_tables(parts)

    def rows(self) -> Iterator[dict]:
        """The manifest rows of this process in reading order, as dicts (no pixels)."""
        order = self.order()
        window = max(_MIN_WINDOW, -(-len(self._rows) // _MAX_PASSES))
        with pq.ParquetFile(self.manifest) as parquet:
            for start in range(0, len(order), window):
                chunk = order[start : start + window]
                ranks = np.argsort(chunk, kind="stable")
                table = self._window_rows(parquet, chunk[ranks])
                # position of each chunk entry in the sorted table
                positions = np.empty(len(chunk), dtype=np.int64)
                positions[ranks] = np.arange(len(chunk))
                for begin in range(0, len(chunk), _ROWS_PER_SLICE):
                    picked = positions[begin : begin + _ROWS_PER_SLICE]
                    yield from table.take(pa.array(picked)).to_pylist()

    def __iter__(self) -> Iterator[tuple[np.ndarray, dict]]:
        readers = ReaderCache(self.handles)
        try:
            for row in self.rows():
                try:
                    tile = readers.read(row)
                except (SlideUnavailableError, SlideReadError) as error:
                    if self.missing_mode == "raise":
                        raise
                    self.skipped += 1
                    self.missing.setdefault(row["slide_path"], str(error))
                    continue
                yield tile, row
        finally:
            readers.close()

    def as_torch_dataset(self):
        """This object as a `torch.utils.data.IterableDataset` (imports torch); picklable, so
        DataLoader workers may be spawned as well as forked."""
        return __getattr__("TorchManifestTiles")(self)


def _torch_dataset_class() -> type:
    from torch.utils.data import IterableDataset

    class TorchManifestTiles(IterableDataset):
        """A torch IterableDataset over a ManifestTiles (which does the worker sharding)."""

        def __init__(self, tiles: ManifestTiles) -> None:
            self.tiles = tiles

        def __iter__(self):
            return iter(self.tiles)

        def __len__(self) -> int:
            return len(self.tiles)

        def set_epoch(self, epoch: int) -> None:
            self.tiles.set_epoch(epoch)

    TorchManifestTiles.__module__ = __name__
    return TorchManifestTiles


def __getattr__(name: str):
    """`TorchManifestTiles` is made on first use, so importing this module never imports
    torch; pickle finds the class by this name."""
    if name == "TorchManifestTiles":
        if name in globals():
            return globals()[name]
        cls = _torch_dataset_class()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
