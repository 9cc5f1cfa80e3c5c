"""Tests for curation.dataset_sampling: recipe validation, allocation (weights, caps,
water-filling, drop-outs, shortfall) on synthetic count tables, and whole builds on real tile
and label files (eligibility, draw, split, reproducibility, failures)."""

import dataclasses
import shutil
from collections import Counter, defaultdict

import numpy as np
import pyarrow.parquet as pq
import pytest

from curation.dataset_sampling import (
    QualityFilter,
    Recipe,
    allocate,
    build_manifest,
    eligible_counts,
    split_key,
    split_of,
    water_fill,
)
from curation.manifest import MANIFEST_SCHEMA, file_sha256
from tests.curation.dataset_data import CATEGORY_OF, cluster_run, slide_inputs

CATEGORIES = {"Tumour": 1.0, "Stroma": 1.0, "Immune": 0.5}
QUALITY = QualityFilter(min_tissue_fraction=0.5, min_sharpness=None, max_pen_score=0.5)


@pytest.fixture(scope="module")
def run(tmp_path_factory, demo_slide_dir):
    return cluster_run(tmp_path_factory.getbasetemp(), demo_slide_dir)


@pytest.fixture(scope="module")
def slides(run):
    return slide_inputs(*run)


def recipe(**changes) -> Recipe:
    base = Recipe(
        group_weights={"A": 2.0, "B": 1.0},
        category_weights=dict(CATEGORIES),
        budget=600,
        per_slide_cap=250,
        quality=QUALITY,
        seed=0,
    )
    return dataclasses.replace(base, **changes)


def random_counts(seed: int, slides_a: int = 40, slides_b: int = 25):
    """A synthetic eligibility table: (group, category, slide) → eligible tiles, with zeros."""
    rng = np.random.default_rng(seed)
    counts = {}
    for group, n in (("A", slides_a), ("B", slides_b)):
        for i in range(n):
            slide_id = (0 if group == "A" else 10_000) + i
            for category in CATEGORIES:
                eligible = int(rng.integers(0, 400)) if rng.random() > 0.2 else 0
                if eligible:
                    counts[(group, category, slide_id)] = eligible
    return counts


# --- recipe --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"group_weights": {"A": 0.0, "B": 0.0}}, "sum to zero"),
        ({"category_weights": {"Tumour": 0, "Stroma": 0}}, "sum to zero"),
        ({"group_weights": {"A": -1.0, "B": 2.0}}, "≥ 0"),
        ({"category_weights": {"Tumour": float("nan")}}, "finite"),
        ({"group_weights": {}}, "empty"),
        ({"budget": 0}, "budget"),
        ({"budget": 2.5}, "budget"),
        ({"per_slide_cap": 0}, "per_slide_cap"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"validation_fraction": -0.1}, "validation_fraction"),
        ({"split_by": "lab"}, "split_by"),
    ],
)
def test_invalid_recipes_are_refused_with_a_clear_message(changes, message):
    with pytest.raises(ValueError, match=message):
        recipe(**changes)


def test_valid_recipe_defaults():
    r = Recipe({"g": 1}, {"c": 1}, budget=1, per_slide_cap=None, quality=QualityFilter())
    assert (r.split_by, r.validation_fraction, r.seed) == ("slide", 0.1, 0)


# --- allocation on synthetic count tables --------------------------------------------------------


def test_group_weights_2_to_1_give_2_to_1():
    for seed in range(5):
        counts = random_counts(seed)
        allocation = allocate(counts, {"A": 2.0, "B": 1.0}, CATEGORIES, 3000, None, seed=seed)
        by_group = Counter()
        for (group, _), n in allocation.achieved.items():
            by_group[group] += n
        assert allocation.shortfall == 0
        assert by_group["A"] / by_group["B"] == pytest.approx(2.0, rel=0.01)
        # within a group, categories follow their weights (Tumour 1 : Stroma 1 : Immune 0.5)
        for group in ("A", "B"):
            cells = {c: allocation.achieved[(group, c)] for c in CATEGORIES}
            assert cells["Tumour"] / cells["Immune"] == pytest.approx(2.0, rel=0.02)
            assert abs(cells["Tumour"] - cells["Stroma"]) <= 1


def test_targets_are_whole_numbers_summing_to_the_budget_and_weights_are_the_shares():
    counts = random_counts(1)
    allocation = allocate(counts, {"A": 3.0, "B": 1.0}, CATEGORIES, 1001, None)
    assert sum(allocation.targets.values()) == 1001
    for (group, category), weight in allocation.weights.items():
        expected = (0.75 if group == "A" else 0.25) * CATEGORIES[category] / 2.5
        assert weight == pytest.approx(expected)
    assert sum(allocation.weights.values()) == pytest.approx(1.0)


