"""Sampling a curated dataset version: which tiles, from which slides, for which split.

The pathologists' decisions become a manifest (`curation.manifest`) in four steps
(docs/datasets.md, "Sampling"):

1. eligibility (`eligible_counts`): per slide, the tiles whose cluster maps to an included
   category and that pass the quality filter, counted per category;
2. allocation (`allocate`): the budget split over groups by weight, within a group over its
   categories by weight (categories without eligible tiles drop out), within a cell over
   slides by water-filling under the per-slide cap, integer counts by largest remainder;
3. draw (`draw`): per slide, that many eligible tiles per category, uniformly without
   replacement, seeded by (seed, slide fingerprint), sorted by (y, x);
4. split (`split_of`): a whole case (or slide) goes to validation when a seeded hash of its
   key falls below the validation fraction.

`build_manifest` runs them with memory bounded by one slide plus the count table, and the
same recipe, seed and inputs give a byte-identical manifest.parquet.
"""

import hashlib
import math
import os
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curation.cluster_features import slide_rng
from curation.manifest import MANIFEST_SCHEMA, SPLITS, manifest_stats, write_manifest
from curation.tile_store import read_tile_metadata

_DRAW_PURPOSE = 2  # slide_rng purpose of the draw (cluster sampling uses 0, exemplars 1)
_SPLIT_BY = ("slide", "case")
# What a slide's failure looks like: missing or damaged files, wrong shapes, missing columns.
_SLIDE_ERRORS = (OSError, ValueError, KeyError, pa.ArrowException)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class QualityFilter:
    """A tile passes when tissue_fraction ≥ min_tissue_fraction, sharpness ≥ min_sharpness
    and pen_score ≤ max_pen_score (None: that test is off)."""

    min_tissue_fraction: float = 0.0
    min_sharpness: float | None = None
    max_pen_score: float | None = None


@dataclass(frozen=True)
class SlideInput:
    """One slide as the sampler sees it. `group` is the one slide group the web app assigned
    it to (the first of the recipe's groups that includes it); `case_key` the key that keeps
    a case together in the split ("" → the slide's folder); `mpp` its level-0 µm/px."""

    slide_id: int
    fingerprint: str
    slide_path: str
    group: str
    case_key: str
    tile_path: Path
    labels_path: Path
    mpp: float


def _check_weights(weights: Mapping[str, float], what: str) -> None:
    if not weights:
        raise ValueError(f"{what} weights are empty: give at least one with a positive weight")
    for name, weight in weights.items():
        if weight is None or not math.isfinite(float(weight)) or float(weight) < 0:
            raise ValueError(
                f"{what} weight of {name!r} must be a finite number ≥ 0, got {weight!r}"
            )
    if sum(float(w) for w in weights.values()) <= 0:
        raise ValueError(f"{what} weights that sum to zero: at least one must be positive")


@dataclass(frozen=True)
class Recipe:
    """What to sample: weights per group and per category (≥ 0, summing to > 0), a budget of
    tiles (≥ 1), an optional cap per slide, quality filters, the split (by "slide" or "case",
    validation_fraction in [0, 1)) and the seed. Raises ValueError when invalid."""

    group_weights: dict[str, float]
    category_weights: dict[str, float]
    budget: int
    per_slide_cap: int | None
    quality: QualityFilter = field(default_factory=QualityFilter)
    split_by: str = "slide"
    validation_fraction: float = 0.1
    seed: int = 0

    def __post_init__(self) -> None:
        _check_weights(self.group_weights, "group")
        _check_weights(self.category_weights, "category")
        if isinstance(self.budget, bool) or int(self.budget) != self.budget or self.budget < 1:
            raise ValueError(f"budget must be a whole number ≥ 1, got {self.budget!r}")
        if self.per_slide_cap is not None and (
            int(self.per_slide_cap) != self.per_slide_cap or self.per_slide_cap < 1
        ):
            raise ValueError(
                f"per_slide_cap must be a whole number ≥ 1 or None, got {self.per_slide_cap!r}"
            )
        if self.split_by not in _SPLIT_BY:
            raise ValueError(f"split_by must be one of {_SPLIT_BY}, got {self.split_by!r}")
        object.__setattr__(self, "budget", int(self.budget))
        if self.per_slide_cap is not None:
            object.__setattr__(self, "per_slide_cap", int(self.per_slide_cap))
        fraction = self.validation_fraction
        if not (isinstance(fraction, int | float) and 0 <= fraction < 1):
            raise ValueError(f"validation_fraction must be in [0, 1), got {fraction!r}")
        if not isinstance(self.quality, QualityFilter):
            raise ValueError("quality must be a QualityFilter")


