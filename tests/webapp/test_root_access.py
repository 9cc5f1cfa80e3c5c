"""Restricted slide roots: a slide of a root a user may not see is absent from every list
and count, its direct URLs answer 404, and files that contain it answer 403.

The world: the datasets tests' module world (demo slides in the root "ds-archive", tiled, a
finished colour cluster run, two explicit groups), with "ds-archive" restricted in each test
(the test's transaction) and one pathologist granted access; an open root ("one", one slide)
that everyone sees. Table-driven over every endpoint that shows slides or tiles, for: an
admin, the granted pathologist, a pathologist without access, a viewer without access, a
read-scope token of the pathologist without access, and anonymous.
"""

import json

import pytest
from rest_framework.test import APIClient

from tests.webapp.datasets.conftest import built, curator, ds, world  # noqa: F401

pytestmark = pytest.mark.django_db

SEES = {"admin": True, "granted": True, "denied": False, "viewer": False, "token": False}
WHO = [*SEES, "anonymous"]


@pytest.fixture
def setting(ds, make_user, aperio_slide):  # noqa: F811
    """The restricted root, its ids, and a client per person."""
    from webapp.accounts.services import api_token_create
    from webapp.slides.models import SlideRoot
    from webapp.tiling.models import SlideTiling, TilingRun

    root = SlideRoot.objects.get(name="ds-archive")
    users = {
        "admin": make_user("admin", username="root-admin"),
        "granted": make_user("pathologist", username="granted"),
        "denied": make_user("pathologist", username="denied"),
        "viewer": make_user("viewer", username="root-viewer"),
    }
    root.restricted = True
    root.save(update_fields=["restricted"])
    root.allowed_users.add(users["granted"])
    clients = {}
    for name, user in users.items():
        clients[name] = APIClient()
        clients[name].force_login(user)
    _, key = api_token_create(user=users["denied"], name="read", scope="read")
    clients["token"] = APIClient()
    clients["token"].credentials(HTTP_AUTHORIZATION=f"Token {key}")
    clients["anonymous"] = APIClient()
    tiling = (
        SlideTiling.objects.filter(slide__root=root, status="done", tile_count__gt=0)
        .filter(slide__associated_images__contains=["label"])  # an Aperio-style slide
        .order_by("slide_id")
        .first()
    )
    return {
        "root": root,
        "users": users,
        "clients": clients,
        "slide": tiling.slide_id,
        "open_slide": aperio_slide.pk,
        "tiling": tiling.pk,
        "tiling_run": TilingRun.objects.filter(config__name="ds-quick").get().pk,
        "run": ds.run_id,
        "group": ds.group_b,
    }


def _ids(body, key="id") -> set:
    """Every value of `key` anywhere in a JSON body."""
    found = set()

    def walk(value):
        if isinstance(value, dict):
            for k, v in value.items():
                if k == key and str(v).isdigit():  # composition keys are strings
                    found.add(int(v))
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(body)
    return found


def _cluster(run_id: int, slide_id: int, key: str) -> int:
    """A cluster with a representative tile of the slide (`key` "slide") or the slide among
    its top slides (`key` "key")."""
    from webapp.clusters.models import Cluster

    for cluster in Cluster.objects.filter(run_id=run_id).order_by("index"):
        if key == "slide":
            shown = _ids(cluster.exemplars.get("representative", []), "slide")
        else:
            shown = _ids(cluster.composition.get("slide", []), "key")
        if slide_id in shown:
            return cluster.pk
    raise AssertionError("no cluster shows the slide")


# Direct object URLs of the slide (or its tiling): 200 for those who see it, else 404.
DIRECT = [
    "/api/slides/{slide}/",
    "/api/slides/{slide}/thumbnail/",
    "/api/slides/{slide}/associated/label/",
    "/api/slides/{slide}/dzi.json",
    "/api/slides/{slide}/dzi.dzi",
    "/api/slides/{slide}/dzi_files/0/0_0.jpeg",
    "/api/slides/{slide}/tags/",
    "/api/slides/{slide}/suggestions/",
    "/api/slides/{slide}/tilings/",
    "/api/slide-tilings/{tiling}/mask.png",
    "/api/slide-tilings/{tiling}/grid/",
    "/api/slide-tilings/{tiling}/tiles/0.jpg",
    "/api/cluster-runs/{run}/slides/{slide}/labels/",
    "/api/cluster-runs/{run}/similar/?slide={slide}&index=0&k=5",
]

