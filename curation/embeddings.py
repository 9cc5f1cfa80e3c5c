"""Deep tile embeddings: a timm vision transformer embeds every tile of a tile file.

Embeddings are the alternative to the 36 colour features as the feature kind clustering runs
on (`docs/clustering.md`). A slide's tiles are read back from the slide at the tiling's
resolution, embedded in batches (on the GPU when there is one; the reading of the next batch
overlaps the model's work on this one) and stored as one ``.npy`` per slide:

    DATA_ROOT/embeddings/<model_key>/<tiling config key>/<slide_key[:2]>/<slide_key>.npy

- **float16**: a 384-dim ViT-S vector is 768 bytes per tile instead of 1,536, so 1.25 billion
  tiles take about half the disk and page cache, and k-means / nearest-neighbour scans read
  half the bytes. Half precision (3 significant digits) is far finer than the distances
  clustering separates; values are upcast to float32 when loaded for computing.
- **One file per slide, rows aligned with the slide's tile file** (row i = tile i of the
  Parquet file of the same tiling): no tile ids or coordinates are repeated, a slide's
  embeddings are replaced or deleted as a unit when it is retiled or removed, they can be
  memory-mapped and row-indexed cheaply (`read_embeddings`), and per-slide tasks parallelise
  and resume naturally. The folder is keyed by the model (`model_key`: name, input size and
  the weights' content) and the tiling config, so a changed model or tiling never mixes with
  older vectors.
- **Any timm model, any weights**: `EmbeddingModelSpec.weights` names a local file
  (.safetensors, or a torch checkpoint holding a plain state dict or one under
  "model"/"state_dict"/"teacher", DINOv2 layout included). A model this platform trains later
  plugs in the same way: save its timm ViT backbone's state dict as .safetensors and name it
  in the spec. Nothing is ever downloaded: without weights the model is randomly initialised
  with a fixed seed (deterministic, useful for tests and as a baseline).

Files are written atomically (`curation.atomic`). torch and timm are imported only when a
model is loaded or a device chosen, so the web app can use the paths and keys without them.
"""

from __future__ import annotations

import dataclasses
import difflib
import errno
import hashlib
import json
import os
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from curation.atomic import atomic_write
from curation.slide_reader import SlideReader
from curation.tile_store import _safe_component, read_tiles

if TYPE_CHECKING:  # imported lazily at run time: the web app must not pay for torch
    import torch

__all__ = [
    "DEVICE_ENV",
    "EmbeddingModel",
    "EmbeddingModelSpec",
    "WeightsFileNotFoundError",
    "embed_slide",
    "embedding_path",
    "load_model",
    "model_key",
    "read_embeddings",
    "torch_device",
]

DEVICE_ENV = "RUDOLFV_TORCH_DEVICE"
RANDOM_INIT_SEED = 0
EMBEDDING_DTYPE = np.dtype("<f2")
_FLOAT16_MAX = float(np.finfo(np.float16).max)
# Keys a checkpoint may nest its state dict under (trainer / DINOv2 layouts), outermost first.
_NESTED_KEYS = ("teacher", "model", "state_dict")
# Wrappers around parameter names: DDP, torch.compile, EMA/teacher copies, SSL backbones.
_WRAPPER_PREFIXES = ("module.", "_orig_mod.")
_SUBMODULE_PREFIXES = ("teacher.", "backbone.")
_MAX_LISTED_KEYS = 8


# -- the spec and its key ------------------------------------------------------------------


@dataclass(frozen=True)
class EmbeddingModelSpec:
    """Which model embeds the tiles.

    ``name``: any timm model name. ``weights``: a local .safetensors / .pt / .pth / .bin file,
    or None for a random initialisation with a fixed seed. ``image_size``: the model's input
    side in pixels (tiles are resized to it); None = the model's default. ``batch_size``: tiles
    per forward pass (does not change the output, so it is not part of `model_key`).
    """

    name: str
    weights: str | None = None
    image_size: int | None = None
    batch_size: int = 64

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise ValueError(f"the model name must be a non-empty string, got {self.name!r}")
        if isinstance(self.weights, os.PathLike):
            object.__setattr__(self, "weights", os.fspath(self.weights))
        if self.weights is not None and (not isinstance(self.weights, str) or not self.weights):
            raise ValueError(f"weights must be a file path or None, got {self.weights!r}")
        if self.image_size is not None and not _positive_int(self.image_size):
            raise ValueError(f"image_size must be a positive integer, got {self.image_size!r}")
        if not _positive_int(self.batch_size):
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> EmbeddingModelSpec:
        """The spec from `to_dict`'s output; ValueError on unknown or missing keys."""
        if not isinstance(data, dict):
            raise ValueError(f"an embedding model spec must be a dict, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(
                f"unknown embedding model spec keys: {unknown} (known: {sorted(known)})"
            )
        if "name" not in data:
            raise ValueError("an embedding model spec needs a 'name' (a timm model name)")
        return cls(**data)


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


