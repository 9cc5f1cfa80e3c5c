"""Tile-classification evaluation of a frozen feature extractor (DINO-style).

`LabelledTiles.from_folder` reads a labelled tile folder, `extract_features` runs any
``embed(uint8 (n, h, w, 3)) -> float (n, d)`` callable over it (an
`curation.embeddings.EmbeddingModel.embed`, or a wrapper around a training backbone), and
`evaluate` reports the weighted-kNN (`knn_accuracy`) and logistic-regression linear-probe
(`linear_probe_accuracy`) top-1 accuracy on a split stratified per class.

Two folder layouts are read: one sub-folder per class (``root/TUM/xyz.tif``), or a flat
folder where the class is the file-name prefix before the first ``-`` (``root/TUM-xyz.tif``,
the NCT-CRC-HE naming).

`LabelledTiles.augment_views` adds deterministic dihedral copies (rotations by 90 degrees and
flips) of every tile, so that a folder with ONE tile per class still gives enough samples for
a smoke test: `evaluate` then splits the views of each tile between train and test (the
``"views"`` split). Such copies are NOT independent samples — a score on them says that the
pipeline runs and that the features are roughly rotation-stable, not that the model
classifies tissue. For a real evaluation use a folder with many tiles per class, which is
split by source tile (the ``"tiles"`` split), views of one tile never crossing the split.

scikit-learn is needed for the linear probe only (imported lazily).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg")

_VIEWS_NOTE = (
    "each class has a single source tile: its dihedral views were split between train and "
    "test; copies of one tile are not independent samples, so this is a smoke test only"
)


def _dihedral(image: np.ndarray, index: int) -> np.ndarray:
    """The index-th (0..7) element of the dihedral group applied to an (h, w, c) image;
    0 is the identity, 1-3 rotations by 90/180/270 degrees, 4-7 the same after a flip."""
    out = np.rot90(image, k=index % 4, axes=(0, 1))
    if index >= 4:
        out = out[:, ::-1]
    return np.ascontiguousarray(out)


def _read_rgb(path: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception as error:  # PIL raises many kinds for a broken file
        raise ValueError(f"cannot read {path} as an image: {error}") from error


def _images(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in IMAGE_SUFFIXES
    )


@dataclass
class LabelledTiles:
    """Labelled uint8 RGB tiles.

    ``images``: (n, h, w, 3) uint8; ``labels``: (n,) int64 indices into ``classes`` (sorted
    class names); ``sources``: (n,) int64, the source tile each image comes from (equal to
    ``arange(n)`` until `augment_views` adds copies); ``views``: (n,) int64, the dihedral
    transform index (0 = the tile as read); ``paths``: the file of each source tile.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]
    sources: np.ndarray = field(default=None)  # type: ignore[assignment]
    views: np.ndarray = field(default=None)  # type: ignore[assignment]
    paths: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.images = np.asarray(self.images)
        if self.images.ndim != 4 or self.images.shape[-1] != 3 or self.images.dtype != np.uint8:
            raise ValueError(
                f"images must be uint8 (n, h, w, 3), got {self.images.dtype} {self.images.shape}"
            )
        n = len(self.images)
        self.labels = np.asarray(self.labels, dtype=np.int64)
        self.sources = (
            np.arange(n, dtype=np.int64)
            if self.sources is None
            else np.asarray(self.sources, dtype=np.int64)
        )
        self.views = (
            np.zeros(n, dtype=np.int64)
            if self.views is None
            else np.asarray(self.views, dtype=np.int64)
        )
        for name in ("labels", "sources", "views"):
            if getattr(self, name).shape != (n,):
                raise ValueError(f"{name} must have shape ({n},), got {getattr(self, name).shape}")
        if n and (self.labels.min() < 0 or self.labels.max() >= len(self.classes)):
            raise ValueError("labels must index classes")

    def __len__(self) -> int:
        return len(self.images)

    @classmethod
    def from_folder(cls, path: str | Path, pattern: str = "auto") -> LabelledTiles:
        """Read a labelled tile folder.

        ``pattern``: ``"subfolders"`` (one sub-folder per class, named by the class),
        ``"prefix"`` (flat folder, class = file-name part before the first ``-``), or
        ``"auto"`` (sub-folders when any sub-folder holds images, else prefix). Reads
        .tif/.tiff/.png/.jpg/.jpeg with PIL, converted to RGB. All tiles must have one size.
        Raises FileNotFoundError for a missing folder, ValueError for an empty one, a file
        without a class prefix, unreadable images or mixed sizes.
        """
        root = Path(path)
        if not root.is_dir():
            raise FileNotFoundError(f"no labelled tile folder at {root}")
        if pattern not in ("subfolders", "prefix", "auto"):
            raise ValueError(f"pattern must be 'subfolders', 'prefix' or 'auto', got {pattern!r}")
        subdirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if pattern == "auto":
            pattern = "subfolders" if any(_images(d) for d in subdirs) else "prefix"
        files: list[tuple[str, Path]] = []
        if pattern == "subfolders":
            for d in subdirs:
                files += [(d.name, p) for p in _images(d)]
        else:
            for p in _images(root):
                name, sep, rest = p.stem.partition("-")
                if not sep or not name or not rest:
                    raise ValueError(
                        f"{p.name}: no class prefix; expected <CLASS>-<id>{p.suffix} "
                        "(or use one sub-folder per class)"
                    )
                files.append((name, p))
        if not files:
            raise ValueError(f"no .tif/.png/.jpg tiles found in {root} (layout {pattern!r})")
        classes = sorted({name for name, _ in files})
        index = {name: i for i, name in enumerate(classes)}
        images = [_read_rgb(p) for _, p in files]
        shapes = {im.shape for im in images}
        if len(shapes) > 1:
            raise ValueError(f"tiles in {root} have different sizes: {sorted(shapes)}")
        return cls(
            images=np.stack(images),
            labels=np.array([index[name] for name, _ in files], dtype=np.int64),
            classes=classes,
            paths=[p for _, p in files],
        )

    def augment_views(self, n: int, seed: int = 0) -> LabelledTiles:
        """A copy with ``n`` (1..8) dihedral views of every tile: the tile itself plus
        ``n - 1`` distinct transforms from rotations by 90 degrees and flips, chosen by
        ``seed`` (deterministic). Source and label are kept, so `evaluate` never puts views of
        one tile on both sides of a split unless a class has a single source tile. The copies
        are not independent samples; use them for smoke tests only.

        Only tiles as read (view 0) are augmented; square tiles keep their shape, a
        non-square tile raises ValueError for n > 1.
        """
        if not 1 <= int(n) <= 8:
            raise ValueError(f"n must be between 1 and 8 dihedral views, got {n!r}")
        base = self.views == 0
        images, labels, sources = self.images[base], self.labels[base], self.sources[base]
        if n > 1 and images.shape[1] != images.shape[2]:
            raise ValueError("dihedral views need square tiles")
        rng = np.random.default_rng(seed)
        transforms = np.concatenate([[0], rng.permutation(np.arange(1, 8))[: n - 1]])
        out_images = np.stack(
            [_dihedral(image, int(t)) for image in images for t in transforms]
        ).reshape(len(images) * n, *images.shape[1:])
        return LabelledTiles(
            images=out_images,
            labels=np.repeat(labels, n),
            classes=list(self.classes),
            sources=np.repeat(sources, n),
            views=np.tile(transforms, len(images)),
            paths=list(self.paths),
        )