# Lists: 200 for everyone; the slide is in them for those who see it ((path, key, how)).
LISTS = [
    ("/api/slides/?page_size=200", "id"),
    ("/api/slides/?search=demo&page_size=200", "id"),
    ("/api/slides/?group={group}&page_size=200", "id"),
    ("/api/tiling-runs/{tiling_run}/slides/?page_size=200", "slide"),
    ("/api/tiling-runs/{tiling_run}/gallery/?n=100", "slide"),
    ("/api/clusters/{cluster}/", "slide"),  # exemplars
    ("/api/clusters/{cluster}/", "key"),  # composition: top slides
]


def _path(template: str, s: dict, key: str = "slide") -> str:
    ids = {k: (v.pk if hasattr(v, "pk") else v) for k, v in s.items() if k not in ("clients",)}
    if "{cluster}" in template:
        ids["cluster"] = _cluster(s["run"], s["slide"], key)
    return template.format(**ids)


@pytest.mark.parametrize("template", DIRECT)
def test_direct_urls_answer_404_to_those_who_may_not_see_the_slide(setting, template):
    path = _path(template, setting)
    for who in WHO:
        status = setting["clients"][who].get(path).status_code
        if who == "anonymous":
            assert status == 401, (who, path)
        elif SEES[who]:
            assert status == 200, (who, path, status)
        else:
            assert status == 404, (who, path, status)


@pytest.mark.parametrize(("template", "key"), LISTS)
def test_lists_leave_the_slide_out_for_those_who_may_not_see_it(setting, template, key):
    path = _path(template, setting, key)
    for who in SEES:
        response = setting["clients"][who].get(path)
        assert response.status_code == 200, (who, path, response.content[:200])
        shown = setting["slide"] in _ids(response.json(), key)
        assert shown == SEES[who], (who, path)


def test_lists_still_show_open_slides_and_counts_follow(setting, ds):  # noqa: F811
    from webapp.slides.models import Slide
    from webapp.tagging.services.groups import rule_condition

    hidden = len(ds.slide_ids)
    rule = "stain IS NOT SET"
    matching = Slide.objects.filter(root=setting["root"]).filter(rule_condition(rule)).count()
    counts = {}
    for who in SEES:
        client = setting["clients"][who]
        ids = _ids(client.get("/api/slides/?page_size=200").json()["results"])
        assert setting["open_slide"] in ids
        facets = client.get("/api/slides/facets/").json()
        groups = {g["id"]: g["slide_count"] for g in client.get("/api/groups/").json()["results"]}
        summary = client.get("/api/groups/summary/").json()
        # (A POST: a read-scope token may not; its user's session sees the same.)
        preview = setting["clients"]["denied" if who == "token" else who].post(
            "/api/groups/preview/", {"rule": rule}, format="json"
        )
        counts[who] = (
            sum(v["count"] for v in facets["status"]),
            groups[ds.group_b],
            summary["slides"],
            preview.json()["slide_count"],
        )
    assert counts["admin"] == counts["granted"]
    total, in_group, summary_total, rule_count = counts["admin"]
    for who in ("denied", "viewer", "token"):
        assert counts[who] == (total - hidden, 0, summary_total - hidden, rule_count - matching)


def test_filtering_by_a_hidden_root_is_refused_like_an_unknown_root(setting):
    path = f"/api/slides/?root={setting['root'].pk}"
    for who, sees in SEES.items():
        response = setting["clients"][who].get(path)
        assert response.status_code == (200 if sees else 400), who
    unknown = setting["clients"]["denied"].get("/api/slides/?root=999999")
    assert unknown.status_code == 400
    hidden = setting["clients"]["denied"].get(path)
    assert hidden.json() == unknown.json()  # the same words: nothing tells them apart