_hash_cache: dict[tuple, str] = {}
_hash_lock = threading.Lock()


def _file_sha256(path: Path) -> str:
    """SHA-256 of the whole file, cached per (path, inode, size, mtime).

    Not the sampled slide fingerprint (`curation.fingerprint`): two checkpoints of one
    architecture have the same size and header, and a partial fine-tune (last blocks only)
    can leave the sampled head/middle/tail bytes unchanged. Hashing a whole ViT-S/B file
    takes well under a second, nothing next to embedding an archive.
    """
    stat = path.stat()
    token = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns)
    with _hash_lock:
        cached = _hash_cache.get(token)
    if cached is not None:
        return cached
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    value = digest.hexdigest()
    with _hash_lock:
        if len(_hash_cache) > 64:
            _hash_cache.clear()
        _hash_cache[token] = value
    return value


class WeightsFileNotFoundError(FileNotFoundError, ValueError):
    """The spec's weights file does not exist: both a FileNotFoundError and a ValueError."""


def _weights_file(spec: EmbeddingModelSpec) -> Path:
    path = Path(spec.weights).expanduser()  # type: ignore[arg-type]
    if not path.is_file():
        raise WeightsFileNotFoundError(
            errno.ENOENT,
            "weights file not found (give a .safetensors/.pt/.pth/.bin file readable on this "
            "machine, or no weights for a random init)",
            str(spec.weights),
        )
    return path


def model_key(spec: EmbeddingModelSpec) -> str:
    """16 hex characters naming what the embeddings depend on: the timm name, the input size
    and the content of the weights file (or "random init, seed 0"). Changes when the weights
    file's content changes; the batch size does not enter. ValueError for a missing file."""
    weights = (
        f"sha256:{_file_sha256(_weights_file(spec))}"
        if spec.weights is not None
        else f"random-init:seed{RANDOM_INIT_SEED}"
    )
    payload = json.dumps(
        {"name": spec.name, "image_size": spec.image_size, "weights": weights}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def embedding_path(data_root: str | Path, model_key: str, config_key: str, slide_key: str) -> Path:
    """data_root/embeddings/<model_key>/<config_key>/<slide_key[:2]>/<slide_key>.npy. Raises
    ValueError for empty keys, keys with a path separator or a leading "." or "_" (as
    `curation.tile_store.store_path`)."""
    _safe_component(model_key, "model_key")
    _safe_component(config_key, "config_key")
    _safe_component(slide_key, "slide_key")
    folder = Path(data_root) / "embeddings" / model_key / config_key / slide_key[:2]
    return folder / f"{slide_key}.npy"


# -- device ------------------------------------------------------------------------------


def torch_device(prefer_gpu: bool = True) -> torch.device:
    """The device to embed on: $RUDOLFV_TORCH_DEVICE when set (e.g. "cpu", "cuda:1"),
    else CUDA when available and `prefer_gpu`, else the CPU. ValueError for an unusable
    override (not a device name, or CUDA asked for on a machine without it)."""
    import torch

    override = os.environ.get(DEVICE_ENV, "").strip()
    if override:
        try:
            device = torch.device(override)
        except (RuntimeError, ValueError) as exc:
            raise ValueError(f"{DEVICE_ENV}={override!r} is not a torch device: {exc}") from exc
        if device.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"{DEVICE_ENV}={override!r} but torch sees no CUDA device here")
        return device
    if prefer_gpu and torch.cuda.is_available():
        return torch.device("cuda")
    return torch.device("cpu")


# -- the model ---------------------------------------------------------------------------


