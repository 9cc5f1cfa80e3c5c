"""Review: decisions with optimistic concurrency (409 stale keeps the first), validation,
locks, merges, votes, disagreements and settlement, each audited exactly once."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from webapp.audit.models import AuditEvent
from webapp.clusters.models import Cluster, ClusterVote


def clusters(run) -> list[Cluster]:
    return list(Cluster.objects.filter(run=run).order_by("index"))


def url(cluster, action="review") -> str:
    return f"/api/clusters/{cluster.pk}/{action}/"


@pytest.mark.django_db
def test_decisions_are_validated(api_as, review_run, categories):
    client = api_as("pathologist")
    c = clusters(review_run)[0]
    tumour = categories["Tumour"].pk
    for body, message in [
        ({"status": "accepted", "category": tumour}, "version"),
        ({"version": 1, "status": "accepted"}, "category"),
        ({"version": 1, "status": "rejected"}, "reason"),
        ({"version": 1, "status": "rejected", "reject_reason": "dust"}, "reject_reason"),
        ({"version": 1, "status": "merged"}, "status"),
        ({"version": 1, "status": "accepted", "category": tumour, "weight": -1}, "weight"),
        ({"version": 1, "status": "accepted", "category": 999999}, "category"),
        ({"version": 1, "status": "accepted", "category": tumour, "note": "x" * 2001}, "note"),
    ]:
        bad = client.post(url(c), body, format="json")
        assert bad.status_code == 400 and message in bad.json()["detail"], (body, bad.json())
    assert not AuditEvent.objects.filter(object_type="cluster").exists()

    ok = client.post(
        url(c),
        {"version": 1, "status": "accepted", "category": tumour, "weight": 1.5, "note": "nests"},
        format="json",
    )
    assert ok.status_code == 200, ok.json()
    data = ok.json()
    assert data["status"] == "accepted" and data["category_name"] == "Tumour"
    assert data["category_colour"] == "#d62728" and data["weight"] == 1.5
    assert data["version"] == 2 and data["reviewed_by"] == "pathologist-user"
    assert data["montage_url"] == f"/api/clusters/{c.pk}/montage.jpg?kind=representative"

    rejected = client.post(
        url(c),
        {"version": 2, "status": "rejected", "reject_reason": "pen", "category": tumour},
        format="json",
    ).json()
    assert rejected["status"] == "rejected" and rejected["category"] is None
    assert rejected["reject_reason"] == "pen" and rejected["weight"] is None

    events = AuditEvent.objects.filter(action="cluster.review", object_id=str(c.pk))
    assert events.count() == 2
    last = events.order_by("-id").first()
    assert last.before["status"] == "accepted" and last.after["reject_reason"] == "pen"
    vote = ClusterVote.objects.get(cluster=c)
    assert vote.status == "rejected" and vote.user.username == "pathologist-user"
    assert api_as("viewer").post(url(c), {"version": 3, "status": "unreviewed"}).status_code == 403


@pytest.mark.django_db
def test_a_stale_decision_loses_nothing(api_as, make_user, review_run, categories):
    first = api_as("pathologist")
    second = APIClient()
    second.force_login(make_user("pathologist", username="second-pathologist"))
    c = clusters(review_run)[1]
    won = first.post(
        url(c), {"version": 1, "status": "accepted", "category": categories["Stroma"].pk}
    )
    assert won.status_code == 200
    lost = second.post(url(c), {"version": 1, "status": "rejected", "reject_reason": "background"})
    assert lost.status_code == 409
    body = lost.json()
    assert body["code"] == "stale" and "changed meanwhile" in body["detail"]
    assert body["current"]["status"] == "accepted" and body["current"]["version"] == 2
    assert body["current"]["category_name"] == "Stroma"
    c.refresh_from_db()
    assert c.status == "accepted" and c.category == categories["Stroma"] and c.version == 2
    assert AuditEvent.objects.filter(action="cluster.review").count() == 1
    assert ClusterVote.objects.filter(cluster=c).count() == 1  # the loser's vote is not kept


@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_on_one_version(make_user, review_run, categories):
    """N reviewers post at once with the same version: exactly one wins."""
    c = clusters(review_run)[2]
    users = [make_user("pathologist", username=f"p{i}") for i in range(6)]
    barrier = threading.Barrier(len(users))
    statuses = []

    def decide(user, i):
        client = APIClient()
        client.force_login(user)
        barrier.wait()
        body = {"version": 1, "status": "accepted", "category": categories["Fat"].pk}
        response = client.post(url(c), {**body, "note": f"from {i}"}, format="json")
        statuses.append(response.status_code)
        connection.close()

    threads = [threading.Thread(target=decide, args=(u, i)) for i, u in enumerate(users)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200] + [409] * (len(users) - 1)
    c.refresh_from_db()
    assert c.version == 2
    assert AuditEvent.objects.filter(action="cluster.review").count() == 1
    assert ClusterVote.objects.filter(cluster=c).count() == 1


@pytest.mark.django_db
def test_a_locked_run_refuses_decisions_and_merges(api_as, review_run, categories):
    admin, pathologist = api_as("admin"), api_as("pathologist")
    a, b, *_ = clusters(review_run)
    assert pathologist.post(f"/api/cluster-runs/{review_run.pk}/lock/").status_code == 403
    locked = admin.post(f"/api/cluster-runs/{review_run.pk}/lock/").json()
    assert locked["locked"] and locked["locked_by"] == "admin-user" and locked["locked_at"]
    body = {"version": 1, "status": "accepted", "category": categories["Mucus"].pk}
    refused = pathologist.post(url(a), body)
    assert refused.status_code == 409 and refused.json()["code"] == "locked"
    merge = pathologist.post(
        f"/api/cluster-runs/{review_run.pk}/merge/", {"target": a.pk, "clusters": [b.pk]}
    )
    assert merge.status_code == 409 and merge.json()["code"] == "locked"
    assert admin.post(url(a, "settle"), body).status_code == 409
    assert not admin.post(f"/api/cluster-runs/{review_run.pk}/unlock/").json()["locked"]
    assert pathologist.post(url(a), body).status_code == 200
    actions = list(AuditEvent.objects.order_by("id").values_list("action", flat=True))
    assert actions == ["cluster_run.lock", "cluster_run.unlock", "cluster.review"]


@pytest.mark.django_db
def test_merge(api_as, review_run, categories, admin):
    from webapp.clusters.models import ClusterRun

    pathologist = api_as("pathologist")
    a, b, c, d = clusters(review_run)
    pathologist.post(
        url(a), {"version": 1, "status": "accepted", "category": categories["Blood"].pk}
    )
    merge_url = f"/api/cluster-runs/{review_run.pk}/merge/"
    merged = pathologist.post(merge_url, {"target": a.pk, "clusters": [b.pk, c.pk]}, format="json")
    assert merged.status_code == 200, merged.json()
    target, *rest = merged.json()
    assert target["id"] == a.pk and target["status"] == "accepted"
    assert [(r["status"], r["merged_into"], r["version"]) for r in rest] == [
        ("merged", a.pk, 2),
        ("merged", a.pk, 2),
    ]
    assert AuditEvent.objects.filter(action="cluster.merge").count() == 2

    direct = pathologist.post(url(b), {"version": 2, "status": "unreviewed"})
    assert direct.status_code == 409 and direct.json()["code"] == "merged"
    assert f"merged into cluster {a.index}" in direct.json()["detail"]
    into_merged = pathologist.post(merge_url, {"target": b.pk, "clusters": [d.pk]}, format="json")
    assert into_merged.status_code == 400 and "itself merged" in into_merged.json()["detail"]
    itself = pathologist.post(merge_url, {"target": d.pk, "clusters": [d.pk]}, format="json")
    assert itself.status_code == 400
    other = ClusterRun.objects.create(
        name="other", config=review_run.config, feature_kind="colour", params={}
    )
    foreign = Cluster.objects.create(run=other, index=0)
    across = pathologist.post(merge_url, {"target": d.pk, "clusters": [foreign.pk]}, format="json")
    assert across.status_code == 400 and "only clusters of one run" in across.json()["detail"]
    assert api_as("viewer").post(merge_url, {"target": d.pk, "clusters": [a.pk]}).status_code == 403

    # Merging the target on moves its followers along; unmerge takes one back out.
    pathologist.post(merge_url, {"target": d.pk, "clusters": [a.pk]}, format="json")
    assert set(Cluster.objects.filter(merged_into=d).values_list("pk", flat=True)) == {
        a.pk,
        b.pk,
        c.pk,
    }
    back = pathologist.post(url(b, "unmerge"))
    assert back.status_code == 200 and back.json()["status"] == "unreviewed"
    assert back.json()["merged_into"] is None
    counts = api_as("viewer").get(f"/api/cluster-runs/{review_run.pk}/").json()["review"]
    assert counts == {
        "total": 4, "reviewed": 2, "accepted": 0, "rejected": 0, "merged": 2, "disagreements": 0
    }  # fmt: skip


@pytest.mark.django_db
def test_votes_disagreements_and_settlement(api_as, review_run, categories):
    admin, pathologist = api_as("admin"), api_as("pathologist")
    c = clusters(review_run)[3]
    pathologist.post(
        url(c), {"version": 1, "status": "accepted", "category": categories["Tumour"].pk}
    )
    admin.post(url(c), {"version": 2, "status": "rejected", "reject_reason": "artefact"})
    votes = api_as("viewer").get(url(c, "votes")).json()
    assert [(v["user"], v["status"]) for v in votes] == [
        ("admin-user", "rejected"),
        ("pathologist-user", "accepted"),
    ]
    assert votes[1]["category_name"] == "Tumour" and votes[1]["updated_at"]
    found = api_as("viewer").get(f"/api/cluster-runs/{review_run.pk}/disagreements/").json()
    assert [d["cluster"]["id"] for d in found] == [c.pk] and len(found[0]["votes"]) == 2
    run = api_as("viewer").get(f"/api/cluster-runs/{review_run.pk}/").json()
    assert run["review"]["disagreements"] == 1 and run["review"]["rejected"] == 1

    body = {"version": 3, "status": "accepted", "category": categories["Necrosis"].pk}
    assert pathologist.post(url(c, "settle"), body).status_code == 403
    stale = admin.post(url(c, "settle"), {**body, "version": 2})
    assert stale.status_code == 409 and stale.json()["code"] == "stale"
    settled = admin.post(url(c, "settle"), body)
    assert settled.status_code == 200 and settled.json()["category_name"] == "Necrosis"
    assert settled.json()["settled_by"] == "admin-user"
    assert api_as("viewer").get(f"/api/cluster-runs/{review_run.pk}/disagreements/").json() == []
    assert AuditEvent.objects.filter(action="cluster.settle").count() == 1
    assert AuditEvent.objects.filter(action="cluster.review").count() == 2
    # A vote after the settlement that still disagrees reopens it.
    pathologist.post(url(c), {"version": 4, "status": "rejected", "reject_reason": "other"})
    assert len(api_as("viewer").get(f"/api/cluster-runs/{review_run.pk}/disagreements/").json())