def test_cluster_runs_leave_out_the_hidden_slides_failures(setting):
    from webapp.clusters.models import ClusterRun

    ClusterRun.objects.filter(pk=setting["run"]).update(
        failed_slides=[[setting["slide"], "unreadable"], [setting["open_slide"], "unreadable"]]
    )
    for who, sees in SEES.items():
        client = setting["clients"][who]
        detail = client.get(f"/api/cluster-runs/{setting['run']}/").json()
        listed = client.get("/api/cluster-runs/").json()["results"]
        for run in (detail, next(r for r in listed if r["id"] == setting["run"])):
            failed = {row["slide"] for row in run["failed_slides"]}
            assert failed == (
                {setting["slide"], setting["open_slide"]} if sees else {setting["open_slide"]}
            ), who


def test_scans_of_a_hidden_root_are_not_listed(setting):
    from webapp.slides.models import ScanJob

    ScanJob.objects.create(root=setting["root"], status="succeeded")
    path = f"/api/scans/?root={setting['root'].pk}"
    for who, sees in SEES.items():
        response = setting["clients"][who].get(path)
        assert response.status_code == (200 if sees else 400), who
        roots = {
            scan["root"] for scan in setting["clients"][who].get("/api/scans/").json()["results"]
        }
        assert (setting["root"].pk in roots) == sees, who


def test_csv_export_leaves_the_slide_out(setting):
    for who, sees in SEES.items():
        response = setting["clients"][who].get("/api/slides/export.csv")
        assert response.status_code == 200
        text = b"".join(response.streaming_content).decode()
        ids = {int(line.split(",")[0]) for line in text.splitlines()[1:]}
        assert (setting["slide"] in ids) == sees, who
        assert setting["open_slide"] in ids


def test_the_montage_leaves_hidden_tiles_out(setting):
    path = _path("/api/clusters/{cluster}/montage.jpg", setting)
    images = {who: setting["clients"][who].get(path) for who in SEES}
    assert all(r.status_code == 200 for r in images.values())
    assert images["admin"].content == images["granted"].content
    assert images["denied"].content != images["admin"].content


def test_slide_roots_list_hides_the_root_and_only_admins_see_allowed_users(setting):
    root = setting["root"].pk
    for who, sees in SEES.items():
        rows = setting["clients"][who].get("/api/slide-roots/?page_size=200").json()["results"]
        by_id = {r["id"]: r for r in rows}
        assert (root in by_id) == sees, who
        detail = setting["clients"][who].get(f"/api/slide-roots/{root}/")
        assert detail.status_code == (200 if sees else 404), who
        if sees:
            expected = [setting["users"]["granted"].pk] if who == "admin" else []
            assert by_id[root]["restricted"] is True
            assert by_id[root]["allowed_users"] == expected


def test_writes_on_hidden_slides_are_refused_like_unknown_ids(setting, ds):  # noqa: F811
    from webapp.tagging.models import Term

    term = Term.objects.get(name="H&E").pk
    slide = setting["slide"]
    for who in ("denied", "granted"):
        client = setting["clients"][who]
        tag = client.post(f"/api/slides/{slide}/tags/", {"term": term}, format="json")
        bulk = client.post("/api/tags/bulk/", {"slides": [slide], "add": [term]}, format="json")
        review = client.post(
            "/api/slides/review/", {"slides": [slide], "status": "reviewed"}, format="json"
        )
        members = client.post(
            f"/api/groups/{ds.group_a}/members/", {"remove": [slide]}, format="json"
        )
        got = (tag.status_code, bulk.status_code, review.status_code, members.status_code)
        if who == "denied":
            assert got == (404, 400, 400, 400), [r.content[:200] for r in (tag, bulk, members)]
            assert bulk.json()["code"] == "unknown_slide"
        else:
            assert got == (201, 200, 200, 200)


