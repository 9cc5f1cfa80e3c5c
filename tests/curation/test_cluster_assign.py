"""Tests for curation.cluster_assign: nearest-centroid assignment, the one-pass streaming over
slides (label files, sizes, quality, composition, exemplars), failures, and the run files."""

import dataclasses
import os

import numpy as np
import pyarrow.parquet as pq
import pytest

from curation.cluster_assign import (
    Assigner,
    assign_sources,
    labels_path,
    load_model,
    read_clusters,
    read_composition,
    read_exemplars,
    read_labels,
    read_sources,
    save_model,
    write_sources,
    write_summary,
)
from curation.cluster_features import (
    SUMMARY_COLUMNS,
    SlideSource,
    Standardiser,
    load_features,
    sample_features,
)
from curation.kmeans import KMeansParams, train
from tests.curation.cluster_data import copy_source, tiled_sources

K = 8
M = 5


@pytest.fixture(scope="module")
def sources(tmp_path_factory, demo_slide_dir):
    return tiled_sources(tmp_path_factory.getbasetemp() / "cluster-tiles", demo_slide_dir)


@pytest.fixture(scope="module")
def model(sources):
    sample = sample_features(sources, "colour", per_slide=400)
    standardiser = Standardiser.fit(sample.features)
    params = KMeansParams(k=K, iterations=10)
    return train(standardiser.transform(sample.features), params), standardiser, params


@pytest.fixture(scope="module")
def assigner(model):
    result, standardiser, _ = model
    return Assigner(result.centroids, standardiser)


@pytest.fixture(scope="module")
def everything(sources):
    """All tiles of all slides: features, slide index, row, and the tile files' columns."""
    parts = []
    for source in sources:
        table = pq.read_table(source.tile_path)
        parts.append(
            {
                "features": load_features(source, "colour"),
                "slide_index": np.full(table.num_rows, source.slide_index),
                "row": np.arange(table.num_rows),
                **{c: table.column(c).to_numpy() for c in ("x", "y", *SUMMARY_COLUMNS)},
            }
        )
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