def test_per_slide_cap_is_never_exceeded_nor_the_eligible_count():
    for seed in range(8):
        counts = random_counts(seed, 12, 8)
        cap = int(np.random.default_rng(seed).integers(5, 200))
        allocation = allocate(counts, {"A": 1.0, "B": 1.0}, CATEGORIES, 5000, cap, seed=seed)
        for slide_id, per_category in allocation.per_slide.items():
            assert sum(per_category.values()) <= cap
            group = "A" if slide_id < 10_000 else "B"
            for category, n in per_category.items():
                assert 0 < n <= counts[(group, category, slide_id)]
        drawn = sum(sum(p.values()) for p in allocation.per_slide.values())
        assert drawn == sum(allocation.achieved.values())
        assert allocation.shortfall == sum(allocation.targets.values()) - drawn


def test_water_filling_gives_equal_shares_when_possible():
    shares = water_fill(100, {i: 1000 for i in range(7)})
    assert sum(shares.values()) == 100
    assert max(shares.values()) - min(shares.values()) <= 1
    # small slides give all they have; the others share the rest equally
    shares = water_fill(100, {1: 3, 2: 5, 3: 1000, 4: 1000, 5: 1000})
    assert shares[1] == 3 and shares[2] == 5
    assert sorted(shares[i] for i in (3, 4, 5)) == [30, 31, 31]
    # not enough: everyone gives everything
    assert water_fill(50, {1: 10, 2: 20}) == {1: 10, 2: 20}
    assert water_fill(0, {1: 10}) == {1: 0}
    # the slides getting the remainder depend on the seed, not on the ids' order
    winners = {
        seed: {s for s, n in water_fill(3, {i: 9 for i in range(6)}, seed).items() if n}
        for seed in range(6)
    }
    assert len({frozenset(w) for w in winners.values()}) > 1


def test_water_filling_matches_a_level_on_random_capacities():
    rng = np.random.default_rng(3)
    for _ in range(50):
        capacities = {i: int(c) for i, c in enumerate(rng.integers(0, 50, size=20))}
        target = int(rng.integers(0, 1200))
        shares = water_fill(target, capacities)
        assert sum(shares.values()) == min(target, sum(capacities.values()))
        unsaturated = [shares[i] for i in capacities if shares[i] < capacities[i]]
        if unsaturated:  # one level: every slide below its capacity is within one of the rest
            assert max(unsaturated) - min(unsaturated) <= 1
            assert all(shares[i] <= max(unsaturated) for i in capacities)


def test_a_category_without_tiles_in_a_group_drops_out_and_others_take_its_share():
    counts = {
        ("A", "Tumour", 1): 1000,
        ("A", "Stroma", 1): 1000,
        ("B", "Tumour", 2): 1000,
        ("B", "Stroma", 2): 1000,
        ("B", "Immune", 2): 1000,
    }
    allocation = allocate(counts, {"A": 1.0, "B": 1.0}, CATEGORIES, 1000, None)
    assert ("A", "Immune") not in allocation.targets
    assert allocation.targets[("A", "Tumour")] == allocation.targets[("A", "Stroma")] == 250
    assert allocation.targets[("B", "Immune")] == 100
    assert allocation.shortfall == 0


def test_a_group_without_tiles_is_reported_as_shortfall():
    counts = {("A", "Tumour", 1): 1000}
    allocation = allocate(counts, {"A": 1.0, "B": 1.0}, {"Tumour": 1.0}, 100, None)
    assert allocation.achieved == {("A", "Tumour"): 50, ("B", "Tumour"): 0}
    assert allocation.shortfall == 50
    assert any("'B' has no eligible tile" in note for note in allocation.notes)


# --- builds on real files ------------------------------------------------------------------------


def test_eligibility_matches_the_files(slides):
    for slide in slides:
        labels = pq.read_table(slide.labels_path).column("cluster").to_numpy()
        tiles = pq.read_table(slide.tile_path)
        keep = (tiles.column("tissue_fraction").to_numpy() >= 0.5) & (
            tiles.column("pen_score").to_numpy() <= 0.5
        )
        expected = Counter(CATEGORY_OF[c] for c in labels[keep].tolist() if c in CATEGORY_OF)
        assert eligible_counts(slide, CATEGORY_OF, QUALITY) == dict(expected)