def test_csv_import_does_not_find_hidden_slides(setting):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("t.csv", f"slide_id,stain\n{setting['slide']},H&E\n".encode())
    response = setting["clients"]["denied"].post("/api/slides/import/", {"file": upload})
    assert response.status_code == 400
    assert "No slide with id" in json.dumps(response.json())


def test_the_audit_trail_leaves_out_changes_to_hidden_slides(setting):
    from webapp.tagging.models import Term

    term = Term.objects.get(name="H&E").pk
    admin = setting["clients"]["admin"]
    assert (
        admin.post(
            f"/api/slides/{setting['slide']}/tags/", {"term": term}, format="json"
        ).status_code
        == 201
    )
    path = f"/api/audit/?slide={setting['slide']}"
    for who, sees in SEES.items():
        count = setting["clients"][who].get(path).json()["count"]
        assert (count > 0) == sees, who


def test_dataset_files_are_refused_with_403_without_access_to_every_root(setting, built, curator):  # noqa: F811
    from webapp.datasets.services import exports

    version = built(budget=40)
    job = exports.export_start(actor=curator, version=version, shard_size=20)
    assert exports.export_run(job.pk).status == "succeeded"
    paths = [
        f"/api/datasets/{version.pk}/manifest.csv",
        f"/api/datasets/{version.pk}/manifest.parquet",
        f"/api/exports/{job.pk}/shards/shard-000000.tar",
    ]
    for who, sees in SEES.items():
        client = setting["clients"][who]
        for path in paths:
            response = client.get(path)
            if sees:
                assert response.status_code == 200, (who, path)
            else:
                assert response.status_code == 403, (who, path)
                assert response.json()["code"] == "restricted_root"
                assert "restricted slide root" in response.json()["detail"]
        # The version itself stays listed (its name and recipe are not slide data).
        assert client.get(f"/api/datasets/{version.pk}/").status_code == 200
    refused = setting["clients"]["denied"].post(f"/api/datasets/{version.pk}/exports/", {})
    assert refused.status_code == 403


