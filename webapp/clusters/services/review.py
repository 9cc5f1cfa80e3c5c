"""Review decisions on clusters: optimistic concurrency on `version`, each reviewer's own
vote, disagreements between reviewers, settling them, and merges.

A decision is one conditional UPDATE … WHERE version = <the version the reviewer saw>, so two
reviewers who saw the same version cannot both win: the second gets the current cluster back
(409 stale) and nothing of the first is lost. Decisions and merges hold a share lock on the
run row, so a lock (FOR UPDATE) waits for them and none slips in after it.
"""

import math
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.db.models import CharField, Count, F, Max, Q, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from webapp.audit.services import Change, audit_one, audit_record
from webapp.clusters.models import (
    Cluster,
    ClusterRun,
    ClusterStatus,
    ClusterVote,
    RejectReason,
    SemanticCategory,
)
from webapp.clusters.services.runs import run_share_lock
from webapp.core.errors import ServiceError

MAX_NOTE = 2000
DECIDABLE = (ClusterStatus.UNREVIEWED, ClusterStatus.ACCEPTED, ClusterStatus.REJECTED)
REASONS = tuple(r for r in RejectReason.values if r)


class StaleDecision(ServiceError):
    """The cluster changed since the reviewer loaded it; `current` is what it is now."""

    status_code = 409
    code = "stale"

    def __init__(self, current: Cluster):
        super().__init__(
            f"Cluster {current.index} was changed meanwhile (now version {current.version}"
            f"{f' by {current.reviewed_by.username}' if current.reviewed_by else ''}); "
            "look at the current decision and decide again."
        )
        self.current = current


@dataclass(frozen=True)
class Decision:
    status: str
    category: SemanticCategory | None = None
    reject_reason: str = ""
    weight: float | None = None
    note: str = ""

    def fields(self) -> dict:
        return {
            "status": self.status,
            "category": self.category,
            "reject_reason": self.reject_reason,
            "weight": self.weight,
            "note": self.note,
        }

    def snapshot(self) -> dict:
        return {
            "status": self.status,
            "category": getattr(self.category, "pk", None),
            "category_name": getattr(self.category, "name", None),
            "reject_reason": self.reject_reason,
            "weight": self.weight,
            "note": self.note,
        }


def decision_of(cluster: Cluster | ClusterVote) -> Decision:
    return Decision(
        status=cluster.status,
        category=cluster.category,
        reject_reason=cluster.reject_reason,
        weight=cluster.weight,
        note=cluster.note,
    )


def decision_check(
    *,
    status: str,
    category: SemanticCategory | None = None,
    reject_reason: str = "",
    weight: float | None = None,
    note: str = "",
) -> Decision:
    """A valid, normalised decision (the body replaces the whole decision), or a 400."""
    if status == ClusterStatus.MERGED:
        raise ServiceError("Use the run's merge action to merge clusters.", code="invalid")
    if status not in DECIDABLE:
        raise ServiceError(
            f"The status must be one of {', '.join(DECIDABLE)}, not {status!r}.", code="invalid"
        )
    note = note or ""
    if len(note) > MAX_NOTE:
        raise ServiceError(f"The note is longer than {MAX_NOTE} characters.", code="invalid")
    if weight is not None and not (math.isfinite(weight) and weight >= 0):
        raise ServiceError("The weight must be a number ≥ 0 (or null for the default).")
    if status == ClusterStatus.ACCEPTED:
        if category is None:
            raise ServiceError("Accepting a cluster needs a category.", code="invalid")
        return Decision(status, category, "", weight, note)
    if status == ClusterStatus.REJECTED:
        if reject_reason not in REASONS:
            raise ServiceError(
                f"Rejecting a cluster needs a reason: one of {', '.join(REASONS)}.",
                code="invalid",
            )
        return Decision(status, None, reject_reason, None, note)
    return Decision(status, None, "", None, note)


def snapshot(cluster: Cluster) -> dict:
    return {**decision_of(cluster).snapshot(), "version": cluster.version}


def _refuse_if_locked(run_id: int) -> None:
    if run_share_lock(run_id):
        raise ServiceError(
            "The run is locked for the final review; an admin must unlock it first.",
            code="locked",
            status_code=409,
        )


def _refuse_if_merged(cluster: Cluster) -> None:
    if cluster.status == ClusterStatus.MERGED:
        target = cluster.merged_into
        raise ServiceError(
            f"Cluster {cluster.index} is merged into cluster "
            f"{target.index if target else '?'} (id {cluster.merged_into_id}); review that one.",
            code="merged",
            status_code=409,
        )


