"""Every endpoint × every role, with the expected status: the server enforces roles."""

import pytest

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "viewer", "pathologist", "admin"]


def _expect(anon, viewer, pathologist, admin):
    return dict(zip(ROLES, (anon, viewer, pathologist, admin), strict=True))


READ = _expect(401, 200, 200, 200)
ADMIN_ONLY = _expect(401, 403, 403, 200)

# (method, path template, body, expected status per role)
CURATE = _expect(401, 403, 200, 200)

ENDPOINTS = [
    # Pathologist knowledge: viewers read, pathologists tag and group, admins also own the
    # vocabulary and the tag rules.
    ("get", "/api/categories/", None, READ),
    ("post", "/api/categories/", {"key": "k", "name": "K"}, _expect(401, 403, 403, 201)),
    ("get", "/api/terms/", None, READ),
    ("post", "/api/terms/", {"name": "x"}, _expect(401, 403, 403, 400)),
    ("patch", "/api/terms/{term}/", {"code": "C1"}, _expect(401, 403, 403, 200)),
    ("get", "/api/slides/{slide}/tags/", None, READ),
    ("post", "/api/slides/{slide}/tags/", {"term": "{term}"}, _expect(401, 403, 201, 201)),
    ("delete", "/api/slides/{slide}/tags/{term}/", None, _expect(401, 403, 404, 404)),
    ("get", "/api/slides/{slide}/suggestions/", None, READ),
    ("post", "/api/tags/bulk/", {"slides": ["{slide}"], "add": ["{term}"]}, CURATE),
    ("post", "/api/slides/review/", {"slides": ["{slide}"], "status": "reviewed"}, CURATE),
    ("get", "/api/slides/export.csv", None, READ),
    ("get", "/api/tag-rules/", None, READ),
    (
        "post",
        "/api/tag-rules/",
        {"name": "r", "pattern": "x", "term": "{term}"},
        _expect(401, 403, 403, 201),
    ),
    ("get", "/api/groups/", None, READ),
    ("get", "/api/groups/summary/", None, READ),
    ("post", "/api/groups/", {"name": "g", "rule": "stain IS SET"}, _expect(401, 403, 201, 201)),
    ("post", "/api/groups/preview/", {"rule": "stain IS SET"}, READ),
    ("get", "/api/audit/", None, READ),
    ("get", "/api/auth/me/", None, READ),
    ("post", "/api/auth/token/revoke/", None, _expect(401, 204, 204, 204)),
    ("get", "/api/slides/", None, READ),
    ("get", "/api/slides/facets/", None, READ),
    ("get", "/api/slides/{slide}/", None, READ),
    ("get", "/api/slides/{slide}/thumbnail/", None, READ),
    ("get", "/api/slides/{slide}/associated/label/", None, READ),
    ("get", "/api/slides/{slide}/dzi.json", None, READ),
    ("get", "/api/slides/{slide}/dzi.dzi", None, READ),
    ("get", "/api/slides/{slide}/dzi_files/0/0_0.jpeg", None, READ),
    ("get", "/api/slide-roots/", None, READ),
    ("get", "/api/slide-roots/{root}/", None, READ),
    (
        "post",
        "/api/slide-roots/",
        {"name": "n", "path": "/nonexistent"},
        _expect(401, 403, 403, 400),
    ),
    ("post", "/api/slide-roots/{root}/scan/", None, _expect(401, 403, 403, 202)),
    ("patch", "/api/slide-roots/{root}/", {"restricted": False}, ADMIN_ONLY),
    ("get", "/api/scans/", None, READ),
    ("get", "/api/users/", None, ADMIN_ONLY),
    ("post", "/api/users/", {"username": "x"}, _expect(401, 403, 403, 400)),
    ("get", "/api/users/{user}/", None, ADMIN_ONLY),
    ("patch", "/api/users/{user}/", {"full_name": "A B"}, ADMIN_ONLY),
    ("delete", "/api/users/{user}/", None, _expect(401, 403, 403, 405)),
    ("delete", "/api/slides/{slide}/", None, _expect(401, 405, 405, 405)),
    ("put", "/api/slide-roots/{root}/", {}, _expect(401, 403, 403, 405)),
    # Semantic tile clusters: everyone reads; pathologists and admins review, merge and edit
    # the vocabulary; admins launch, cancel, resume, lock and settle.
    ("get", "/api/semantic-categories/", None, READ),
    (
        "post",
        "/api/semantic-categories/",
        {"name": "Nerve", "colour": "#000000", "default_weight": 1},
        _expect(401, 403, 201, 201),
    ),
    ("patch", "/api/semantic-categories/{category}/", {"description": "d"}, CURATE),
    ("delete", "/api/semantic-categories/{category}/", None, _expect(401, 403, 204, 204)),
    ("get", "/api/cluster-runs/", None, READ),
    ("get", "/api/cluster-runs/{run}/", None, READ),
    ("post", "/api/cluster-runs/", {"config": "{config}"}, _expect(401, 403, 403, 400)),
    ("post", "/api/cluster-runs/{run}/cancel/", None, _expect(401, 403, 403, 409)),
    ("post", "/api/cluster-runs/{run}/resume/", None, _expect(401, 403, 403, 409)),
    ("post", "/api/cluster-runs/{run}/lock/", None, ADMIN_ONLY),
    ("post", "/api/cluster-runs/{run}/unlock/", None, ADMIN_ONLY),
    ("get", "/api/cluster-runs/{run}/map/", None, _expect(401, 404, 404, 404)),
    ("get", "/api/cluster-runs/{run}/disagreements/", None, READ),
    (
        "post",
        "/api/cluster-runs/{run}/merge/",
        {"target": "{cluster}", "clusters": ["{cluster2}"]},
        CURATE,
    ),
    (
        "get",
        "/api/cluster-runs/{run}/similar/?slide={slide}&index=0",
        None,
        _expect(401, 404, 404, 404),
    ),
    (
        "get",
        "/api/cluster-runs/{run}/slides/{slide}/labels/",
        None,
        _expect(401, 404, 404, 404),
    ),
    ("get", "/api/clusters/?run={run}", None, READ),
    ("get", "/api/clusters/{cluster}/", None, READ),
    ("get", "/api/clusters/{cluster}/montage.jpg", None, READ),
    ("get", "/api/clusters/{cluster}/votes/", None, READ),
    (
        "post",
        "/api/clusters/{cluster}/review/",
        {"version": 1, "status": "rejected", "reject_reason": "pen"},
        CURATE,
    ),
    ("post", "/api/clusters/{cluster}/settle/", {"version": 1, "status": "unreviewed"}, ADMIN_ONLY),
    ("post", "/api/clusters/{cluster2}/unmerge/", None, _expect(401, 403, 400, 400)),
    # Dataset versions: everyone reads and previews; pathologists and admins create, edit and
    # delete drafts, build, clone and export. (A draft without groups: build → 400.)
    ("get", "/api/datasets/", None, READ),
    ("post", "/api/datasets/", {"name": "d", "cluster_run": "{run}"}, _expect(401, 403, 201, 201)),
    ("get", "/api/datasets/{dataset}/", None, READ),
    ("patch", "/api/datasets/{dataset}/", {"name": "n"}, CURATE),
    ("delete", "/api/datasets/{dataset}/", None, _expect(401, 403, 204, 204)),
    ("post", "/api/datasets/{dataset}/preview/", {}, READ),
    ("post", "/api/datasets/{dataset}/build/", None, _expect(401, 403, 400, 400)),
    ("post", "/api/datasets/{dataset}/clone/", {}, _expect(401, 403, 201, 201)),
    ("get", "/api/datasets/{dataset}/recipe/", None, READ),
    ("get", "/api/datasets/{dataset}/stats/", None, _expect(401, 409, 409, 409)),
    ("get", "/api/datasets/{dataset}/diff/?other={dataset}", None, _expect(401, 409, 409, 409)),
    ("get", "/api/datasets/{dataset}/manifest.csv", None, _expect(401, 409, 409, 409)),
    ("get", "/api/datasets/{dataset}/exports/", None, READ),
    ("post", "/api/datasets/{dataset}/exports/", {}, _expect(401, 403, 409, 409)),
    ("get", "/api/exports/", None, READ),
    # Training runs: everyone reads (metrics, backbone); admins launch, cancel and resume.
    # (The draft version cannot be trained on: 400; the run has succeeded: 409.)
    ("get", "/api/training/presets/", None, READ),
    ("get", "/api/training/runs/", None, READ),
    (
        "post",
        "/api/training/runs/",
        {"name": "t", "dataset_version": "{dataset}", "preset": "cpu_smoke"},
        _expect(401, 403, 403, 400),
    ),
    ("get", "/api/training/runs/{training}/", None, READ),
    ("get", "/api/training/runs/{training}/metrics/", None, READ),
    ("post", "/api/training/runs/{training}/cancel/", None, _expect(401, 403, 403, 409)),
    ("post", "/api/training/runs/{training}/resume/", None, _expect(401, 403, 403, 409)),
    ("get", "/api/training/runs/{training}/backbone/", None, _expect(401, 404, 404, 404)),
    ("get", "/api/training/runs/{training}/backbone/card/", None, _expect(401, 404, 404, 404)),
    ("get", "/api/tokens/", None, READ),
    ("post", "/api/tokens/", {"name": "t"}, _expect(401, 201, 201, 201)),
    ("delete", "/api/tokens/999999/", None, _expect(401, 404, 404, 404)),
]


