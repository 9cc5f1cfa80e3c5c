"""Tile-classification evaluation: weighted kNN, linear probe, labelled folders, evaluate()."""

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from trainer.eval import (
    LabelledTiles,
    evaluate,
    extract_features,
    knn_accuracy,
    knn_predict,
    linear_probe_accuracy,
)

NCT = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tiles" / "nct-crc-he"
NCT_CLASSES = ["ADI", "BACK", "DEB", "LYM", "MUC", "MUS", "NORM", "STR", "TUM"]


def _needs_nct() -> None:
    if not NCT.is_dir():
        pytest.skip(f"the real labelled tiles are not here ({NCT}); ../shared is absent")


def _clusters(n_per_class: int, n_classes: int, dim: int, seed: int, spread: float):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim)) * 10
    y = np.repeat(np.arange(n_classes), n_per_class)
    x = centres[y] + spread * rng.normal(size=(len(y), dim))
    return x.astype(np.float32), y


def test_knn_separable_clusters_is_perfect():
    x, y = _clusters(40, 5, 16, seed=0, spread=0.5)
    tx, ty = _clusters(20, 5, 16, seed=0, spread=0.5)  # same centres (same seed), new points
    tx = tx + np.random.default_rng(1).normal(scale=0.5, size=tx.shape).astype(np.float32)
    assert knn_accuracy(x, y, tx, ty, k=20) == 1.0


def test_knn_random_labels_is_near_chance():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 32)).astype(np.float32)
    y = rng.integers(0, 4, size=2000)
    accuracy = knn_accuracy(x[:1500], y[:1500], x[1500:], y[1500:], k=20)
    assert abs(accuracy - 0.25) < 0.08


def test_knn_weighted_vote_by_hand():
    # test point along (1, 0); neighbours: two of class 0 at similarity 0.6, one of class 1
    # at similarity 1.0, one of class 1 far away (similarity -1), excluded with k = 3
    test = np.array([[1.0, 0.0]])
    train = np.array([[0.6, 0.8], [0.6, -0.8], [1.0, 0.0], [-1.0, 0.0]])
    labels = np.array([0, 0, 1, 1])
    # T = 0.5: class 0 gets 2 exp(1.2) = 6.64, class 1 gets exp(2) = 7.39 -> class 1
    assert 2 * math.exp(0.6 / 0.5) < math.exp(1.0 / 0.5)
    assert knn_predict(train, labels, test, k=3, temperature=0.5).tolist() == [1]
    # T = 1: class 0 gets 2 exp(0.6) = 3.64, class 1 gets exp(1) = 2.72 -> class 0
    assert 2 * math.exp(0.6) > math.exp(1.0)
    assert knn_predict(train, labels, test, k=3, temperature=1.0).tolist() == [0]
    # k = 1: the nearest neighbour alone; cosine ignores the vector length
    assert knn_predict(train * 7, labels, test * 0.1, k=1).tolist() == [1]
    # a tiny temperature does not overflow
    assert knn_predict(train, labels, test, k=4, temperature=1e-4).tolist() == [1]


def test_linear_probe_separable_is_perfect():
    x, y = _clusters(30, 4, 8, seed=3, spread=0.3)
    rng = np.random.default_rng(4)
    order = rng.permutation(len(y))
    x, y = x[order], y[order]
    assert linear_probe_accuracy(x[:80], y[:80], x[80:], y[80:]) == 1.0


def test_extract_features_batches_and_checks_shape():
    images = np.random.default_rng(0).integers(0, 256, (10, 8, 8, 3), dtype=np.uint8)
    sizes = []

    def embed(batch):
        sizes.append(len(batch))
        return batch.reshape(len(batch), -1)[:, :5].astype(np.float64)

    features = extract_features(embed, images, batch_size=4)
    assert sizes == [4, 4, 2]
    assert features.dtype == np.float32 and features.shape == (10, 5)
    with pytest.raises(ValueError, match="shape"):
        extract_features(lambda b: np.zeros((1, 3)), images, batch_size=4)


def test_reads_real_nct_folder():
    _needs_nct()
    tiles = LabelledTiles.from_folder(NCT)  # auto: no sub-folders -> prefix
    assert tiles.classes == NCT_CLASSES
    assert tiles.images.shape == (9, 224, 224, 3) and tiles.images.dtype == np.uint8
    assert sorted(tiles.labels.tolist()) == list(range(9))
    assert tiles.images.std() > 10  # real tissue, not blank
    assert LabelledTiles.from_folder(NCT, pattern="prefix").classes == NCT_CLASSES


def _write(path: Path, colour, size=16, fmt=None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (size, size), colour).save(path, format=fmt)


