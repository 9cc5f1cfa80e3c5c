"""Recipes: validating the JSON people send, and resolving it against the current state of
the slide groups and the cluster run's review into what the library samples with.

Resolution rules (docs/datasets.md):

- a cluster's category follows its final decision: accepted → its category's name; merged →
  the decision of the cluster it was merged into (followed to the end of the chain);
  rejected → excluded; unreviewed → the category `unreviewed` only when the recipe says
  `include_unreviewed`, else excluded (and the build refuses while any is unreviewed);
- only the recipe's categories are sampled; an empty category list means every category an
  accepted cluster of the run has. A category's weight is the recipe's, or its
  `default_weight` when the recipe gives null; `unreviewed` weighs 1.0;
- a group's weight is the recipe's, or the group's own weight when null;
- a reviewer's per-cluster weight override is not used yet: weights act per category.
"""

import math
from dataclasses import dataclass, field

from webapp.clusters.models import Cluster, ClusterRun, ClusterStatus, RunStatus, SemanticCategory
from webapp.core.errors import ServiceError
from webapp.tagging.models import SlideGroup

UNREVIEWED = "unreviewed"
SPLIT_BY = ("slide", "case")
MAX_BUDGET = 1_000_000_000
MAX_SEED = 2**32 - 1
DEFAULT_RECIPE = {
    "groups": [],
    "categories": [],
    "include_unreviewed": False,
    "budget": 100_000,
    "per_slide_cap": None,
    "quality": {"min_tissue_fraction": 0.0, "min_sharpness": None, "max_pen_score": None},
    "split": {"by": "slide", "validation_fraction": 0.1},
    "seed": 0,
}
KEYS = set(DEFAULT_RECIPE)


def _bad(message: str, code: str = "invalid_recipe") -> ServiceError:
    return ServiceError(message, code=code)


def _number(value, what: str, *, allow_none: bool = False, lo=None, hi=None) -> float | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _bad(f"{what} must be a number{' or null' if allow_none else ''}.")
    if lo is not None and value < lo:
        raise _bad(f"{what} must be at least {lo}.")
    if hi is not None and value > hi:
        raise _bad(f"{what} must be at most {hi}.")
    return float(value)


def _integer(value, what: str, *, allow_none: bool = False, lo=None, hi=None) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(f"{what} must be a whole number{' or null' if allow_none else ''}.")
    if lo is not None and value < lo:
        raise _bad(f"{what} must be at least {lo:,}.")
    if hi is not None and value > hi:
        raise _bad(f"{what} must be at most {hi:,}.")
    return value


def _weighted(items, what: str, key: str) -> list[dict]:
    if not isinstance(items, list):
        raise _bad(f"{what} must be a list of {{{key!r}: id, 'weight': number}}.")
    out, seen = [], set()
    for i, item in enumerate(items):
        if not isinstance(item, dict) or set(item) - {key, "weight"} or key not in item:
            raise _bad(f"{what}[{i}] must be {{{key!r}: id, 'weight': number or null}}.")
        ident = _integer(item[key], f"{what}[{i}].{key}", lo=1)
        if ident in seen:
            raise _bad(f"{what} lists {key} {ident} twice.")
        seen.add(ident)
        weight = _number(item.get("weight"), f"{what}[{i}].weight", allow_none=True, lo=0)
        out.append({key: ident, "weight": weight})
    return out


def recipe_clean(data) -> dict:
    """A complete, normalised recipe (defaults filled in) or a 400 naming what is wrong.
    Group and category ids must exist."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _bad("The recipe must be a JSON object.")
    unknown = set(data) - KEYS
    if unknown:
        raise _bad(f"Unknown recipe field(s): {', '.join(sorted(unknown))}.")
    recipe = {**DEFAULT_RECIPE, **data}
    groups = _weighted(recipe["groups"], "groups", "group")
    categories = _weighted(recipe["categories"], "categories", "category")
    if not isinstance(recipe["include_unreviewed"], bool):
        raise _bad("include_unreviewed must be true or false.")
    budget = _integer(recipe["budget"], "budget", lo=1, hi=MAX_BUDGET)
    cap = _integer(recipe["per_slide_cap"], "per_slide_cap", allow_none=True, lo=1, hi=MAX_BUDGET)
    quality = recipe["quality"]
    if not isinstance(quality, dict) or set(quality) - set(DEFAULT_RECIPE["quality"]):
        raise _bad(
            "quality must be an object with min_tissue_fraction, min_sharpness, max_pen_score."
        )
    quality = {**DEFAULT_RECIPE["quality"], **quality}
    quality = {
        "min_tissue_fraction": _number(
            quality["min_tissue_fraction"], "quality.min_tissue_fraction", lo=0, hi=1
        ),
        "min_sharpness": _number(
            quality["min_sharpness"], "quality.min_sharpness", allow_none=True
        ),
        "max_pen_score": _number(
            quality["max_pen_score"], "quality.max_pen_score", allow_none=True
        ),
    }
    split = recipe["split"]
    if not isinstance(split, dict) or set(split) - {"by", "validation_fraction"}:
        raise _bad("split must be an object with by and validation_fraction.")
    split = {**DEFAULT_RECIPE["split"], **split}
    if split["by"] not in SPLIT_BY:
        raise _bad("split.by must be 'slide' or 'case'.")
    split = {
        "by": split["by"],
        "validation_fraction": _number(
            split["validation_fraction"], "split.validation_fraction", lo=0
        ),
    }
    if split["validation_fraction"] >= 1:
        raise _bad("split.validation_fraction must be below 1.")
    seed = _integer(recipe["seed"], "seed", lo=0, hi=MAX_SEED)

    known = set(
        SlideGroup.objects.filter(pk__in=[g["group"] for g in groups]).values_list("pk", flat=True)
    )
    missing = [g["group"] for g in groups if g["group"] not in known]
    if missing:
        raise _bad(f"No slide group with id {missing[0]}.", code="unknown_group")
    known = set(
        SemanticCategory.objects.filter(pk__in=[c["category"] for c in categories]).values_list(
            "pk", flat=True
        )
    )
    missing = [c["category"] for c in categories if c["category"] not in known]
    if missing:
        raise _bad(f"No semantic category with id {missing[0]}.", code="unknown_category")
    return {
        "groups": groups,
        "categories": categories,
        "include_unreviewed": recipe["include_unreviewed"],
        "budget": budget,
        "per_slide_cap": cap,
        "quality": quality,
        "split": split,
        "seed": seed,
    }


def run_check(run: ClusterRun) -> None:
    if run.status != RunStatus.SUCCEEDED:
        raise ServiceError(
            f"Cluster run {run.pk} has not succeeded (it is {run.status}); a dataset needs a "
            "finished, reviewed run.",
            code="run_not_ready",
        )


@dataclass
class Resolved:
    """A recipe resolved against today's groups and review: what the library needs."""

    groups: list[tuple[SlideGroup, float]]  # in recipe order, with effective weights
    category_of: dict[int, str]  # cluster index → category name
    category_weights: dict[str, float]
    unreviewed: int  # clusters of the run still unreviewed
    notes: list[str] = field(default_factory=list)

    @property
    def group_weights(self) -> dict[str, float]:
        return {g.name: w for g, w in self.groups}