class EmbeddingModel:
    """A loaded model (`load_model`): `embed(tiles)` turns uint8 RGB tiles into vectors.

    Attributes: ``dim`` (vector length), ``device``, ``spec``, ``image_size`` (input side),
    ``mean`` / ``std`` (normalisation, from the model's pretrained config), ``module`` (the
    timm model, eval mode, classifier removed).
    """

    def __init__(
        self,
        module: torch.nn.Module,
        spec: EmbeddingModelSpec,
        device: torch.device,
        image_size: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        interpolation: str,
        dim: int,
    ) -> None:
        import torch

        self.module = module
        self.spec = spec
        self.device = device
        self.image_size = int(image_size)
        self.mean = tuple(float(m) for m in mean)
        self.std = tuple(float(s) for s in std)
        # torch's antialiased resize has these two; timm configs name one of them anyway.
        self.interpolation = interpolation if interpolation == "bicubic" else "bilinear"
        self.dim = int(dim)
        self._mean = torch.tensor(self.mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self._std = torch.tensor(self.std, dtype=torch.float32, device=device).view(1, 3, 1, 1)

    def __repr__(self) -> str:
        return (
            f"EmbeddingModel({self.spec.name!r}, dim={self.dim}, image_size={self.image_size}, "
            f"device={self.device})"
        )

    def embed(self, tiles: np.ndarray) -> np.ndarray:
        """uint8 (n, h, w, 3) RGB tiles → float32 (n, dim): the pooled pre-logits features.

        Tiles are resized to image_size × image_size (antialiased, the model's interpolation),
        scaled to [0, 1] and normalised with the model's mean/std; the model runs in eval
        mode under torch.inference_mode, in `spec.batch_size` chunks, with bf16 (or fp16)
        autocast on CUDA only.
        """
        import torch

        tiles = np.asarray(tiles)
        if tiles.ndim != 4 or tiles.shape[-1] != 3 or tiles.dtype != np.uint8:
            raise ValueError(
                f"tiles must be uint8 (n, h, w, 3) RGB, got {tiles.dtype} {tiles.shape}"
            )
        out = np.empty((len(tiles), self.dim), np.float32)
        cuda = self.device.type == "cuda"
        autocast_dtype = None
        if cuda:
            autocast_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        step = self.spec.batch_size
        with torch.inference_mode():
            for start in range(0, len(tiles), step):
                chunk = np.ascontiguousarray(tiles[start : start + step])
                batch = self._prepare(torch.from_numpy(chunk).to(self.device, non_blocking=True))
                if cuda:
                    with torch.autocast("cuda", dtype=autocast_dtype):
                        features = self.module(batch)
                else:
                    features = self.module(batch)
                if features.ndim != 2 or features.shape[1] != self.dim:
                    raise ValueError(
                        f"{self.spec.name} returned features of shape {tuple(features.shape)}, "
                        f"expected (n, {self.dim}): not a pooled feature model"
                    )
                out[start : start + len(chunk)] = features.float().cpu().numpy()
        return out

    def _prepare(self, batch: torch.Tensor) -> torch.Tensor:
        """uint8 NHWC on the device → normalised float32 NCHW at image_size."""
        import torch.nn.functional as F

        x = batch.permute(0, 3, 1, 2).float().div_(255.0)
        size = self.image_size
        if x.shape[-2:] != (size, size):
            x = F.interpolate(
                x, size=(size, size), mode=self.interpolation, align_corners=False, antialias=True
            ).clamp_(0.0, 1.0)  # bicubic overshoots; keep the range a real image has
        return (x - self._mean) / self._std


def _create(spec: EmbeddingModelSpec) -> torch.nn.Module:
    """The timm model without classifier, randomly initialised with a fixed seed (the global
    RNG state is left as it was). ValueError for a name timm does not know."""
    import timm
    import torch

    if not timm.is_model(spec.name):
        close = difflib.get_close_matches(spec.name, timm.list_models(), n=5, cutoff=0.6)
        hint = f"; close names: {close}" if close else ""
        raise ValueError(
            f"unknown timm model name {spec.name!r}{hint} (list names with "
            f"timm.list_models('*vit*') or another pattern)"
        )
    kwargs: dict[str, Any] = {"pretrained": False, "num_classes": 0}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(RANDOM_INIT_SEED)
        if spec.image_size is not None:
            try:
                return timm.create_model(spec.name, img_size=spec.image_size, **kwargs)
            except TypeError as exc:  # the architecture has no img_size (CNNs): resize only
                if "img_size" not in str(exc):
                    raise
        return timm.create_model(spec.name, **kwargs)


def _read_checkpoint(path: Path) -> dict:
    """The raw object in a weights file (tensors on the CPU), never unpickling code."""
    if path.suffix.lower() == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as exc:
            raise ValueError(f"{path}: not a readable safetensors file ({exc})") from exc
    import pickle

    import torch

    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, OSError, EOFError, ValueError) as exc:
        raise ValueError(
            f"{path}: not a loadable torch checkpoint of tensors ({type(exc).__name__}: {exc}); "
            "save a state dict (or convert it to .safetensors)"
        ) from exc
    if not isinstance(checkpoint, dict):
        raise ValueError(f"{path}: holds a {type(checkpoint).__name__}, not a state dict")
    return checkpoint