@dataclass
class Allocation:
    """How many tiles to draw: `per_slide` slide_id → {category: n} (only n > 0); `targets`
    and `achieved` per (group, category) (achieved ≤ target: what the eligible tiles allow);
    `shortfall` = Σ (target − achieved); `weights` per (group, category): normalised group
    weight × normalised category weight (within the group's categories that have tiles);
    `notes` for people."""

    per_slide: dict[int, dict[str, int]]
    targets: dict[tuple[str, str], int]
    achieved: dict[tuple[str, str], int]
    shortfall: int
    weights: dict[tuple[str, str], float]
    notes: list[str] = field(default_factory=list)


@dataclass
class BuildResult:
    """A built manifest: row count, SHA-256 of manifest.parquet, stats (docs' stats.json
    shape), shortfall, targets and achieved per (group, category), notes (skipped slides…)."""

    rows: int
    checksum: str
    stats: dict
    shortfall: int
    targets: dict[tuple[str, str], int]
    achieved: dict[tuple[str, str], int]
    notes: list[str]


# --- eligibility ---------------------------------------------------------------------------------


def _quality_columns(quality: QualityFilter) -> list[str]:
    columns = ["tissue_fraction"]
    if quality.min_sharpness is not None:
        columns.append("sharpness")
    if quality.max_pen_score is not None:
        columns.append("pen_score")
    return columns


def _category_codes(
    slide: SlideInput,
    category_of: Mapping[int, str],
    quality: QualityFilter,
    extra: Sequence[str] = (),
) -> tuple[np.ndarray, list[str], pa.Table, np.ndarray]:
    """Per tile row of the slide: the index of its category in the returned sorted names, or
    -1 when ineligible (cluster not included, or failing the quality filter); the tile
    file's `extra` columns; and the cluster labels. Raises FileNotFoundError / ValueError /
    ArrowException for missing, damaged or misaligned files."""
    labels = pq.read_table(slide.labels_path, columns=["cluster"])
    columns = list(dict.fromkeys([*_quality_columns(quality), *extra]))
    tiles = pq.read_table(slide.tile_path, columns=columns)
    if labels.num_rows != tiles.num_rows:
        raise ValueError(
            f"label file has {labels.num_rows} rows, tile file {tiles.num_rows}: not aligned"
        )
    names = sorted(set(category_of.values()))
    cluster = labels.column("cluster").to_numpy(zero_copy_only=False).astype(np.int64)
    size = max([int(c) for c in category_of] + [int(cluster.max()) if len(cluster) else 0]) + 1
    lookup = np.full(size, -1, dtype=np.int64)
    for index, name in category_of.items():
        if int(index) >= 0:
            lookup[int(index)] = names.index(name)
    codes = np.where(cluster >= 0, lookup[np.clip(cluster, 0, None)], -1)
    keep = (
        np.nan_to_num(tiles.column("tissue_fraction").to_numpy(zero_copy_only=False), nan=-1.0)
        >= quality.min_tissue_fraction
    )
    if quality.min_sharpness is not None:
        sharpness = tiles.column("sharpness").to_numpy(zero_copy_only=False)
        keep &= np.nan_to_num(sharpness, nan=-np.inf) >= quality.min_sharpness
    if quality.max_pen_score is not None:
        pen = tiles.column("pen_score").to_numpy(zero_copy_only=False)
        keep &= np.nan_to_num(pen, nan=np.inf) <= quality.max_pen_score
    return np.where(keep, codes, -1), names, tiles, cluster


def eligible_counts(
    slide: SlideInput, category_of: Mapping[int, str], quality: QualityFilter
) -> dict[str, int]:
    """Eligible tiles of one slide per category (only categories with at least one). Reads the
    label file and the tile file's quality columns. Raises OSError / ValueError /
    ArrowException when a file is missing, damaged or the two are not aligned."""
    codes, names, _, _ = _category_codes(slide, category_of, quality)
    counts = np.bincount(codes[codes >= 0], minlength=len(names))
    return {name: int(n) for name, n in zip(names, counts.tolist(), strict=True) if n > 0}


# --- allocation ----------------------------------------------------------------------------------


