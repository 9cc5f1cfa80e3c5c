"""Tests for curation.cluster_map: the 2-D PCA map of centroids and sample tiles."""

import importlib.util

import numpy as np
import pytest

from curation.cluster_assign import Assigner
from curation.cluster_features import Standardiser, sample_features
from curation.cluster_map import project_2d, read_map, write_map
from curation.kmeans import KMeansParams, train
from tests.curation.cluster_data import tiled_sources


@pytest.fixture(scope="module")
def inputs(tmp_path_factory, demo_slide_dir):
    sources = tiled_sources(tmp_path_factory.getbasetemp() / "cluster-tiles", demo_slide_dir)
    sample = sample_features(sources, "colour", per_slide=500)
    standardiser = Standardiser.fit(sample.features)
    z = standardiser.transform(sample.features)
    result = train(z, KMeansParams(k=9, iterations=10))
    labels, _ = Assigner(result.centroids, standardiser).assign(sample.features)
    return result.centroids, z, labels


def test_pca_map_shapes_and_determinism(inputs):
    centroids, z, labels = inputs
    projection = project_2d(centroids, z, labels, max_points=300, seed=1)
    assert projection["method"] == "pca"
    assert projection["centroids"].shape == (9, 2) and projection["centroids"].dtype == np.float32
    assert projection["tiles"].shape == (300, 2) and projection["tiles"].dtype == np.float32
    assert projection["tile_labels"].shape == (300,) and projection["tile_labels"].dtype == np.int32
    again = project_2d(centroids, z, labels, max_points=300, seed=1)
    for key in ("centroids", "tiles", "tile_labels"):
        np.testing.assert_array_equal(again[key], projection[key])
    other = project_2d(centroids, z, labels, max_points=300, seed=2)
    assert not np.array_equal(other["tiles"], projection["tiles"])
    np.testing.assert_array_equal(other["centroids"], projection["centroids"])  # fit on all


def test_pca_axes_are_the_principal_directions(inputs):
    centroids, z, labels = inputs
    projection = project_2d(centroids, z, labels, max_points=len(z))
    tiles = projection["tiles"].astype(np.float64)
    np.testing.assert_allclose(tiles.mean(axis=0), 0, atol=1e-3)
    first, second = tiles.var(axis=0)
    total = z.astype(np.float64).var(axis=0).sum()
    top = np.linalg.eigvalsh(np.cov(z.T, bias=True))[::-1][:2]
    np.testing.assert_allclose([first, second], top, rtol=1e-3)
    assert first >= second and first + second < total
    assert abs(np.corrcoef(tiles.T)[0, 1]) < 1e-3  # uncorrelated axes
    # The tiles of a cluster lie around its centroid on the map.
    for cluster in np.unique(labels)[:3]:
        mean = tiles[projection["tile_labels"] == cluster].mean(axis=0)
        spread = tiles.std(axis=0).mean()
        assert np.linalg.norm(mean - projection["centroids"][cluster]) < spread


def test_map_file_round_trip(inputs, tmp_path):
    centroids, z, labels = inputs
    projection = project_2d(centroids, z, labels, max_points=200)
    write_map(tmp_path, projection)
    back = read_map(tmp_path)
    assert back["method"] == "pca"
    for key in ("centroids", "tiles", "tile_labels"):
        np.testing.assert_array_equal(back[key], projection[key])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_bad_inputs_and_umap_without_the_package(inputs):
    centroids, z, labels = inputs
    with pytest.raises(ValueError, match="unknown projection"):
        project_2d(centroids, z, labels, method="tsne")
    with pytest.raises(ValueError):
        project_2d(centroids, z[:, :5], labels)
    if importlib.util.find_spec("umap") is None:
        with pytest.raises(ValueError, match="umap-learn"):
            project_2d(centroids, z, labels, method="umap")