def _strip_prefix(state: dict, prefix: str, only: bool) -> dict:
    """Remove `prefix` from keys having it; with `only`, drop the other keys."""
    if not any(k.startswith(prefix) for k in state):
        return state
    return {
        (k[len(prefix) :] if k.startswith(prefix) else k): v
        for k, v in state.items()
        if not only or k.startswith(prefix)
    }


def _state_dict(checkpoint: dict) -> dict:
    """Unwrap trainer/DINOv2 checkpoints to the backbone's own parameter names.

    Nested dicts under "teacher" (DINO: the EMA model used for evaluation), "model" or
    "state_dict" are followed; "module." / "_orig_mod." (DDP, torch.compile) prefixes are
    stripped; when keys live under "teacher." or "backbone." only those are kept (the DINO /
    iBOT projection heads and the student are not part of the backbone).
    """
    state: Any = checkpoint
    unwrapped = True
    while unwrapped:
        unwrapped = False
        for key in _NESTED_KEYS:
            if isinstance(state, dict) and isinstance(state.get(key), dict):
                state, unwrapped = state[key], True
                break
    state = {k: v for k, v in state.items() if hasattr(v, "shape")}  # drop step counters etc.
    changed = True
    while changed:
        before = list(state)
        for prefix in _WRAPPER_PREFIXES:
            state = _strip_prefix(state, prefix, only=False)
        for prefix in _SUBMODULE_PREFIXES:
            state = _strip_prefix(state, prefix, only=True)
        changed = list(state) != before
    return state


def _head_prefixes(module: torch.nn.Module) -> tuple[str, ...]:
    classifier = (
        module.pretrained_cfg.get("classifier") if hasattr(module, "pretrained_cfg") else None
    )
    names = {"head", "head_dist"}
    if isinstance(classifier, str):
        names.add(classifier)
    elif isinstance(classifier, list | tuple):
        names.update(c for c in classifier if isinstance(c, str))
    return tuple(sorted(f"{n}." for n in names))


def _listed(keys: list[str]) -> str:
    shown = ", ".join(keys[:_MAX_LISTED_KEYS])
    more = len(keys) - _MAX_LISTED_KEYS
    return f"{shown}, … ({more} more)" if more > 0 else shown


def _load_weights(module: torch.nn.Module, spec: EmbeddingModelSpec) -> None:
    """Load the spec's weights file into `module`, strictly except for classifier heads."""
    path = _weights_file(spec)
    state = _state_dict(_read_checkpoint(path))
    if not state:
        raise ValueError(f"{path}: holds no tensors")
    # timm's own converter for this architecture (DINOv2 / CLIP / ... layouts, position
    # embeddings resampled to this image size, patch embeddings of other patch sizes).
    convert = getattr(sys.modules.get(type(module).__module__), "checkpoint_filter_fn", None)
    if callable(convert):
        try:
            state = convert(dict(state), module)
        except Exception as exc:  # a layout the converter cannot read: say which file
            raise ValueError(
                f"{path}: timm could not convert these weights for {spec.name} "
                f"({type(exc).__name__}: {exc})"
            ) from exc
    expected = module.state_dict()
    heads = _head_prefixes(module)
    missing = sorted(k for k in expected if k not in state and not k.startswith(heads))
    unexpected = sorted(k for k in state if k not in expected and not k.startswith(heads))
    mismatched = sorted(
        f"{k} {tuple(state[k].shape)} vs {tuple(expected[k].shape)}"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    )
    if missing or unexpected or mismatched:
        problems = []
        if missing:
            problems.append(f"missing keys ({len(missing)}): {_listed(missing)}")
        if unexpected:
            problems.append(f"unexpected keys ({len(unexpected)}): {_listed(unexpected)}")
        if mismatched:
            problems.append(f"shape mismatches ({len(mismatched)}): {_listed(mismatched)}")
        raise ValueError(
            f"the weights in {path} do not fit timm model {spec.name!r}"
            f"{f' at image_size {spec.image_size}' if spec.image_size else ''}: "
            + "; ".join(problems)
        )
    module.load_state_dict({k: v for k, v in state.items() if k in expected}, strict=False)