def _current(cluster_id: int) -> Cluster:
    return Cluster.objects.select_related("category", "reviewed_by", "merged_into", "run").get(
        pk=cluster_id
    )


def cluster_decide(
    *, actor, cluster: Cluster, version: int, decision: Decision, settle: bool = False
) -> Cluster:
    """Record `decision` if the cluster is still at `version`: the cluster's decision, the
    reviewer's vote (not for a settlement, which is the admin's ruling, not an opinion) and
    one audit event. StaleDecision (409) when someone else decided first."""
    with transaction.atomic():
        _refuse_if_locked(cluster.run_id)
        before = _current(cluster.pk)
        _refuse_if_merged(before)
        if before.version != version:
            raise StaleDecision(before)
        now = timezone.now()
        extra = {"settled_by": actor, "settled_at": now} if settle else {}
        reviewed = decision.status != ClusterStatus.UNREVIEWED
        updated = (
            Cluster.objects.filter(pk=cluster.pk, version=version)
            .exclude(status=ClusterStatus.MERGED)
            .update(
                **decision.fields(),
                reviewed_by=actor if reviewed else None,
                reviewed_at=now if reviewed else None,
                version=F("version") + 1,
                **extra,
            )
        )
        if not updated:  # lost the race after reading: someone's UPDATE committed first
            current = _current(cluster.pk)
            _refuse_if_merged(current)
            raise StaleDecision(current)
        if not settle:
            ClusterVote.objects.bulk_create(
                [
                    ClusterVote(
                        cluster_id=cluster.pk, user=actor, updated_at=now, **decision.fields()
                    )
                ],
                update_conflicts=True,
                unique_fields=["cluster", "user"],
                update_fields=[
                    "status",
                    "category",
                    "reject_reason",
                    "weight",
                    "note",
                    "updated_at",
                ],
            )
        audit_one(
            actor=actor,
            action="cluster.settle" if settle else "cluster.review",
            object_type="cluster",
            object_id=cluster.pk,
            before=snapshot(before),
            after={**decision.snapshot(), "version": version + 1},
        )
    return _current(cluster.pk)


def clusters_merge(
    *, actor, run: ClusterRun, target_id: int, cluster_ids: list[int]
) -> list[Cluster]:
    """Merge `cluster_ids` into the target: they take status merged and follow its decision.
    Clusters merged into one of them before follow along to the target. Returns the target
    and the clusters merged now."""
    sources = list(dict.fromkeys(cluster_ids))
    if not sources:
        raise ServiceError("Name the clusters to merge.", code="invalid")
    if target_id in sources:
        raise ServiceError("A cluster cannot be merged into itself.", code="invalid")
    with transaction.atomic():
        _refuse_if_locked(run.pk)
        # Locked in id order (no deadlock between two merges), so versions stay consistent
        # with concurrent decisions, which wait for these rows.
        followers = Cluster.objects.filter(merged_into_id__in=sources).values_list("pk", flat=True)
        rows = {
            c.pk: c
            for c in Cluster.objects.select_for_update(of=("self",))
            .filter(Q(pk__in=[target_id, *sources]) | Q(pk__in=list(followers)))
            .select_related("category", "merged_into")
            .order_by("pk")
        }
        for pk in [target_id, *sources]:
            cluster = rows.get(pk)
            if cluster is None:
                raise ServiceError(f"There is no cluster {pk}.", code="invalid")
            if cluster.run_id != run.pk:
                raise ServiceError(
                    f"Cluster {pk} belongs to run {cluster.run_id}, not run {run.pk}; only "
                    "clusters of one run can be merged.",
                    code="invalid",
                )
        target = rows[target_id]
        if target.status == ClusterStatus.MERGED:
            raise ServiceError(
                f"Cluster {target.index} is itself merged into cluster "
                f"{target.merged_into.index if target.merged_into else '?'}; merge into that one.",
                code="invalid",
            )
        moving = [rows[pk] for pk in sources] + [
            c for c in rows.values() if c.merged_into_id in sources and c.pk not in sources
        ]
        now = timezone.now()
        changes = []
        for cluster in moving:
            before = snapshot(cluster)
            Cluster.objects.filter(pk=cluster.pk).update(
                status=ClusterStatus.MERGED,
                merged_into=target,
                category=None,
                reject_reason="",
                weight=None,
                reviewed_by=actor,
                reviewed_at=now,
                version=F("version") + 1,
            )
            changes.append(
                Change(
                    "cluster.merge",
                    "cluster",
                    cluster.pk,
                    before=before,
                    after={
                        "status": ClusterStatus.MERGED,
                        "merged_into": target.pk,
                        "version": cluster.version + 1,
                    },
                )
            )
        audit_record(actor=actor, changes=changes)
    return [_current(target_id), *(_current(pk) for pk in sources)]