def _largest_remainder(total: int, weights: Sequence[float]) -> list[int]:
    """`total` split in proportion to `weights` (not all zero) as whole numbers summing to
    `total`; ties in the remainders go to the earlier entry. Exact (rational) arithmetic, so
    float rounding never gives a tile too many or too few."""
    exact_weights = [Fraction(float(w)) for w in weights]
    weight_sum = sum(exact_weights)
    exact = [Fraction(int(total)) * w / weight_sum for w in exact_weights]
    whole = [math.floor(e) for e in exact]
    order = sorted(range(len(exact)), key=lambda i: (-(exact[i] - whole[i]), i))
    for i in order[: int(total) - sum(whole)]:
        whole[i] += 1
    return whole


def _tie_rank(slide_id: int, seed: int) -> bytes:
    return hashlib.sha256(f"{seed}:{slide_id}".encode()).digest()


def water_fill(target: int, capacities: Mapping[int, int], seed: int = 0) -> dict[int, int]:
    """`target` split over slides as equally as their `capacities` allow (slide_id → most it
    can give): every slide gets min(capacity, level) for one level, whole numbers summing to
    min(target, Σ capacities). Slides that get one tile more than others (the remainder) are
    chosen by a seeded hash of their id, not by their order."""
    result = {slide_id: 0 for slide_id in capacities}
    remaining = max(0, int(target))
    pending = sorted(
        ((int(c), slide_id) for slide_id, c in capacities.items() if c > 0),
        key=lambda item: (item[0], _tie_rank(item[1], seed)),
    )
    first = 0  # pending[first:] are the slides not yet full
    while first < len(pending) and remaining > 0:
        capacity, slide_id = pending[first]
        left = len(pending) - first
        if capacity * left <= remaining:
            result[slide_id] = capacity
            remaining -= capacity
            first += 1
            continue
        base, extra = divmod(remaining, left)
        ranked = sorted(pending[first:], key=lambda item: _tie_rank(item[1], seed))
        for rank, (_, slide_id) in enumerate(ranked):
            result[slide_id] = base + (1 if rank < extra else 0)
        remaining = 0
    return result


def allocate(
    counts: Mapping[tuple[str, str, int], int],
    group_weights: Mapping[str, float],
    category_weights: Mapping[str, float],
    budget: int,
    per_slide_cap: int | None,
    *,
    seed: int = 0,
) -> Allocation:
    """Split `budget` tiles over the eligible `counts` ((group, category, slide_id) → eligible
    tiles): over groups by normalised weight (recipe order breaks remainder ties), within a
    group over the categories that have eligible tiles there by normalised weight, within a
    (group, category) over slides by water-filling, capped by each slide's eligible count and
    what remains of its `per_slide_cap` (cells are filled in recipe order: groups, then
    categories). A cell with fewer tiles than its target gives what it has; the rest is the
    shortfall. A group without any eligible tile keeps its share as targets over all its
    weighted categories (all shortfall). Groups and categories with weight 0 or absent from
    the weights take nothing."""
    notes: list[str] = []
    groups = [g for g, w in group_weights.items() if w > 0]
    categories = [c for c, w in category_weights.items() if w > 0]
    cell_slides: dict[tuple[str, str], dict[int, int]] = defaultdict(dict)
    ignored_groups, ignored_categories = set(), set()
    for (group, category, slide_id), n in counts.items():
        if n <= 0:
            continue
        if group not in groups:
            ignored_groups.add(group)
        elif category not in categories:
            ignored_categories.add(category)
        else:
            cell_slides[(group, category)][int(slide_id)] = int(n)
    if ignored_groups:
        notes.append(
            f"groups without weight, not sampled: {', '.join(sorted(map(str, ignored_groups)))}"
        )
    if ignored_categories:
        notes.append(
            "categories without weight, not sampled: "
            + ", ".join(sorted(map(str, ignored_categories)))
        )

    targets: dict[tuple[str, str], int] = {}
    weights: dict[tuple[str, str], float] = {}
    group_sum = sum(group_weights[g] for g in groups)
    for group, group_target in zip(
        groups, _largest_remainder(budget, [group_weights[g] for g in groups]), strict=True
    ):
        present = [c for c in categories if (group, c) in cell_slides]
        if not present:
            notes.append(
                f"group {group!r} has no eligible tile: its {group_target} tiles are missing"
            )
            present = categories
        category_sum = sum(category_weights[c] for c in present)
        shares = _largest_remainder(group_target, [category_weights[c] for c in present])
        for category, share in zip(present, shares, strict=True):
            targets[(group, category)] = share
            weights[(group, category)] = (group_weights[group] / group_sum) * (
                category_weights[category] / category_sum
            )

    used: dict[int, int] = defaultdict(int)
    per_slide: dict[int, dict[str, int]] = defaultdict(dict)
    achieved: dict[tuple[str, str], int] = {}
    for (group, category), target in targets.items():
        slides = cell_slides.get((group, category), {})
        capacities = {
            slide_id: n if per_slide_cap is None else max(0, min(n, per_slide_cap - used[slide_id]))
            for slide_id, n in slides.items()
        }
        shares = water_fill(target, capacities, seed)
        for slide_id, n in shares.items():
            if n > 0:
                per_slide[slide_id][category] = per_slide[slide_id].get(category, 0) + n
                used[slide_id] += n
        achieved[(group, category)] = sum(shares.values())
    shortfall = sum(targets[key] - achieved[key] for key in targets)
    for (group, category), target in targets.items():
        if achieved[(group, category)] < target:
            notes.append(
                f"{group} × {category}: {achieved[(group, category)]} of {target} tiles "
                f"(short by {target - achieved[(group, category)]})"
            )
    return Allocation(dict(per_slide), targets, achieved, shortfall, weights, notes)