def load_model(
    spec: EmbeddingModelSpec, device: torch.device | str | None = None
) -> EmbeddingModel:
    """Create the spec's timm model (never downloading), load its weights, move it to `device`
    (default `torch_device()`) in eval mode.

    Raises ValueError for an unknown timm name, a missing or unreadable weights file, or
    weights that do not fit the architecture (missing / unexpected keys or shape mismatches
    are listed; only classifier-head keys are tolerated).
    """
    import timm.data
    import torch

    module = _create(spec)
    if spec.weights is not None:
        _load_weights(module, spec)
    device = torch.device(device) if device is not None else torch_device()
    module = module.to(device).eval()
    config = timm.data.resolve_data_config({}, model=module)
    image_size = spec.image_size or int(config["input_size"][-1])
    dim = getattr(module, "head_hidden_size", None) or module.num_features
    return EmbeddingModel(
        module,
        spec,
        device,
        image_size,
        config["mean"],
        config["std"],
        str(config.get("interpolation", "bilinear")),
        int(dim),
    )


# -- slides ------------------------------------------------------------------------------


def _read_batch(
    reader: SlideReader, xs: np.ndarray, ys: np.ndarray, tile_size: int, target_mpp: float
) -> np.ndarray:
    return np.stack(
        [reader.read(int(x), int(y), tile_size, target_mpp) for x, y in zip(xs, ys, strict=True)]
    )


def _to_float16(features: np.ndarray, where: str) -> np.ndarray:
    if np.isnan(features).any():
        raise ValueError(f"the model produced NaN embeddings ({where})")
    # Vectors beyond float16's range (±65504) would become inf; clip instead.
    return np.clip(features, -_FLOAT16_MAX, _FLOAT16_MAX).astype(EMBEDDING_DTYPE)


def embed_slide(
    slide_path: str | Path,
    tile_path: str | Path,
    out_path: str | Path,
    model: EmbeddingModel,
    *,
    tile_size: int,
    target_mpp: float,
    mpp_override: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Embed every tile of the tile file `tile_path` and write one float16 (n_tiles, dim)
    .npy to `out_path`, row i = tile i of the tile file; return n_tiles.

    Tiles are read from `slide_path` at their level-0 (x, y), `tile_size` px at `target_mpp`
    µm/px (the tiling's values), `model.spec.batch_size` at a time; a reader thread reads the
    next batch while the model embeds this one, so memory holds two batches and the output is
    streamed to disk. The file appears atomically: a failure leaves no file (or the previous
    one) and no temporary. A tile file without rows gives a (0, dim) array. `progress(done,
    total)` is called after each batch. Raises SlideReadError for an unreadable slide.
    """
    coords = read_tiles(tile_path, columns=["x", "y"])
    xs = coords["x"].to_numpy()
    ys = coords["y"].to_numpy()
    total = len(xs)
    header = {"descr": EMBEDDING_DTYPE.str, "fortran_order": False, "shape": (total, model.dim)}
    with atomic_write(out_path) as temporary, temporary.open("wb") as sink:
        np.lib.format.write_array_header_1_0(sink, header)
        data_start = sink.tell()
        if total == 0:
            if progress:
                progress(0, 0)
        else:
            _embed_tiles(
                slide_path, xs, ys, model, sink, tile_size, target_mpp, mpp_override, progress
            )
        written = sink.tell() - data_start
        if written != total * model.dim * EMBEDDING_DTYPE.itemsize:
            raise RuntimeError(f"{out_path}: wrote {written} bytes of data, expected more")
    return total


def _embed_tiles(
    slide_path, xs, ys, model, sink, tile_size, target_mpp, mpp_override, progress
) -> None:
    total = len(xs)
    batch_size = model.spec.batch_size
    starts = list(range(0, total, batch_size))
    with (
        SlideReader(slide_path, mpp_override=mpp_override) as reader,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="embed-read") as reader_thread,
    ):

        def fetch(start: int) -> Future:
            stop = min(start + batch_size, total)
            return reader_thread.submit(
                _read_batch, reader, xs[start:stop], ys[start:stop], tile_size, target_mpp
            )

        pending = fetch(starts[0])
        try:
            for i, start in enumerate(starts):
                tiles = pending.result()
                if i + 1 < len(starts):
                    pending = fetch(starts[i + 1])
                features = model.embed(tiles)
                where = f"tiles {start}–{start + len(tiles) - 1} of {slide_path}"
                sink.write(_to_float16(features, where).tobytes())
                if progress:
                    progress(start + len(tiles), total)
        finally:
            pending.cancel()  # a failed batch: do not read the next one for nothing


def read_embeddings(path: str | Path) -> np.ndarray:
    """A slide's embeddings, memory-mapped read-only: float16 (n_tiles, dim). ValueError when
    the file is not a 2-D float16 array (not written by `embed_slide`)."""
    array = np.load(path, mmap_mode="r", allow_pickle=False)
    if array.ndim != 2 or array.dtype != np.float16:
        raise ValueError(
            f"{path}: expected a 2-D float16 embedding array, got {array.dtype} {array.shape}"
        )
    return array