def test_build_draws_eligible_tiles_sorted_with_the_right_columns(slides, tmp_path):
    out = tmp_path / "manifest.parquet"
    calls = []
    result = build_manifest(slides, CATEGORY_OF, recipe(), out, lambda *a: calls.append(a))
    table = pq.read_table(out)
    assert table.schema.remove_metadata().equals(MANIFEST_SCHEMA)
    assert result.rows == table.num_rows == 600 and result.shortfall == 0
    assert result.checksum == file_sha256(out)
    assert calls[-1] == (2 * len(slides), 2 * len(slides))
    rows = table.to_pylist()
    assert [(r["slide_id"], r["y"], r["x"]) for r in rows] == sorted(
        (r["slide_id"], r["y"], r["x"]) for r in rows
    )
    by_id = {s.slide_id: s for s in slides}
    tile_rows = {}
    for slide in slides:
        t = pq.read_table(slide.tile_path).to_pylist()
        labels = pq.read_table(slide.labels_path).column("cluster").to_pylist()
        tile_rows[slide.slide_id] = {
            (r["x"], r["y"]): (r, c) for r, c in zip(t, labels, strict=True)
        }
    for row in rows:
        slide = by_id[row["slide_id"]]
        tile, cluster = tile_rows[slide.slide_id][(row["x"], row["y"])]
        assert row["cluster"] == cluster and row["category"] == CATEGORY_OF[cluster]
        assert tile["tissue_fraction"] >= 0.5 and tile["pen_score"] <= 0.5
        assert row["group"] == slide.group and row["fingerprint"] == slide.fingerprint
        assert row["slide_path"] == slide.slide_path and row["tile_size"] == 64
        assert row["read_size"] == pytest.approx(64 * 0.5 / slide.mpp, rel=1e-3)
        assert row["target_mpp"] == pytest.approx(0.5)
        assert row["weight"] == pytest.approx(result_weight(row["group"], row["category"]))
    assert len({(r["slide_id"], r["x"], r["y"]) for r in rows}) == len(rows)  # no repeats
    achieved = Counter((r["group"], r["category"]) for r in rows)
    assert dict(achieved) == {k: v for k, v in result.achieved.items() if v}
    assert result.targets == {k: v for k, v in result.targets.items()}
    assert sum(result.targets.values()) == 600
    assert result.stats["rows"] == 600 and result.stats["slides"] == len(slides)
    assert {(c["group"], c["category"]): c["target"] for c in result.stats["cells"]} == (
        result.targets
    )
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def result_weight(group: str, category: str) -> float:
    """Group A has no Immune tile in these slides (drops out), B has all three."""
    group_share = 2 / 3 if group == "A" else 1 / 3
    categories = ("Tumour", "Stroma") if group == "A" else tuple(CATEGORIES)
    return group_share * CATEGORIES[category] / sum(CATEGORIES[c] for c in categories)


def test_per_slide_cap_holds_in_a_build(slides, tmp_path):
    result = build_manifest(slides, CATEGORY_OF, recipe(per_slide_cap=90), tmp_path / "m.parquet")
    per_slide = Counter(pq.read_table(tmp_path / "m.parquet").column("slide_id").to_pylist())
    assert max(per_slide.values()) <= 90
    assert result.stats["tiles_per_slide"]["max"] <= 90
    assert result.shortfall == 600 - result.rows > 0  # the cap leaves the budget short


def test_a_budget_larger_than_what_exists_builds_what_exists_and_says_so(slides, tmp_path):
    r = recipe(budget=1_000_000, per_slide_cap=None)
    result = build_manifest(slides, CATEGORY_OF, r, tmp_path / "m.parquet")
    eligible = sum(sum(eligible_counts(s, CATEGORY_OF, QUALITY).values()) for s in slides)
    assert result.rows == eligible
    assert result.shortfall == 1_000_000 - eligible
    assert result.stats["shortfall"] == result.shortfall
    assert any("short by" in note for note in result.notes)
    for cell in result.stats["cells"]:
        assert cell["achieved"] <= cell["target"]


def test_weights_that_sum_to_zero_are_refused_before_any_file(tmp_path):
    with pytest.raises(ValueError, match="sum to zero"):
        Recipe({"A": 0.0}, CATEGORIES, budget=10, per_slide_cap=None, quality=QUALITY)
    assert list(tmp_path.iterdir()) == []


def test_same_inputs_give_a_byte_identical_manifest_and_another_seed_differs(slides, tmp_path):
    first = build_manifest(slides, CATEGORY_OF, recipe(), tmp_path / "1.parquet")
    again = build_manifest(list(reversed(slides)), CATEGORY_OF, recipe(), tmp_path / "2.parquet")
    assert (tmp_path / "1.parquet").read_bytes() == (tmp_path / "2.parquet").read_bytes()
    assert first.checksum == again.checksum and first.stats == again.stats
    other = build_manifest(slides, CATEGORY_OF, recipe(seed=1), tmp_path / "3.parquet")
    assert (tmp_path / "3.parquet").read_bytes() != (tmp_path / "1.parquet").read_bytes()
    assert other.checksum != first.checksum
    assert other.rows == first.rows  # same composition, other tiles