@pytest.fixture(scope="module")
def assigned(sources, assigner, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("run")
    calls = []
    summary = assign_sources(
        sources, "colour", assigner, run_dir, exemplars=M, progress=lambda *a: calls.append(a)
    )
    return run_dir, summary, calls


def _brute(z: np.ndarray, centroids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    d = ((z[:, None, :].astype(np.float64) - centroids[None].astype(np.float64)) ** 2).sum(-1)
    return d.argmin(axis=1), d.min(axis=1)


def test_assignment_is_the_brute_force_nearest_centroid(assigner, everything):
    rng = np.random.default_rng(0)
    rows = rng.choice(len(everything["features"]), 800, replace=False)
    raw = everything["features"][rows]
    labels, distances = assigner.assign(raw)
    assert labels.dtype == np.int32 and distances.dtype == np.float32
    expected_labels, expected_distances = _brute(assigner.transform(raw), assigner.centroids)
    assert (labels == expected_labels).mean() > 0.995  # float32 ties aside
    np.testing.assert_allclose(distances, expected_distances, rtol=1e-3, atol=1e-3)
    assert assigner.k == K and assigner.dim == 36 and assigner.device == "cpu"


def test_spherical_assignment_uses_cosine(model, everything):
    _, standardiser, _ = model
    z = standardiser.transform(everything["features"][:2000])
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    result = train(unit, KMeansParams(k=6, iterations=8, spherical=True))
    assigner = Assigner(result.centroids, standardiser, spherical=True, gpu=True)  # falls back
    labels, distances = assigner.assign(everything["features"][:2000])
    cosine = unit @ result.centroids.T
    assert (labels == cosine.argmax(axis=1)).mean() > 0.995
    np.testing.assert_allclose(distances, 1 - cosine.max(axis=1), atol=1e-4)
    assert assigner.device == "cpu"


def test_label_files_are_aligned_row_for_row(sources, assigner, assigned, everything):
    run_dir, summary, calls = assigned
    assert calls == [(i, len(sources)) for i in range(1, len(sources) + 1)]
    assert summary.failed == [] and summary.slide_count == len(sources)
    assert summary.tile_count == len(everything["row"]) == int(summary.sizes.sum())
    for source in sources:
        table = read_labels(run_dir, source.fingerprint)
        assert table.schema.field("cluster").type == "int32"
        assert table.schema.field("distance").type == "float"
        assert table.num_rows == pq.read_metadata(source.tile_path).num_rows
        labels, distances = assigner.assign(load_features(source, "colour"))
        np.testing.assert_array_equal(table.column("cluster").to_numpy(), labels)
        np.testing.assert_array_equal(table.column("distance").to_numpy(), distances)
        path = labels_path(run_dir, source.fingerprint)
        assert path.parent.name == source.fingerprint[:2]
    hidden = [p for p in run_dir.rglob(".*")]
    assert hidden == []  # no temporaries left behind


def test_sizes_quality_and_composition_match_the_tiles(sources, assigner, assigned, everything):
    _, summary, _ = assigned
    labels, _ = assigner.assign(everything["features"])
    np.testing.assert_array_equal(summary.sizes, np.bincount(labels, minlength=K))
    for name in SUMMARY_COLUMNS:
        expected = np.bincount(labels, weights=everything[name].astype(np.float64), minlength=K)
        np.testing.assert_allclose(summary.quality_sums[name], expected, rtol=1e-9)
    composition = {(s, c): n for s, c, n in summary.composition}
    assert all(n > 0 for n in composition.values())
    for source in sources:
        mine = labels[everything["slide_index"] == source.slide_index]
        for cluster, count in enumerate(np.bincount(mine, minlength=K)):
            assert composition.get((source.slide_id, cluster), 0) == count


def _exemplars(summary, kind: str) -> dict[int, list[tuple[int, int]]]:
    rows = [r for r in summary.exemplars.to_pylist() if r["kind"] == kind]
    out: dict[int, list[tuple[int, int]]] = {}
    for r in sorted(rows, key=lambda r: (r["cluster"], r["rank"])):
        out.setdefault(r["cluster"], []).append((r["slide_index"], r["row"]))
    return out


def test_exemplars_are_the_nearest_the_farthest_and_a_sample(assigner, assigned, everything):
    _, summary, _ = assigned
    labels, distances = assigner.assign(everything["features"])
    ids = list(zip(everything["slide_index"].tolist(), everything["row"].tolist(), strict=True))
    representative = _exemplars(summary, "representative")
    boundary = _exemplars(summary, "boundary")
    random = _exemplars(summary, "random")
    for cluster in range(K):
        members = np.flatnonzero(labels == cluster)
        by_distance = members[np.argsort(distances[members], kind="stable")]
        assert representative[cluster] == [ids[i] for i in by_distance[:M]]
        farthest = members[np.argsort(-distances[members], kind="stable")]
        assert boundary[cluster] == [ids[i] for i in farthest[:M]]
        chosen = random[cluster]
        assert len(chosen) == min(M, len(members)) and len(set(chosen)) == len(chosen)
        assert {ids[i] for i in members} >= set(chosen)
    table = summary.exemplars
    assert table.column_names == [
        "cluster", "kind", "rank", "slide_index", "slide_id", "row", "x", "y", "size", "distance"
    ]  # fmt: skip
    first = table.to_pylist()[0]
    at = next(i for i, key in enumerate(ids) if key == (first["slide_index"], first["row"]))
    assert (first["x"], first["y"]) == (everything["x"][at], everything["y"][at])
    assert first["distance"] == pytest.approx(float(distances[at]))


def test_small_batches_give_identical_results(sources, assigner, assigned, tmp_path):
    run_dir, summary, _ = assigned
    small = assign_sources(sources, "colour", assigner, tmp_path, batch_size=97, exemplars=M)
    assert small.exemplars.equals(summary.exemplars)
    assert np.array_equal(small.composition, summary.composition)
    np.testing.assert_array_equal(small.sizes, summary.sizes)
    for name in SUMMARY_COLUMNS:
        np.testing.assert_allclose(small.quality_sums[name], summary.quality_sums[name])
    for source in sources:
        assert read_labels(tmp_path, source.fingerprint).equals(
            read_labels(run_dir, source.fingerprint)
        )
    # More rows per file than one batch: the small run really read in pieces.
    assert max(pq.read_metadata(s.tile_path).num_rows for s in sources) > 97


def test_random_exemplars_follow_the_seed(sources, assigner, assigned, tmp_path):
    _, summary, _ = assigned
    again = assign_sources(sources, "colour", assigner, tmp_path / "a", exemplars=M)
    other = assign_sources(sources, "colour", assigner, tmp_path / "b", exemplars=M, seed=1)
    assert _exemplars(again, "random") == _exemplars(summary, "random")
    assert _exemplars(other, "random") != _exemplars(summary, "random")
    assert _exemplars(other, "representative") == _exemplars(summary, "representative")


def test_missing_and_damaged_files_are_reported_and_the_rest_is_assigned(
    sources, assigner, tmp_path
):
    broken = copy_source(sources[0], tmp_path / "copies", 7, "broken")
    run_dir = tmp_path / "run"
    first = assign_sources([*sources, broken], "colour", assigner, run_dir)
    assert first.failed == [] and labels_path(run_dir, broken.fingerprint).is_file()

    broken.tile_path.write_bytes(broken.tile_path.read_bytes()[:500])  # truncated
    gone = SlideSource(8, 4242, "ab" * 32, tmp_path / "nowhere.parquet")
    summary = assign_sources([gone, *sources, broken], "colour", assigner, run_dir)
    assert [slide for slide, _ in summary.failed] == [4242, broken.slide_id]
    assert "nowhere.parquet" in summary.failed[0][1]
    assert summary.slide_count == len(sources)
    assert summary.tile_count == sum(pq.read_metadata(s.tile_path).num_rows for s in sources)
    assert not labels_path(run_dir, broken.fingerprint).exists()  # no stale labels left
    assert not labels_path(run_dir, gone.fingerprint).exists()
    assert all(labels_path(run_dir, s.fingerprint).is_file() for s in sources)
    assert {r["slide_id"] for r in summary.exemplars.to_pylist()} <= {s.slide_id for s in sources}
    assert not [p for p in run_dir.rglob("*") if p.name.startswith(".")]


def test_embedding_kind_streams_the_memory_mapped_rows(sources, tmp_path):
    sample = sample_features(sources, "embedding", per_slide=300)
    standardiser = Standardiser.fit(sample.features)
    result = train(standardiser.transform(sample.features), KMeansParams(k=5, iterations=5))
    assigner = Assigner(result.centroids, standardiser)
    short = tmp_path / "short.npy"
    np.save(short, np.load(sources[0].embedding_path)[:-3])
    misaligned = dataclasses.replace(
        sources[0], slide_index=9, slide_id=77, fingerprint="ee" * 32, embedding_path=short
    )
    summary = assign_sources(
        [*sources, misaligned], "embedding", assigner, tmp_path, batch_size=500
    )
    assert [slide for slide, _ in summary.failed] == [77]
    for source in sources:
        labels = read_labels(tmp_path, source.fingerprint).column("cluster").to_numpy()
        np.testing.assert_array_equal(
            labels, assigner.assign(load_features(source, "embedding"))[0]
        )


def test_summary_files(sources, assigned):
    run_dir, summary, _ = assigned
    write_summary(run_dir, summary)
    clusters = read_clusters(run_dir)
    assert clusters.column_names == [
        "cluster", "size", "share", "slide_count",
        *(f"mean_{name}" for name in SUMMARY_COLUMNS),
    ]  # fmt: skip
    assert clusters.column("size").to_pylist() == summary.sizes.tolist()
    assert sum(clusters.column("share").to_pylist()) == pytest.approx(1.0)
    sizes = np.maximum(summary.sizes, 1)
    np.testing.assert_allclose(
        clusters.column("mean_sharpness").to_numpy(), summary.quality_sums["sharpness"] / sizes
    )
    composition = read_composition(run_dir)
    assert composition.num_rows == len(summary.composition)
    assert set(composition.column("slide_id").to_pylist()) == {s.slide_id for s in sources}
    slides_per_cluster = np.bincount(composition.column("cluster").to_numpy(), minlength=K)
    assert clusters.column("slide_count").to_pylist() == slides_per_cluster.tolist()
    assert read_exemplars(run_dir).equals(summary.exemplars)
    assert not [p for p in run_dir.glob(".*")]


def test_model_and_sources_round_trip(sources, model, tmp_path):
    result, standardiser, params = model
    path = save_model(tmp_path, result, standardiser, params, "colour")
    assert path == tmp_path / "model.npz"
    centroids, loaded, loaded_params, kind = load_model(tmp_path)
    np.testing.assert_array_equal(centroids, result.centroids)
    np.testing.assert_array_equal(loaded.mean, standardiser.mean)
    np.testing.assert_array_equal(loaded.std, standardiser.std)
    assert loaded_params == params and kind == "colour"

    root = sources[0].tile_path.parents[2]
    write_sources(tmp_path, sources, data_root=root)
    stored = pq.read_table(tmp_path / "slides.parquet")
    assert not os.path.isabs(stored.column("tile_path")[0].as_py())
    counts = stored.column("n_tiles").to_pylist()
    assert counts == [pq.read_metadata(s.tile_path).num_rows for s in sources]
    assert read_sources(tmp_path, data_root=root) == list(sources)
    write_sources(tmp_path, sources[::-1])  # absolute paths, any order in
    assert read_sources(tmp_path) == list(sources)