@pytest.fixture
def cluster_rows(db):
    """A finished cluster run's rows (no files) and an unused semantic category."""
    from webapp.clusters.models import Cluster, ClusterRun, SemanticCategory
    from webapp.tiling.models import TilingConfig

    config = TilingConfig.objects.create(name="c", params={}, key="t-c")
    run = ClusterRun.objects.create(
        name="r", config=config, feature_kind="colour", params={}, status="succeeded"
    )
    first, second = (Cluster.objects.create(run=run, index=i, size=10) for i in range(2))
    category = SemanticCategory.objects.create(name="Unused", colour="#123456")
    from webapp.datasets.models import DatasetVersion

    dataset = DatasetVersion.objects.create(
        name="draft", cluster_run=run, recipe={}, folder="datasets/version-x"
    )
    from webapp.training.models import TrainingRun

    built = DatasetVersion.objects.create(
        name="built", cluster_run=run, recipe={}, status="built", folder="datasets/version-y"
    )
    training = TrainingRun.objects.create(
        name="t",
        dataset_version=built,
        preset="cpu_smoke",
        model="vit_tiny_patch16_224",
        recipe={},
        status="succeeded",
        folder="training/run-x",
    )
    return {
        "dataset": dataset.pk,
        "config": config.pk,
        "run": run.pk,
        "cluster": first.pk,
        "cluster2": second.pk,
        "category": category.pk,
        "training": training.pk,
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(
    ("method", "template", "body", "expected"),
    ENDPOINTS,
    ids=[f"{m} {t}" for m, t, _, _ in ENDPOINTS],
)
def test_endpoint_role_matrix(
    api_as, make_user, aperio_slide, cluster_rows, role, method, template, body, expected
):
    other = make_user("viewer", username="someone-else")
    from webapp.tagging.models import Term

    ids = {
        "slide": aperio_slide.pk,
        "root": aperio_slide.root_id,
        "user": other.pk,
        "term": Term.objects.get(name="H&E").pk,
        **cluster_rows,
    }
    path = template.format(**ids)
    if body:
        body = {k: _fill(v, ids) for k, v in body.items()}
    client = api_as(None if role == "anonymous" else role)
    response = getattr(client, method)(path, body, format="json")
    assert response.status_code == expected[role], response.content[:300]


def _fill(value, ids):
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    return value


@pytest.mark.parametrize(
    ("method", "template", "body", "expected"),
    ENDPOINTS,
    ids=[f"{m} {t}" for m, t, _, _ in ENDPOINTS],
)
def test_read_token_column(make_user, aperio_slide, cluster_rows, method, template, body, expected):
    """An admin's read-scope token: what an admin may read, and 403 on every unsafe method."""
    from rest_framework.test import APIClient

    from webapp.accounts.services import api_token_create
    from webapp.tagging.models import Term

    admin = make_user("admin")
    other = make_user("viewer", username="someone-else")
    _, key = api_token_create(user=admin, name="read", scope="read")
    ids = {
        "slide": aperio_slide.pk,
        "root": aperio_slide.root_id,
        "user": other.pk,
        "term": Term.objects.get(name="H&E").pk,
        **cluster_rows,
    }
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    if body:
        body = {k: _fill(v, ids) for k, v in body.items()}
    response = getattr(client, method)(template.format(**ids), body, format="json")
    if method in ("get", "head", "options"):
        assert response.status_code == expected["admin"], response.content[:300]
    else:
        assert response.status_code == 403, response.content[:300]
        assert response.json()["detail"] == "This token is read-only."