def extract_features(
    embed: Callable[[np.ndarray], np.ndarray], images: np.ndarray, batch_size: int = 64
) -> np.ndarray:
    """float32 (n, d) features of uint8 (n, h, w, 3) ``images`` from ``embed`` (any callable
    taking a uint8 batch and returning (batch, d), e.g. `EmbeddingModel.embed`), called on
    at most ``batch_size`` images at a time. Raises ValueError for a wrong output shape or
    non-finite features."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    images = np.asarray(images)
    chunks = []
    for start in range(0, len(images), batch_size):
        batch = np.ascontiguousarray(images[start : start + batch_size])
        out = embed(batch)
        if hasattr(out, "detach"):  # a torch tensor from a backbone wrapper
            out = out.detach().float().cpu().numpy()
        out = np.asarray(out, dtype=np.float32)
        if out.ndim != 2 or len(out) != len(batch):
            raise ValueError(f"embed returned shape {out.shape} for {len(batch)} images")
        chunks.append(out)
    if not chunks:
        raise ValueError("no images to embed")
    features = np.concatenate(chunks)
    if not np.isfinite(features).all():
        raise ValueError("embed returned non-finite features")
    return features


def _normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn_predict(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    k: int = 20,
    temperature: float = 0.07,
    chunk: int = 1024,
) -> np.ndarray:
    """Labels predicted by the DINO weighted kNN: the ``k`` training samples with the highest
    cosine similarity ``s`` vote for their label with weight ``exp(s / temperature)``; the
    label with the largest summed weight wins (ties: the smaller label). ``k`` is capped at
    the number of training samples."""
    if k < 1 or temperature <= 0:
        raise ValueError("k must be >= 1 and temperature > 0")
    train_y = np.asarray(train_y, dtype=np.int64)
    train = _normalise(train_x)
    test = _normalise(test_x)
    if train.shape[1] != test.shape[1] or len(train) != len(train_y) or not len(train):
        raise ValueError("train/test features must share a dimension; train must be non-empty")
    k = min(int(k), len(train))
    n_classes = int(train_y.max()) + 1
    predictions = np.empty(len(test), dtype=np.int64)
    for start in range(0, len(test), chunk):
        sim = test[start : start + chunk] @ train.T  # (m, n_train)
        top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
        top_sim = np.take_along_axis(sim, top, axis=1).astype(np.float64)
        # exp((s - 1) / T): the same ranking as exp(s / T), without overflow for small T
        weights = np.exp((top_sim - 1.0) / temperature)
        votes = np.zeros((len(sim), n_classes))
        np.add.at(votes, (np.arange(len(sim))[:, None], train_y[top]), weights)
        predictions[start : start + len(sim)] = votes.argmax(axis=1)
    return predictions


def knn_accuracy(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    k: int = 20,
    temperature: float = 0.07,
) -> float:
    """Top-1 accuracy of `knn_predict` (DINO weighted kNN on cosine similarity)."""
    predictions = knn_predict(train_x, train_y, test_x, k=k, temperature=temperature)
    return float(np.mean(predictions == np.asarray(test_y)))


def linear_probe_accuracy(
    train_x: np.ndarray,
    train_y: np.ndarray,
    test_x: np.ndarray,
    test_y: np.ndarray,
    C: float = 1.0,
    max_iter: int = 1000,
) -> float:
    """Top-1 accuracy of a scikit-learn LogisticRegression (L2, ``C``) fitted on the training
    features standardised with the training mean/std. ImportError when scikit-learn is not
    installed. A single training class predicts that class."""
    try:
        from sklearn.linear_model import LogisticRegression
        from sklearn.preprocessing import StandardScaler
    except ImportError as error:
        raise ImportError(
            "the linear probe needs scikit-learn: pip install scikit-learn"
        ) from error
    train_y = np.asarray(train_y)
    test_y = np.asarray(test_y)
    if len(np.unique(train_y)) < 2:
        return float(np.mean(test_y == train_y[0]))
    scaler = StandardScaler().fit(train_x)
    model = LogisticRegression(C=C, max_iter=max_iter)
    model.fit(scaler.transform(train_x), train_y)
    return float(np.mean(model.predict(scaler.transform(test_x)) == test_y))


def _split(
    dataset: LabelledTiles, test_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray, str]:
    """Boolean test mask, stratified per class, and the split kind ("tiles" or "views")."""
    rng = np.random.default_rng(seed)
    test = np.zeros(len(dataset), dtype=bool)
    per_class = [
        np.unique(dataset.sources[dataset.labels == c]) for c in range(len(dataset.classes))
    ]
    present = [s for s in per_class if len(s)]
    if all(len(s) >= 2 for s in present):
        for sources in present:
            n_test = min(len(sources) - 1, max(1, round(test_fraction * len(sources))))
            test |= np.isin(dataset.sources, rng.permutation(sources)[:n_test])
        return test, ~test, "tiles"
    for source in np.unique(dataset.sources):
        members = np.flatnonzero(dataset.sources == source)
        if len(members) < 2:
            raise ValueError(
                "a class has a single source tile with a single view: use augment_views(n>=2) "
                "or a folder with several tiles per class"
            )
        n_test = min(len(members) - 1, max(1, round(test_fraction * len(members))))
        test[rng.permutation(members)[:n_test]] = True
    return test, ~test, "views"


def evaluate(
    embed: Callable[[np.ndarray], np.ndarray],
    dataset: LabelledTiles,
    *,
    test_fraction: float = 0.3,
    seed: int = 0,
    k: int = 20,
    temperature: float = 0.07,
    batch_size: int = 64,
    linear: bool = True,
) -> dict:
    """kNN and linear-probe top-1 accuracy of ``embed``'s frozen features on ``dataset``.

    The split is stratified per class and made by source tile (``split="tiles"``): every
    class with at least two source tiles puts about ``test_fraction`` of them (at least one,
    never all) and all their views in the test set. When some class has a single source
    tile, the dihedral views of each tile are split instead (``split="views"``, with a
    ``note`` saying copies are not independent samples). Returns ``knn_top1``,
    ``linear_top1`` (None with ``linear=False``), ``n_train``, ``n_test``, ``classes``,
    ``split`` and, for a views split, ``note``.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    test, train, split = _split(dataset, test_fraction, seed)
    features = extract_features(embed, dataset.images, batch_size=batch_size)
    y = dataset.labels
    result = {
        "knn_top1": knn_accuracy(
            features[train], y[train], features[test], y[test], k=k, temperature=temperature
        ),
        "linear_top1": (
            linear_probe_accuracy(features[train], y[train], features[test], y[test])
            if linear
            else None
        ),
        "n_train": int(train.sum()),
        "n_test": int(test.sum()),
        "classes": list(dataset.classes),
        "split": split,
    }
    if split == "views":
        result["note"] = _VIEWS_NOTE
    return result


__all__: Sequence[str] = [
    "LabelledTiles",
    "evaluate",
    "extract_features",
    "knn_accuracy",
    "knn_predict",
    "linear_probe_accuracy",
]