def test_both_folder_layouts(tmp_path):
    sub = tmp_path / "sub"
    _write(sub / "TUM" / "a.png", (200, 0, 0))
    _write(sub / "TUM" / "b.jpg", (190, 0, 0))
    _write(sub / "ADI" / "c.tif", (250, 250, 250))
    (sub / "notes.txt").write_text("ignored")
    for pattern in ("auto", "subfolders"):
        tiles = LabelledTiles.from_folder(sub, pattern=pattern)
        assert tiles.classes == ["ADI", "TUM"]
        assert tiles.labels.tolist() == [0, 1, 1]
        assert tiles.images.shape == (3, 16, 16, 3) and tiles.images.dtype == np.uint8
        assert tiles.images[0, 0, 0].tolist() == [250, 250, 250]

    flat = tmp_path / "flat"
    _write(flat / "TUM-1.png", (200, 0, 0))
    _write(flat / "TUM-2.png", (200, 0, 0))
    _write(flat / "ADI-x-y.tif", (250, 250, 250))
    tiles = LabelledTiles.from_folder(flat)
    assert tiles.classes == ["ADI", "TUM"] and tiles.labels.tolist() == [0, 1, 1]

    _write(flat / "nolabel.png", (0, 0, 0))
    with pytest.raises(ValueError, match="no class prefix"):
        LabelledTiles.from_folder(flat, pattern="prefix")
    with pytest.raises(FileNotFoundError):
        LabelledTiles.from_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no .tif"):
        LabelledTiles.from_folder(tmp_path / "empty")


def test_augment_views_are_deterministic_dihedral_copies():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (2, 6, 6, 3), dtype=np.uint8)
    tiles = LabelledTiles(images, labels=[0, 1], classes=["a", "b"])
    views = tiles.augment_views(8, seed=1)
    assert len(views) == 16
    assert views.sources.tolist() == [0] * 8 + [1] * 8
    assert views.labels.tolist() == [0] * 8 + [1] * 8
    assert sorted(views.views[:8].tolist()) == list(range(8))
    assert np.array_equal(views.images[0], images[0])  # view 0 is the tile itself
    distinct = {v.tobytes() for v in views.images[:8]}
    assert len(distinct) == 8  # a random tile has 8 distinct dihedral images
    again = tiles.augment_views(4, seed=1)
    assert np.array_equal(again.views, tiles.augment_views(4, seed=1).views)
    assert np.array_equal(again.images, tiles.augment_views(4, seed=1).images)
    # augmenting again starts from the tiles as read
    assert len(views.augment_views(3)) == 6
    with pytest.raises(ValueError):
        tiles.augment_views(9)


def test_evaluate_splits_by_tile_when_several_per_class():
    x, y = _clusters(10, 3, 3, seed=0, spread=0.2)
    # each sample's feature vector as the colour of a flat tiny tile, read back by the embed
    pixels = np.clip(x * 5 + 128, 0, 255).astype(np.uint8)
    images = np.broadcast_to(pixels[:, None, None, :], (len(y), 2, 2, 3)).copy()
    tiles = LabelledTiles(images, labels=y, classes=["a", "b", "c"]).augment_views(2)

    def embed(batch):
        return batch.mean(axis=(1, 2)).astype(np.float32) - 128

    result = evaluate(embed, tiles, k=5)
    assert result["split"] == "tiles" and "note" not in result
    assert result["n_train"] + result["n_test"] == 60
    assert result["n_test"] == 3 * 3 * 2  # 3 of 10 tiles per class, both views each
    assert result["knn_top1"] == 1.0 and result["linear_top1"] == 1.0
    assert result["classes"] == ["a", "b", "c"]
    # one tile per class and a single view: nothing to split
    single = LabelledTiles(images[[0, 10, 20]], labels=[0, 1, 2], classes=["a", "b", "c"])
    with pytest.raises(ValueError, match="augment_views"):
        evaluate(embed, single)


def _colour_embed(batch: np.ndarray) -> np.ndarray:
    from curation.features import colour_features

    return colour_features(batch)


def test_evaluate_on_real_tiles_with_colour_features():
    _needs_nct()
    tiles = LabelledTiles.from_folder(NCT).augment_views(8, seed=0)
    result = evaluate(_colour_embed, tiles, test_fraction=0.25, seed=0, k=5)
    assert result["split"] == "views" and "not independent" in result["note"]
    assert result["n_train"] == 9 * 6 and result["n_test"] == 9 * 2
    assert result["classes"] == NCT_CLASSES
    assert result["knn_top1"] > 1 / 9 + 0.4
    assert result["linear_top1"] > 1 / 9 + 0.4


def test_evaluate_with_tiny_random_vit_end_to_end():
    _needs_nct()
    from curation.embeddings import EmbeddingModelSpec, load_model

    model = load_model(
        EmbeddingModelSpec("vit_tiny_patch16_224", image_size=32, batch_size=16), device="cpu"
    )
    tiles = LabelledTiles.from_folder(NCT).augment_views(4, seed=0)
    result = evaluate(model.embed, tiles, seed=0, batch_size=8)
    assert result["split"] == "views"
    assert result["n_train"] + result["n_test"] == 36
    for key in ("knn_top1", "linear_top1"):
        assert 0.0 <= result[key] <= 1.0