@pytest.mark.parametrize("split_by", ["slide", "case"])
def test_the_split_never_shares_a_slide_nor_splits_a_case(run, tmp_path, split_by):
    many = slide_inputs(*run, copies=6)  # 24 slides in 12 cases
    r = recipe(budget=3000, per_slide_cap=150, split_by=split_by, validation_fraction=0.4)
    result = build_manifest(many, CATEGORY_OF, r, tmp_path / "m.parquet")
    table = pq.read_table(tmp_path / "m.parquet", columns=["slide_id", "split"]).to_pylist()
    splits_of_slide = defaultdict(set)
    for row in table:
        splits_of_slide[row["slide_id"]].add(row["split"])
    assert all(len(s) == 1 for s in splits_of_slide.values())
    by_id = {s.slide_id: s for s in many}
    splits_of_case = defaultdict(set)
    for slide_id, splits in splits_of_slide.items():
        splits_of_case[by_id[slide_id].case_key].update(splits)
        expected = split_of(split_key(by_id[slide_id], split_by), r.seed, 0.4)
        assert splits == {expected}
    if split_by == "case":
        assert all(len(s) == 1 for s in splits_of_case.values())
    assert {"train", "validation"} <= {row["split"] for row in table}
    assert result.stats["train"] + result.stats["validation"] == result.rows


def test_split_of_is_stable_and_follows_the_fraction():
    keys = [f"case-{i}" for i in range(20_000)]
    validation = sum(split_of(k, 7, 0.2) == "validation" for k in keys) / len(keys)
    assert validation == pytest.approx(0.2, abs=0.015)
    assert [split_of(k, 7, 0.2) for k in keys[:50]] == [split_of(k, 7, 0.2) for k in keys[:50]]
    assert {split_of(k, 7, 0.0) for k in keys[:500]} == {"train"}
    assert [split_of(k, 7, 0.5) for k in keys[:50]] != [split_of(k, 8, 0.5) for k in keys[:50]]


def test_a_slide_with_missing_or_damaged_files_is_skipped_and_noted(slides, tmp_path):
    broken_tiles = tmp_path / "broken.parquet"
    broken_tiles.write_bytes(b"not parquet")
    misaligned = tmp_path / "misaligned.parquet"
    table = pq.read_table(slides[1].labels_path)
    pq.write_table(table.slice(0, 10), misaligned)
    extra = [
        dataclasses.replace(slides[0], slide_id=1, tile_path=tmp_path / "gone.parquet"),
        dataclasses.replace(slides[0], slide_id=2, tile_path=broken_tiles),
        dataclasses.replace(slides[1], slide_id=3, labels_path=tmp_path / "none.parquet"),
        dataclasses.replace(slides[1], slide_id=4, labels_path=misaligned),
    ]
    result = build_manifest([*slides, *extra], CATEGORY_OF, recipe(), tmp_path / "m.parquet")
    ids = set(pq.read_table(tmp_path / "m.parquet").column("slide_id").to_pylist())
    assert ids == {s.slide_id for s in slides}
    for slide_id in (1, 2, 3, 4):
        assert any(note.startswith(f"slide {slide_id} skipped") for note in result.notes)
    assert result.rows == 600 and result.stats["notes"] == result.notes


def test_a_slide_that_vanishes_between_the_passes_is_skipped(slides, tmp_path):
    copy = tmp_path / "copy.parquet"
    shutil.copy(slides[0].tile_path, copy)
    moved = dataclasses.replace(slides[0], tile_path=copy)
    inputs = [moved, *slides[1:]]

    def progress(done, total):
        if done == total // 2:  # eligibility pass over: the file goes away
            copy.unlink()

    result = build_manifest(inputs, CATEGORY_OF, recipe(), tmp_path / "m.parquet", progress)
    assert any("skipped while drawing" in note for note in result.notes)
    assert result.rows < 600 and result.shortfall == 600 - result.rows


def test_slides_outside_the_recipe_groups_and_duplicates(slides, tmp_path):
    r = recipe(group_weights={"A": 1.0})
    result = build_manifest(slides, CATEGORY_OF, r, tmp_path / "m.parquet")
    groups = set(pq.read_table(tmp_path / "m.parquet").column("group").to_pylist())
    assert groups == {"A"} and any("none of the recipe's groups" in n for n in result.notes)
    with pytest.raises(ValueError, match="duplicate"):
        build_manifest([slides[0], slides[0]], CATEGORY_OF, r, tmp_path / "d.parquet")
