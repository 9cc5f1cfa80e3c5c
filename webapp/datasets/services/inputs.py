"""The state of a version's inputs: each cluster's decision and, per recipe group, a digest
of its member slides. Frozen on the version when it is built, so two versions can be told
apart by what they were built from (and a rebuild from the same state gives the same
manifest)."""

import hashlib

from webapp.clusters.models import Cluster, ClusterRun
from webapp.datasets.services.recipes import Resolved
from webapp.tagging.services.groups import group_slides


def group_members(resolved: Resolved) -> list[list[int]]:
    """Each recipe group's member slide ids (sorted), in recipe order."""
    return [
        list(group_slides(group).order_by("pk").values_list("pk", flat=True))
        for group, _ in resolved.groups
    ]


def slide_groups(resolved: Resolved, members: list[list[int]], slide_ids) -> dict[int, str]:
    """slide id → the name of the first recipe group (in recipe order) that has it; slides
    in none are left out."""
    wanted = set(slide_ids)
    out: dict[int, str] = {}
    for (group, _), ids in zip(resolved.groups, members, strict=True):
        for sid in ids:
            if sid in wanted and sid not in out:
                out[sid] = group.name
    return out


def digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, ids)).encode()).hexdigest()


def inputs_state(run: ClusterRun, resolved: Resolved, members: list[list[int]]) -> dict:
    by_id = dict(Cluster.objects.filter(run=run).values_list("pk", "index"))
    clusters = [
        {
            "index": c.index,
            "status": c.status,
            "category": c.category_id,
            "merged_into": by_id.get(c.merged_into_id),
            "version": c.version,
        }
        for c in Cluster.objects.filter(run=run).order_by("index")
    ]
    return {
        "cluster_run": run.pk,
        "clusters": clusters,
        "groups": [
            {
                "group": group.pk,
                "name": group.name,
                "weight": weight,
                "slide_count": len(ids),
                "digest": digest(ids),
            }
            for (group, weight), ids in zip(resolved.groups, members, strict=True)
        ],
        "category_weights": dict(sorted(resolved.category_weights.items())),
    }
