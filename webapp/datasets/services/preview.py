"""Estimates for a recipe without building: the run's composition (tiles per slide and
cluster) joined with each slide's recipe group and each cluster's category, allocated with
the library's allocation. No tile file is read, so the quality filters are not applied: the
numbers are upper bounds of what a build finds."""

from collections import defaultdict

import pyarrow.parquet as pq

from curation.dataset_sampling import allocate
from webapp.clusters.models import ClusterRun
from webapp.clusters.services.runs import run_dir
from webapp.core.errors import ServiceError
from webapp.datasets.services import inputs
from webapp.datasets.services.recipes import UNREVIEWED, recipe_clean, resolve, run_check


def composition_counts(run: ClusterRun) -> dict[int, dict[int, int]]:
    """slide id → {cluster index: tiles} from the run's composition.parquet."""
    try:
        # Read directly: curation.cluster_assign would load FAISS into the web process.
        table = pq.read_table(
            run_dir(run) / "composition.parquet", columns=["slide_id", "cluster", "count"]
        )
    except (OSError, ValueError) as exc:
        raise ServiceError(
            "The cluster run's composition file cannot be read; rerun the run.",
            code="run_files_missing",
            status_code=409,
        ) from exc
    out: dict[int, dict[int, int]] = defaultdict(dict)
    for sid, cluster, count in zip(
        table.column("slide_id").to_pylist(),
        table.column("cluster").to_pylist(),
        table.column("count").to_pylist(),
        strict=True,
    ):
        out[int(sid)][int(cluster)] = int(count)
    return out


def preview(run: ClusterRun, recipe: dict) -> dict:
    recipe = recipe_clean(recipe)
    run_check(run)
    resolved = resolve(run, recipe)
    notes = list(resolved.notes)
    cells = []
    eligible_total = estimated_total = shortfall = 0
    if resolved.groups and resolved.category_weights:
        composition = composition_counts(run)
        members = inputs.group_members(resolved)
        group_of = inputs.slide_groups(resolved, members, composition)
        counts: dict[tuple[str, str, int], int] = defaultdict(int)
        for sid, group in group_of.items():
            for cluster, n in composition[sid].items():
                category = resolved.category_of.get(cluster)
                if category is not None:
                    counts[(group, category, sid)] += n
        eligible: dict[tuple[str, str], int] = defaultdict(int)
        for (group, category, _), n in counts.items():
            eligible[(group, category)] += n
        eligible_total = sum(eligible.values())
        if sum(resolved.group_weights.values()) > 0 and sum(resolved.category_weights.values()) > 0:
            allocation = allocate(
                dict(counts),
                resolved.group_weights,
                resolved.category_weights,
                recipe["budget"],
                recipe["per_slide_cap"],
                seed=recipe["seed"],
            )
            achieved = dict(allocation.achieved)
            shortfall = int(allocation.shortfall)
        else:
            achieved = {}
            shortfall = recipe["budget"]
            notes.append("The weights sum to zero: nothing would be sampled.")
        estimated_total = sum(achieved.values())
        order = {g.name: i for i, (g, _) in enumerate(resolved.groups)}
        for group, category in sorted(
            eligible, key=lambda gc: (order.get(gc[0], 0), gc[1] == UNREVIEWED, gc[1])
        ):
            cells.append(
                {
                    "group": group,
                    "category": category,
                    "eligible": eligible[(group, category)],
                    "estimated": int(achieved.get((group, category), 0)),
                }
            )
        missing = [g.name for g, _ in resolved.groups if g.name not in set(group_of.values())]
        if missing:
            notes.append(f"No slide of the run is in {', '.join(missing)}.")
        outside = len(composition) - len(group_of)
        if outside:
            notes.append(f"{outside:,} slide(s) of the run are in none of the recipe's groups.")
    else:
        shortfall = recipe["budget"]
        notes.append(
            "Choose at least one slide group."
            if not resolved.groups
            else "No cluster maps to a chosen category yet."
        )
    if resolved.unreviewed and not recipe["include_unreviewed"]:
        notes.append(
            f"{resolved.unreviewed} cluster(s) are unreviewed: a build is refused until they "
            "are reviewed or include_unreviewed is set."
        )
    if shortfall:
        notes.append(
            f"The budget asks for {recipe['budget']:,} tiles; about {shortfall:,} do not exist."
        )
    notes.append("Estimates come from the run's composition, before the quality filters.")
    return {
        "estimated_total": int(estimated_total),
        "eligible_total": int(eligible_total),
        "shortfall": int(shortfall),
        "unreviewed_clusters": resolved.unreviewed,
        "cells": cells,
        "notes": notes,
    }