# --- draw and split ------------------------------------------------------------------------------


def _tile_size(slide: SlideInput, read_size: np.ndarray, target_mpp: np.ndarray) -> np.ndarray:
    """Output pixels per tile: the tiling configuration's tile_size when the tile file records
    it, else read_size × slide mpp / target mpp, rounded."""
    try:
        size = int(read_tile_metadata(slide.tile_path)["config"]["tile_size"])
        return np.full(len(read_size), size, dtype=np.int32)
    except (ValueError, KeyError, TypeError):
        return np.rint(read_size * slide.mpp / target_mpp).astype(np.int32)


def draw(
    slide: SlideInput,
    wanted: Mapping[str, int],
    category_of: Mapping[int, str],
    quality: QualityFilter,
    seed: int,
    *,
    weights: Mapping[str, float] | None = None,
    split: str = "train",
) -> pa.Table:
    """The manifest rows (MANIFEST_SCHEMA) of one slide: per category (in sorted order),
    min(n, eligible) of its eligible tiles uniformly without replacement, with a generator
    seeded from (seed, slide fingerprint); rows sorted by (y, x). `weights` (category → the
    cell's weight; default 1.0) and `split` fill those columns."""
    codes, names, tiles, labels = _category_codes(
        slide, category_of, quality, extra=("x", "y", "size", "mpp")
    )
    rng = slide_rng(seed, slide.fingerprint, _DRAW_PURPOSE)
    chosen = []
    for code, name in enumerate(names):
        n = int(wanted.get(name, 0))
        if n <= 0:
            continue
        rows = np.flatnonzero(codes == code)
        if n < len(rows):
            rows = rng.choice(rows, size=n, replace=False)
        chosen.append(rows)
    rows = np.concatenate(chosen) if chosen else np.empty(0, dtype=np.int64)
    x = tiles.column("x").to_numpy()[rows]
    y = tiles.column("y").to_numpy()[rows]
    order = np.lexsort((x, y))
    rows, x, y = rows[order], x[order], y[order]
    read_size = tiles.column("size").to_numpy()[rows].astype(np.float32)
    target_mpp = tiles.column("mpp").to_numpy()[rows].astype(np.float32)
    cluster = labels[rows].astype(np.int32)
    category = [names[c] for c in codes[rows].tolist()]
    weight = np.array([(weights or {}).get(c, 1.0) for c in category], dtype=np.float32)
    n = len(rows)
    return pa.table(
        {
            "slide_id": pa.array(np.full(n, slide.slide_id, dtype=np.int64)),
            "slide_path": pa.array([slide.slide_path] * n, pa.string()),
            "fingerprint": pa.array([slide.fingerprint] * n, pa.string()),
            "x": pa.array(x.astype(np.int64)),
            "y": pa.array(y.astype(np.int64)),
            "read_size": pa.array(read_size),
            "tile_size": pa.array(_tile_size(slide, read_size, target_mpp)),
            "target_mpp": pa.array(target_mpp),
            "group": pa.array([slide.group] * n, pa.string()),
            "category": pa.array(category, pa.string()),
            "cluster": pa.array(cluster),
            "weight": pa.array(weight),
            "split": pa.array([split] * n, pa.string()),
        },
        schema=MANIFEST_SCHEMA,
    )


def split_of(case_key: str, seed: int, validation_fraction: float) -> str:
    """ "validation" when a hash of (seed, case_key), read as a number in [0, 1), is below
    `validation_fraction`; else "train". The same key always lands on the same side."""
    digest = hashlib.sha256(f"{int(seed)}\x00{case_key}".encode()).digest()
    value = int.from_bytes(digest[:8], "big") / 2**64
    return SPLITS[1] if value < validation_fraction else SPLITS[0]


