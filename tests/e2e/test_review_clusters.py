"""End to end: a pathologist reviews every cluster of a finished cluster run with the keyboard
in the review gallery, writes a note, opens a tile in the viewer (zoomed to it) and turns on
the cluster-label overlay, in a real browser against the live server; every decision is then
on the cluster and in the audit log with the pathologist as its actor."""

import pytest

from tests.e2e.browser import ARTIFACTS, run_script, skip_reason
from tests.e2e.demo_run import tiled_demo_run
from tests.live_services import REPO, web_server
from webapp.audit.models import AuditEvent
from webapp.clusters.models import Cluster, SemanticCategory

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason())),
    pytest.mark.skipif(
        not (REPO / "frontend" / "e2e" / "review-clusters.mjs").exists(),
        reason="frontend/e2e/review-clusters.mjs is missing",
    ),
]

PASSWORD = "e2e-Secret-passw0rd"
NOTE = "dense stroma, jk: typed keys stay text"


def test_pathologist_reviews_every_cluster_with_the_keyboard(
    make_user, settings, tmp_path, slide_root_dir
):
    admin = make_user("admin", username="e2e-admin")
    pathologist = make_user("pathologist", username="e2e-pathologist", password=PASSWORD)
    run = tiled_demo_run(admin, slide_root_dir)
    categories = {c.shortcut: c for c in SemanticCategory.objects.all()}
    clusters = Cluster.objects.filter(run=run)
    assert clusters.count() == 5
    assert not clusters.exclude(status="unreviewed").exists()

    with web_server(settings.DATA_ROOT, tmp_path / "web.log") as url:
        summary = run_script(
            "review-clusters.mjs",
            url,
            tmp_path,
            E2E_USERNAME="e2e-pathologist",
            E2E_PASSWORD=PASSWORD,
            E2E_RUN=str(run.pk),
            E2E_NOTE=NOTE,
        )
    print(summary)  # shown with -s, or with the failure
    assert summary["ok"] and summary["clusters"] == 5
    assert summary["review_answers"] == [200] * 5
    assert summary["overlay_pixels"] > 0 and summary["legend"]
    assert summary["zoom"]["share"] > 0.15 and summary["zoom"]["on_screen"]

    # Every cluster carries the decision its key asked for, made by the pathologist.
    decided = {c.index: c for c in Cluster.objects.filter(run=run).select_related("category")}
    assert sorted(decided) == sorted(d["index"] for d in summary["decisions"])
    for d in summary["decisions"]:
        cluster = decided[d["index"]]
        assert cluster.status == d["status"], (d, cluster.status)
        assert cluster.reviewed_by == pathologist
        assert cluster.version == 2
        if d["status"] == "accepted":
            assert cluster.category == categories[d["key"]]
        else:
            assert cluster.reject_reason == d["reject_reason"] and cluster.category is None
    assert decided[summary["note_cluster"]].note == NOTE
    assert all(c.note == "" for i, c in decided.items() if i != summary["note_cluster"])

    # One audit event per decision, with the pathologist as actor and the decision as "after".
    events = AuditEvent.objects.filter(action="cluster.review", object_type="cluster")
    assert events.count() == 5
    by_cluster = {e.object_id: e for e in events}
    assert sorted(by_cluster) == sorted(str(c.pk) for c in decided.values())
    for cluster in decided.values():
        event = by_cluster[str(cluster.pk)]
        assert event.actor_id == pathologist.pk and event.actor_name == "e2e-pathologist"
        assert event.before["status"] == "unreviewed"
        assert event.after["status"] == cluster.status
        assert event.after["category"] == cluster.category_id
    for name in ("clusters-gallery.png", "clusters-viewer.png", "clusters-overlay.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000
