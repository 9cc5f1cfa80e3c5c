"""The summarising phase: one Cluster row per cluster from the run's files, with its
composition (top slides, groups, labs, scanners, stains) computed in bulk.

Queries grow with the number of slide groups (one membership query each), never with the
number of slides; the per-cluster sums are numpy over the sparse (slide, cluster, count)
composition.
"""

import math
from pathlib import Path

import numpy as np
from django.db import transaction

from curation import cluster_assign, cluster_map
from webapp.clusters.models import Cluster, ClusterRun
from webapp.core.errors import ServiceError
from webapp.slides.models import Slide
from webapp.tagging.models import SlideGroup, SlideTag, Term
from webapp.tagging.services.groups import group_condition
from webapp.tagging.services.vocabulary import TermIndex

TOP = 20
TAG_DIMENSIONS = ("lab", "scanner", "stain")
DIMENSIONS = ("slide", "group", *TAG_DIMENSIONS)
SUMMARY_FIELDS = [
    "size",
    "share",
    "slide_count",
    "quality",
    "map_x",
    "map_y",
    "composition",
    "exemplars",
]


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _expand(
    slides: np.ndarray, member_slide: np.ndarray, member_bucket: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For composition rows of `slides`, each row once per bucket its slide belongs to:
    (row positions, buckets). Memberships are (slide, bucket) pairs."""
    order = np.argsort(member_slide, kind="stable")
    ms, mb = member_slide[order], member_bucket[order]
    lo = np.searchsorted(ms, slides, "left")
    n = np.searchsorted(ms, slides, "right") - lo
    rows = np.repeat(np.arange(len(slides)), n)
    offsets = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
    return rows, mb[np.repeat(lo, n) + offsets]


def _top(buckets: np.ndarray, clusters: np.ndarray, counts: np.ndarray, k: int) -> list[list]:
    """Per cluster, the TOP buckets by summed count: [[(bucket, count), …] for each cluster]."""
    out: list[list] = [[] for _ in range(k)]
    if not len(buckets):
        return out
    keys, inverse = np.unique(buckets.astype(np.int64) * k + clusters, return_inverse=True)
    sums = np.bincount(inverse, weights=counts).astype(np.int64)
    bucket, cluster = keys // k, keys % k
    order = np.lexsort((bucket, -sums, cluster))  # per cluster, largest first, ties by id
    grouped = cluster[order]
    rank = np.arange(len(order)) - np.searchsorted(grouped, grouped, "left")
    for i in order[rank < TOP]:
        out[int(cluster[i])].append((int(bucket[i]), int(sums[i])))
    return out


def composition(table, sizes: np.ndarray) -> list[dict]:
    """Per cluster {dimension: [{"key", "label", "count", "share"}]} (share of the cluster)."""
    k = len(sizes)
    slides = table.column("slide_id").to_numpy().astype(np.int64)
    clusters = table.column("cluster").to_numpy().astype(np.int64)
    counts = table.column("count").to_numpy().astype(np.int64)
    tops: dict[str, list[list]] = {"slide": _top(slides, clusters, counts, k)}
    labels: dict[str, dict[int, str]] = {}

    groups = list(SlideGroup.objects.all())
    index = TermIndex()
    pairs = []
    for g, group in enumerate(groups):
        try:
            condition = group_condition(group, index)
        except ServiceError:  # a rule broken by a vocabulary edit: the group is left out
            continue
        pairs += [(sid, g) for sid in Slide.objects.filter(condition).values_list("pk", flat=True)]
    member = np.array(pairs, dtype=np.int64).reshape(-1, 2)
    rows, buckets = _expand(slides, member[:, 0], member[:, 1])
    tops["group"] = _top(buckets, clusters[rows], counts[rows], k)
    labels["group"] = {g: group.name for g, group in enumerate(groups)}
    keys = {"group": {g: group.pk for g, group in enumerate(groups)}}

    tags = SlideTag.objects.filter(term__category__key__in=TAG_DIMENSIONS).values_list(
        "slide_id", "term_id", "term__category__key"
    )
    by_dimension: dict[str, list[tuple[int, int]]] = {d: [] for d in TAG_DIMENSIONS}
    for slide_id, term_id, key in tags:
        by_dimension[key].append((slide_id, term_id))
    terms = dict(Term.objects.filter(category__key__in=TAG_DIMENSIONS).values_list("pk", "name"))
    for dimension, pairs in by_dimension.items():
        member = np.array(pairs, dtype=np.int64).reshape(-1, 2)
        rows, buckets = _expand(slides, member[:, 0], member[:, 1])
        tops[dimension] = _top(buckets, clusters[rows], counts[rows], k)
        labels[dimension] = terms

    shown = {b for per_cluster in tops["slide"] for b, _ in per_cluster}
    labels["slide"] = dict(Slide.objects.filter(pk__in=shown).values_list("pk", "name"))
    out = []
    for c in range(k):
        size = max(int(sizes[c]), 1)
        out.append(
            {
                dimension: [
                    {
                        "key": str(keys.get(dimension, {}).get(b, b)),
                        "label": labels[dimension].get(b, str(b)),
                        "count": n,
                        "share": n / size,
                    }
                    for b, n in tops[dimension][c]
                ]
                for dimension in DIMENSIONS
            }
        )
    return out


def exemplars(table, k: int) -> list[dict]:
    """Per cluster {kind: [tile, …]} in rank order; tiles as stored (slide id, row, x, y…)."""
    out: list[dict] = [{kind: [] for kind in cluster_assign.EXEMPLAR_KINDS} for _ in range(k)]
    rows = sorted(table.to_pylist(), key=lambda r: (r["cluster"], r["kind"], r["rank"]))
    for r in rows:
        out[r["cluster"]][r["kind"]].append(
            {
                "slide": r["slide_id"],
                "slide_index": r["slide_index"],
                "row": r["row"],
                "x": r["x"],
                "y": r["y"],
                "size": _finite(r["size"]),
                "distance": _finite(r["distance"]),
            }
        )
    return out


def clusters_upsert(run: ClusterRun, folder: Path) -> int:
    """Create or refresh the run's Cluster rows from its files; decisions are kept."""
    table = cluster_assign.read_clusters(folder)
    k = table.num_rows
    columns = table.to_pydict()
    sizes = np.asarray(columns["size"], dtype=np.int64)
    quality = {
        name[len("mean_") :]: values for name, values in columns.items() if name.startswith("mean_")
    }
    compositions = composition(cluster_assign.read_composition(folder), sizes)
    examples = exemplars(cluster_assign.read_exemplars(folder), k)
    centroids = cluster_map.read_map(folder)["centroids"]
    rows = [
        Cluster(
            run=run,
            index=int(columns["cluster"][i]),
            size=int(sizes[i]),
            share=float(columns["share"][i]),
            slide_count=int(columns["slide_count"][i]),
            quality={name: _finite(values[i]) for name, values in quality.items()},
            map_x=_finite(centroids[i][0]) if i < len(centroids) else None,
            map_y=_finite(centroids[i][1]) if i < len(centroids) else None,
            composition=compositions[i],
            exemplars=examples[i],
        )
        for i in range(k)
    ]
    with transaction.atomic():
        Cluster.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["run", "index"],
            update_fields=SUMMARY_FIELDS,
        )
    return k