def test_an_admin_restricts_and_opens_a_root_audited(setting, make_user):
    from webapp.audit.models import AuditEvent

    root = setting["root"].pk
    admin, denied = setting["clients"]["admin"], setting["clients"]["denied"]
    viewer = setting["users"]["viewer"]
    body = {"allowed_users": [viewer.pk, setting["users"]["granted"].pk]}
    response = admin.patch(f"/api/slide-roots/{root}/", body, format="json")
    assert response.status_code == 200
    assert response.json()["allowed_users"] == sorted(body["allowed_users"])
    assert setting["clients"]["viewer"].get(f"/api/slides/{setting['slide']}/").status_code == 200

    assert denied.patch(f"/api/slide-roots/{root}/", {"restricted": False}).status_code == 403
    bad = admin.patch(f"/api/slide-roots/{root}/", {"allowed_users": [999999]}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "unknown_user"

    response = admin.patch(f"/api/slide-roots/{root}/", {"restricted": False}, format="json")
    assert response.json()["restricted"] is False
    assert denied.get(f"/api/slides/{setting['slide']}/").status_code == 200
    events = AuditEvent.objects.filter(action="slide_root.access", object_id=str(root))
    assert events.count() == 2
    assert events.order_by("at", "id").last().after["restricted"] is False


def _refused(response, who, path):
    assert response.status_code == 403, (who, path, response.content[:200])
    assert response.json()["code"] == "restricted_root", (who, path)
    assert "restricted slide root" in response.json()["detail"]


def test_dataset_preview_diff_and_stats_follow_access(setting, built):  # noqa: F811
    a, b = built(budget=40), built(name="w", budget=30)
    full = setting["clients"]["admin"].get(f"/api/datasets/{a.pk}/stats/").json()
    assert full["tiles_per_slide"]["max"] > 0
    for who, sees in SEES.items():
        client = setting["clients"][who]
        # (A POST: a read-scope token may not; its user's session is checked as "denied".)
        poster = setting["clients"]["denied" if who == "token" else who]
        preview = poster.post(f"/api/datasets/{a.pk}/preview/", {}, format="json")
        diff = client.get(f"/api/datasets/{a.pk}/diff/?other={b.pk}")
        back = client.get(f"/api/datasets/{b.pk}/diff/?other={a.pk}")
        stats = client.get(f"/api/datasets/{a.pk}/stats/")
        assert stats.status_code == 200, who
        if sees:
            assert (preview.status_code, diff.status_code, back.status_code) == (200, 200, 200)
            assert stats.json() == full, who
        else:
            for path, response in (("preview", preview), ("diff", diff), ("diff back", back)):
                _refused(response, who, path)
            got = stats.json()
            assert (got["by_lab"], got["by_scanner"], got["by_stain"]) == ([], [], []), who
            assert got["tiles_per_slide"] is None
            assert "restricted slide root" in got["notes"][-1]
            for key in ("rows", "train", "validation", "slides", "cells", "shortfall"):
                assert got[key] == full[key], (who, key)
        # The version row itself stays (name, recipe, totals: nothing per slide).
        assert client.get(f"/api/datasets/{a.pk}/").status_code == 200


def test_versions_over_a_run_with_hidden_slides_are_refused(setting, built):  # noqa: F811
    version = built(budget=40)
    body = {"name": "mine", "cluster_run": setting["run"]}
    denied, granted = setting["clients"]["denied"], setting["clients"]["granted"]
    _refused(denied.post("/api/datasets/", body, format="json"), "denied", "create")
    made = granted.post("/api/datasets/", body, format="json")
    assert made.status_code == 201, made.content[:200]
    draft = made.json()["id"]
    for path, response in (
        ("build", denied.post(f"/api/datasets/{draft}/build/")),
        ("clone", denied.post(f"/api/datasets/{version.pk}/clone/", {}, format="json")),
        (
            "patch",
            denied.patch(f"/api/datasets/{draft}/", {"cluster_run": setting["run"]}, format="json"),
        ),
    ):
        _refused(response, "denied", path)
    clone = granted.post(f"/api/datasets/{version.pk}/clone/", {}, format="json")
    assert clone.status_code == 201


def test_training_backbones_need_access_to_every_root(setting, built):  # noqa: F811
    from tests.webapp.training.conftest import TINY
    from tests.webapp.training.test_training_runs import _export
    from webapp.training.services import runs

    version = built(budget=40)
    run = runs.run_launch(
        actor=setting["users"]["admin"],
        name="restricted",
        dataset_version=version,
        preset="cpu_smoke",
        overrides=dict(TINY),
    )
    _export(run)
    for who, sees in SEES.items():
        client = setting["clients"][who]
        for path in (
            f"/api/training/runs/{run.pk}/backbone/",
            f"/api/training/runs/{run.pk}/backbone/card/",
        ):
            response = client.get(path, HTTP_ACCEPT="*/*")
            if sees:
                assert response.status_code == 200, (who, path)
            else:
                _refused(response, who, path)
        # The run row and its curves reveal no slide.
        assert client.get(f"/api/training/runs/{run.pk}/").status_code == 200
        assert client.get(f"/api/training/runs/{run.pk}/metrics/").status_code == 200


def test_export_reports_leave_out_hidden_missing_slides(setting, built, curator):  # noqa: F811
    from webapp.datasets.models import ExportJob
    from webapp.datasets.services import exports

    version = built(budget=40)
    job = exports.export_start(actor=curator, version=version, shard_size=20)
    missing = [
        {"slide": setting["slide"], "reason": "not found"},
        {"slide": setting["open_slide"], "reason": "not found"},
    ]
    ExportJob.objects.filter(pk=job.pk).update(report={"missing_slides": missing})
    for who, sees in SEES.items():
        client = setting["clients"][who]
        for path in (f"/api/exports/{job.pk}/", f"/api/datasets/{version.pk}/exports/"):
            body = client.get(path).json()
            report = (body[0] if isinstance(body, list) else body)["report"]
            shown = {row["slide"] for row in report["missing_slides"]}
            expected = (
                {setting["slide"], setting["open_slide"]} if sees else {setting["open_slide"]}
            )
            assert shown == expected, (who, path)