def _final(cluster, by_id: dict) -> object:
    seen = set()
    while cluster.status == ClusterStatus.MERGED and cluster.merged_into_id in by_id:
        if cluster.pk in seen:  # a cycle: treat as unreviewed
            break
        seen.add(cluster.pk)
        cluster = by_id[cluster.merged_into_id]
    return cluster


def resolve(run: ClusterRun, recipe: dict) -> Resolved:
    """Resolve a cleaned recipe (see the module's rules)."""
    groups_by_id = SlideGroup.objects.in_bulk([g["group"] for g in recipe["groups"]])
    groups = []
    for item in recipe["groups"]:
        group = groups_by_id.get(item["group"])
        if group is None:
            raise _bad(f"No slide group with id {item['group']}.", code="unknown_group")
        groups.append((group, group.weight if item["weight"] is None else item["weight"]))

    clusters = list(Cluster.objects.filter(run=run).select_related("category"))
    by_id = {c.pk: c for c in clusters}
    chosen = {c["category"]: c["weight"] for c in recipe["categories"]}
    category_of: dict[int, str] = {}
    weights: dict[str, float] = {}
    unreviewed = sum(c.status == ClusterStatus.UNREVIEWED for c in clusters)
    for cluster in clusters:
        final = _final(cluster, by_id)
        if final.status == ClusterStatus.ACCEPTED and final.category is not None:
            category = final.category
            if chosen and category.pk not in chosen:
                continue
            weight = chosen.get(category.pk)
            category_of[cluster.index] = category.name
            weights[category.name] = category.default_weight if weight is None else weight
        elif final.status in (ClusterStatus.UNREVIEWED, ClusterStatus.MERGED):
            if recipe["include_unreviewed"]:
                category_of[cluster.index] = UNREVIEWED
                weights[UNREVIEWED] = 1.0
    notes = []
    if chosen:
        names = dict(SemanticCategory.objects.filter(pk__in=chosen).values_list("pk", "name"))
        unused = sorted(names[pk] for pk in chosen if names.get(pk) not in weights)
        if unused:
            notes.append(
                f"No accepted cluster of this run is in {', '.join(unused)}: "
                "they contribute nothing."
            )
    return Resolved(
        groups=groups,
        category_of=category_of,
        category_weights=weights,
        unreviewed=unreviewed,
        notes=notes,
    )


def buildable(resolved: Resolved, recipe: dict) -> None:
    """What the build refuses before any work (400; unreviewed clusters: 409)."""
    if not resolved.groups:
        raise _bad("Choose at least one slide group.", code="no_groups")
    if sum(w for _, w in resolved.groups) <= 0:
        raise _bad(
            "The group weights sum to zero: give at least one group a weight.", code="zero_weights"
        )
    if not resolved.category_weights:
        raise _bad(
            "No cluster maps to a chosen category: accept clusters into the recipe's "
            "categories first.",
            code="no_categories",
        )
    if sum(resolved.category_weights.values()) <= 0:
        raise _bad(
            "The category weights sum to zero: give at least one category a weight.",
            code="zero_weights",
        )
    if resolved.unreviewed and not recipe["include_unreviewed"]:
        raise ServiceError(
            f"{resolved.unreviewed} cluster(s) of the run are unreviewed: review them, or set "
            "include_unreviewed to sample them as the category 'unreviewed'.",
            code="unreviewed",
            status_code=409,
        )