def cluster_unmerge(*, actor, cluster: Cluster) -> Cluster:
    """Take a merged cluster back out: unreviewed again, on its own."""
    with transaction.atomic():
        _refuse_if_locked(cluster.run_id)
        cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
        if cluster.status != ClusterStatus.MERGED:
            raise ServiceError(f"Cluster {cluster.index} is not merged.", code="invalid")
        before = snapshot(cluster)
        Cluster.objects.filter(pk=cluster.pk).update(
            status=ClusterStatus.UNREVIEWED,
            merged_into=None,
            reviewed_by=None,
            reviewed_at=None,
            version=F("version") + 1,
        )
        audit_one(
            actor=actor,
            action="cluster.unmerge",
            object_type="cluster",
            object_id=cluster.pk,
            before={**before, "merged_into": cluster.merged_into_id},
            after={"status": ClusterStatus.UNREVIEWED, "version": cluster.version + 1},
        )
    return _current(cluster.pk)


# --- reading ------------------------------------------------------------------------------------


def _opinion() -> Concat:
    """What two votes must share to agree: status, category and reject reason."""
    return Concat(
        "status",
        Value("|"),
        Coalesce(Cast("category_id", CharField()), Value("")),
        Value("|"),
        "reject_reason",
        output_field=CharField(),
    )


def disagreeing_cluster_ids(run_ids: list[int]) -> dict[int, list[int]]:
    """{run id: [cluster ids]} of clusters whose reviewers' latest votes differ, unless an
    admin settled the cluster after the last of those votes. One query."""
    rows = (
        ClusterVote.objects.filter(cluster__run_id__in=run_ids)
        .exclude(cluster__status=ClusterStatus.MERGED)
        .values("cluster_id", "cluster__run_id", "cluster__settled_at")
        .annotate(opinions=Count(_opinion(), distinct=True), last=Max("updated_at"))
        .filter(opinions__gte=2)
    )
    found: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        settled = row["cluster__settled_at"]
        if settled is None or settled < row["last"]:
            found[row["cluster__run_id"]].append(row["cluster_id"])
    return found


def review_counts(run_ids: list[int]) -> dict[int, dict]:
    """The review progress of each run: total, reviewed, accepted, rejected, merged,
    disagreements. Two queries whatever the number of runs."""
    counts = {
        row["run_id"]: row
        for row in Cluster.objects.filter(run_id__in=run_ids)
        .values("run_id")
        .annotate(
            total=Count("id"),
            accepted=Count("id", filter=Q(status=ClusterStatus.ACCEPTED)),
            rejected=Count("id", filter=Q(status=ClusterStatus.REJECTED)),
            merged=Count("id", filter=Q(status=ClusterStatus.MERGED)),
        )
    }
    disagreements = disagreeing_cluster_ids(run_ids)
    out = {}
    for run_id in run_ids:
        row = counts.get(run_id, {"total": 0, "accepted": 0, "rejected": 0, "merged": 0})
        out[run_id] = {
            "total": row["total"],
            "reviewed": row["accepted"] + row["rejected"] + row["merged"],
            "accepted": row["accepted"],
            "rejected": row["rejected"],
            "merged": row["merged"],
            "disagreements": len(disagreements.get(run_id, [])),
        }
    return out


def cluster_votes(cluster: Cluster) -> list[ClusterVote]:
    return list(
        ClusterVote.objects.filter(cluster=cluster)
        .select_related("user", "category")
        .order_by("user__username")
    )


def run_disagreements(run: ClusterRun) -> list[tuple[Cluster, list[ClusterVote]]]:
    ids = disagreeing_cluster_ids([run.pk]).get(run.pk, [])
    clusters = (
        Cluster.objects.filter(pk__in=ids)
        .select_related("category", "reviewed_by", "run")
        .order_by("index")
    )
    votes: dict[int, list[ClusterVote]] = defaultdict(list)
    for vote in (
        ClusterVote.objects.filter(cluster_id__in=ids)
        .select_related("user", "category")
        .order_by("user__username")
    ):
        votes[vote.cluster_id].append(vote)
    return [(cluster, votes[cluster.pk]) for cluster in clusters]