def split_key(slide: SlideInput, split_by: str) -> str:
    """The key a slide is split by: its fingerprint ("slide": copies of one file stay
    together), or its case key ("case"; the slide's folder when it has none)."""
    if split_by == "case":
        return slide.case_key or f"folder:{os.path.dirname(slide.slide_path)}"
    return f"slide:{slide.fingerprint}"


# --- the build -----------------------------------------------------------------------------------


def _reason(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def build_manifest(
    slides: Sequence[SlideInput],
    category_of: Mapping[int, str],
    recipe: Recipe,
    out_path: str | Path,
    progress: Progress | None = None,
    *,
    slide_attributes: Mapping[int, Mapping[str, str]] | None = None,
) -> BuildResult:
    """Sample `recipe` from `slides` into the manifest `out_path` (atomic) and summarise it.

    `category_of` maps cluster index → category name for the included clusters only (others
    are ineligible). Pass one counts eligible tiles per slide; allocation; pass two draws slide
    by slide in slide_id order, streaming rows into the writer, so memory holds one slide and
    the count table. A slide whose files are missing or unreadable is skipped and named in
    `notes`; the build goes on. `progress(done, total)` counts slides over both passes
    (total = 2 × slides). `slide_attributes` (slide_id → {"lab", "scanner", "stain"}) feeds
    the stats' by_lab / by_scanner / by_stain. Raises ValueError for duplicate slide ids.
    """
    ordered = sorted(slides, key=lambda s: s.slide_id)
    ids = [s.slide_id for s in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("slides contain duplicate slide ids")
    total = 2 * len(ordered)
    notes: list[str] = []
    skipped: set[int] = set()

    counts: dict[tuple[str, str, int], int] = {}
    outside = 0
    for done, slide in enumerate(ordered, start=1):
        if not recipe.group_weights.get(slide.group, 0) > 0:
            outside += 1  # in no group of the recipe, or in one weighted 0
        else:
            try:
                for category, n in eligible_counts(slide, category_of, recipe.quality).items():
                    counts[(slide.group, category, slide.slide_id)] = n
            except _SLIDE_ERRORS as error:
                skipped.add(slide.slide_id)
                notes.append(f"slide {slide.slide_id} skipped: {_reason(error)}")
        if progress:
            progress(done, total)
    if outside:
        notes.append(f"{outside} slides are in none of the recipe's groups (or one weighted 0)")

    allocation = allocate(
        counts,
        recipe.group_weights,
        recipe.category_weights,
        recipe.budget,
        recipe.per_slide_cap,
        seed=recipe.seed,
    )
    notes += allocation.notes
    achieved: dict[tuple[str, str], int] = defaultdict(int)

    def rows() -> Iterator[pa.Table]:
        for done, slide in enumerate(ordered, start=len(ordered) + 1):
            wanted = allocation.per_slide.get(slide.slide_id)
            if wanted and slide.slide_id not in skipped:
                weights = {c: allocation.weights.get((slide.group, c), 0.0) for c in wanted}
                split = split_of(
                    split_key(slide, recipe.split_by), recipe.seed, recipe.validation_fraction
                )
                try:
                    table = draw(
                        slide,
                        wanted,
                        category_of,
                        recipe.quality,
                        recipe.seed,
                        weights=weights,
                        split=split,
                    )
                except _SLIDE_ERRORS as error:
                    notes.append(f"slide {slide.slide_id} skipped while drawing: {_reason(error)}")
                    table = None
                if table is not None:
                    for category, n in zip(
                        *np.unique(
                            table.column("category").to_numpy(zero_copy_only=False),
                            return_counts=True,
                        ),
                        strict=True,
                    ):
                        achieved[(slide.group, str(category))] += int(n)
                    yield table
            if progress:
                progress(done, total)

    checksum = write_manifest(out_path, rows())
    final = {key: achieved.get(key, 0) for key in allocation.targets}
    shortfall = sum(max(0, t - final[key]) for key, t in allocation.targets.items())
    if shortfall != allocation.shortfall:
        notes.append(
            f"drawn {sum(final.values())} tiles, "
            f"{shortfall - allocation.shortfall} fewer than allocated"
        )
    stats = manifest_stats(
        out_path,
        slide_attributes=slide_attributes,
        targets=allocation.targets,
        shortfall=shortfall,
        notes=notes,
        cell_order=list(allocation.targets),
    )
    return BuildResult(
        stats["rows"], checksum, stats, shortfall, dict(allocation.targets), final, notes
    )
