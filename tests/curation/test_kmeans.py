"""Tests for curation.kmeans: FAISS k-means flat and hierarchical with resampling, parameters,
determinism, the GPU switch and its CPU fallback."""

import logging

import numpy as np
import pytest

from curation import kmeans
from curation.cluster_features import Standardiser, sample_features
from curation.kmeans import (
    KMeansParams,
    faiss_gpu_available,
    hierarchical_kmeans,
    train,
)
from tests.curation.cluster_data import tiled_sources


@pytest.fixture(scope="module")
def features(tmp_path_factory, demo_slide_dir):
    sources = tiled_sources(tmp_path_factory.getbasetemp() / "cluster-tiles", demo_slide_dir)
    sample = sample_features(sources, "colour", per_slide=500)
    return Standardiser.fit(sample.features).transform(sample.features)


def _brute_inertia(x: np.ndarray, centroids: np.ndarray) -> float:
    d = ((x[:, None, :].astype(np.float64) - centroids[None].astype(np.float64)) ** 2).sum(-1)
    return float(d.min(axis=1).sum())


def dense_and_sparse(seed: int = 0, d: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """90 % of the points in one dense Gaussian blob, 10 % spread uniformly over a wide box."""
    rng = np.random.default_rng(seed)
    dense = rng.normal(0.0, 1.0, (18_000, d))
    sparse = rng.uniform(-5.0, 5.0, (2_000, d))
    return np.concatenate([dense, sparse]).astype(np.float32), sparse.astype(np.float32)


def test_flat_is_deterministic_for_a_seed_and_reports_brute_force_inertia(features):
    params = KMeansParams(k=12, iterations=10, seed=5)
    first, second = train(features, params), train(features, params)
    np.testing.assert_array_equal(first.centroids, second.centroids)
    assert first.centroids.shape == (12, 36) and first.centroids.dtype == np.float32
    assert first.device == "cpu" and len(first.objective) == 10 and first.seconds > 0
    assert first.levels[0] is first.centroids
    assert first.inertia == pytest.approx(_brute_inertia(features, first.centroids), rel=1e-4)
    assert first.objective[-1] <= first.objective[0]
    other = train(features, KMeansParams(k=12, iterations=10, seed=6))
    assert not np.array_equal(other.centroids, first.centroids)


def test_hierarchical_is_deterministic_and_gives_k_centroids(features):
    params = KMeansParams(k=10, iterations=10, method="hierarchical", levels=(60,), seed=2)
    first, second = train(features, params), train(features, params)
    np.testing.assert_array_equal(first.centroids, second.centroids)
    assert [c.shape for c in first.levels] == [(60, 36), (10, 36)]
    assert first.centroids is first.levels[-1] and len(first.objective) == 2
    assert first.inertia == pytest.approx(_brute_inertia(features, first.centroids), rel=1e-4)


def test_upper_levels_are_data_weighted_means_of_lower_centroids():
    """Four far-apart groups, each a dense core with a lopsided sparse halo: the coarse level
    has one cluster per group, placed at the mean of the lower centroids weighted by the data
    they hold, which is near the group's data mean, unlike the unweighted mean."""
    rng = np.random.default_rng(3)
    centres = np.array([[0, 0], [60, 0], [0, 60], [60, 60]], dtype=np.float64)
    groups = []
    for centre in centres:
        core = rng.normal(0, 0.5, (4_000, 2))
        halo = rng.normal(0, 2.0, (400, 2)) + [6.0, 0.0]
        groups.append(np.concatenate([core, halo]) + centre)
    x = np.concatenate(groups).astype(np.float32)
    fine, coarse = hierarchical_kmeans(x, [80, 4], iterations=10, restarts=5, seed=1)
    holds = np.bincount(np.argmin(((x[:, None] - fine[None]) ** 2).sum(-1), axis=1), minlength=80)
    fine_group = np.argmin(((fine[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    coarse_group = np.argmin(((coarse[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert sorted(coarse_group.tolist()) == [0, 1, 2, 3]
    for c, g in enumerate(coarse_group):
        members = fine_group == g
        weighted = (fine[members] * holds[members, None]).sum(0) / holds[members].sum()
        np.testing.assert_allclose(coarse[c], weighted, atol=1e-3)
        data_mean = groups[g].mean(axis=0)
        unweighted = fine[members].mean(axis=0)
        assert np.linalg.norm(coarse[c] - data_mean) < 0.5 * np.linalg.norm(unweighted - data_mean)


def test_resampled_hierarchy_spreads_centroids_over_the_sparse_region():
    """Flat k-means spends most centroids on the dense blob; the resampled hierarchy moves
    them out to the sparse points, which end up closer to a centroid."""
    x, sparse = dense_and_sparse(0)
    in_blob, sparse_error = {}, {}
    for method, levels in (("flat", ()), ("hierarchical", (200,))):
        result = train(x, KMeansParams(k=20, method=method, levels=levels, seed=0))
        in_blob[method] = int((np.linalg.norm(result.centroids, axis=1) < 4.0).sum())
        distances = ((sparse[:, None] - result.centroids[None]) ** 2).sum(-1).min(axis=1)
        sparse_error[method] = float(distances.mean())
    assert in_blob["flat"] >= 10, in_blob  # the problem the hierarchy addresses is there
    assert in_blob["hierarchical"] <= in_blob["flat"] // 2, in_blob
    assert sparse_error["hierarchical"] < 0.95 * sparse_error["flat"], sparse_error


def test_resampling_is_what_spreads_them():
    """The same hierarchy without resampling steps keeps more centroids in the blob (summed
    over three seeds: one seed alone is noisy; each step moves them a little, so six)."""
    x, _ = dense_and_sparse(0)
    blob = {0: 0, 6: 0}
    for steps in blob:
        for seed in range(3):
            params = KMeansParams(
                k=20, method="hierarchical", levels=(200,), resampling_steps=steps, seed=seed
            )
            centroids = train(x, params).centroids
            blob[steps] += int((np.linalg.norm(centroids, axis=1) < 4.0).sum())
    assert blob[6] < 0.7 * blob[0], blob


def test_spherical_centroids_are_unit_vectors(features):
    result = train(features, KMeansParams(k=8, iterations=10, spherical=True))
    np.testing.assert_allclose(np.linalg.norm(result.centroids, axis=1), 1.0, atol=1e-5)
    unit = features / np.linalg.norm(features, axis=1, keepdims=True)
    assert result.inertia == pytest.approx(_brute_inertia(unit, result.centroids), rel=1e-4)
    nested = train(
        features,
        KMeansParams(k=8, iterations=5, spherical=True, method="hierarchical", levels=(40,)),
    )
    np.testing.assert_allclose(np.linalg.norm(nested.centroids, axis=1), 1.0, atol=1e-5)


def test_gpu_request_falls_back_to_the_cpu(features, caplog, monkeypatch):
    monkeypatch.delenv("RUDOLFV_FAISS_GPU", raising=False)
    assert kmeans.faiss.get_num_gpus() == 0 and faiss_gpu_available() is False
    with caplog.at_level(logging.WARNING, logger="curation.kmeans"):
        result = train(features, KMeansParams(k=5, iterations=3), gpu=True)
    assert result.device == "cpu" and "running on the CPU" in caplog.text
    nested = train(
        features, KMeansParams(k=5, iterations=3, method="hierarchical", levels=(20,)), gpu=True
    )
    assert nested.device == "cpu"


def test_gpu_switch_reads_faiss_and_the_environment(monkeypatch):
    monkeypatch.setattr(kmeans.faiss, "get_num_gpus", lambda: 1)
    monkeypatch.delenv("RUDOLFV_FAISS_GPU", raising=False)
    assert faiss_gpu_available() is True
    monkeypatch.setenv("RUDOLFV_FAISS_GPU", "0")
    assert faiss_gpu_available() is False
    monkeypatch.delattr(kmeans.faiss, "get_num_gpus")
    monkeypatch.delenv("RUDOLFV_FAISS_GPU")
    assert faiss_gpu_available() is False


def test_fewer_points_than_k_is_an_error():
    with pytest.raises(ValueError, match="fewer than k"):
        train(np.zeros((5, 3), np.float32), KMeansParams(k=6))
    with pytest.raises(ValueError):
        hierarchical_kmeans(np.zeros((50, 3), np.float32), [10, 20])


def test_params_round_trip_and_validation():
    params = KMeansParams(k=50, method="hierarchical", levels=(400, 120), spherical=True, seed=3)
    data = params.to_dict()
    assert data["levels"] == [400, 120]
    assert KMeansParams.from_dict(data) == params
    assert KMeansParams.from_dict({}) == KMeansParams()
    bad = [
        {"k": 1},
        {"iterations": 0},
        {"restarts": 0},
        {"method": "spectral"},
        {"method": "hierarchical", "levels": [100, 200]},
        {"method": "hierarchical", "levels": [100], "k": 100},
        {"levels": [500]},  # levels without the hierarchical method
        {"k": "100"},
        {"k": 2.5},
        {"spherical": "yes"},
        {"colour": True},
    ]
    for values in bad:
        with pytest.raises(ValueError):
            KMeansParams.from_dict(values)
