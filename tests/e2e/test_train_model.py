"""End to end: an admin trains a backbone in a real browser against the live server and a real
Celery worker running the real trainer (`python -m trainer`, the cpu_smoke preset on a built
demo dataset version, small overrides), watches it, cancels it, resumes it to success,
downloads the backbone, and launches a cluster run that embeds with that backbone. Then the
database is checked: the run succeeded, every step's metrics are stored exactly once (the
resume dropped and re-logged the steps past its checkpoint), and the cluster run embedded with
the run's exported backbone file."""

import hashlib
from pathlib import Path

import pytest
import requests

from tests.e2e.browser import ARTIFACTS, run_script, skip_reason
from tests.e2e.demo_run import tiled_demo_run
from tests.live_services import REPO, celery_worker, web_server
from webapp.clusters.models import Cluster, ClusterRun, SemanticCategory
from webapp.clusters.services import review
from webapp.datasets.services import builds, versions
from webapp.slides.models import Slide
from webapp.tagging.models import GroupKind
from webapp.tagging.services.groups import group_create, group_members_change

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(skip_reason() is not None, reason=str(skip_reason())),
    pytest.mark.skipif(
        not (REPO / "frontend" / "e2e" / "train-model.mjs").exists(),
        reason="frontend/e2e/train-model.mjs is missing",
    ),
]

PASSWORD = "e2e-Secret-passw0rd"
STEPS = 60
CHECKPOINT_EVERY = 5
EVAL_EVERY = 20
# One labelled tile per NCT-CRC-HE class (the trainer tests' evaluation folder), when present.
NCT = REPO.parent / "shared" / "data" / "tiles" / "nct-crc-he"
DECISIONS = {0: "Tumour", 1: "Stroma", 2: "Tumour", 3: "Stroma", 4: None}


def _built_version(admin, slide_root_dir):
    """Demo slides tiled, a k=5 colour run with every cluster decided, and a version built
    in-process on it (Tumour and Stroma over one group of every slide)."""
    run = tiled_demo_run(admin, slide_root_dir)
    categories = {c.name: c for c in SemanticCategory.objects.all()}
    for cluster in Cluster.objects.filter(run=run).order_by("index"):
        name = DECISIONS[cluster.index]
        decision = (
            review.decision_check(status="accepted", category=categories[name])
            if name
            else review.decision_check(status="rejected", reject_reason="background")
        )
        review.cluster_decide(
            actor=admin, cluster=cluster, version=cluster.version, decision=decision
        )
    group = group_create(actor=admin, name="e2e train", kind=GroupKind.EXPLICIT, weight=1.0)
    group_members_change(
        actor=admin,
        group=group,
        add=list(Slide.objects.filter(status="registered").values_list("pk", flat=True)),
    )
    version = versions.version_create(
        actor=admin,
        name="e2e train v1",
        cluster_run=run,
        recipe={
            "groups": [{"group": group.pk, "weight": 1.0}],
            "categories": [
                {"category": categories["Tumour"].pk, "weight": None},
                {"category": categories["Stroma"].pk, "weight": None},
            ],
            "budget": 200,
            "per_slide_cap": None,
            "split": {"by": "slide", "validation_fraction": 0.0},
            "seed": 0,
        },
    )
    builds.version_build_start(actor=admin, version=version)
    version = builds.version_build(version.pk)
    assert version.status == "built", (version.error, version.message)
    return run, version


def test_admin_trains_cancels_resumes_and_clusters_with_the_backbone(
    make_user, settings, tmp_path, slide_root_dir
):
    from webapp.training.models import TrainingMetric, TrainingRun

    admin = make_user("admin", username="e2e-admin", password=PASSWORD)
    cluster_run, version = _built_version(admin, slide_root_dir)

    with (
        web_server(settings.DATA_ROOT, tmp_path / "web.log") as url,
        celery_worker(settings.DATA_ROOT, tmp_path / "worker.log"),
    ):
        try:
            summary = run_script(
                "train-model.mjs",
                url,
                tmp_path,
                timeout=600,  # training takes minutes
                E2E_USERNAME="e2e-admin",
                E2E_PASSWORD=PASSWORD,
                E2E_DATASET=str(version.pk),
                E2E_CONFIG=cluster_run.config.name,
                E2E_STEPS=str(STEPS),
                E2E_BATCH="4",
                E2E_CHECKPOINT=str(CHECKPOINT_EVERY),
                **(
                    {"E2E_EVAL_FOLDER": str(NCT), "E2E_EVAL_EVERY": str(EVAL_EVERY)}
                    if NCT.is_dir()
                    else {}
                ),
            )
        except AssertionError:
            print((tmp_path / "worker.log").read_text()[-6000:])
            raise
        print(summary)  # shown with -s, or with the failure

        # What the browser saw.
        assert summary["model"] == "vit_tiny_patch16_224"
        assert len(summary["steps_seen"]) >= 2 and summary["steps_seen"] == sorted(
            summary["steps_seen"]
        )
        assert summary["charts"]["count"] >= 3 and summary["charts"]["drawn"]
        assert 0 < summary["cancelled_at"] < STEPS
        assert summary["finished"]["step"] == f"{STEPS} / {STEPS}"
        assert summary["answers"]["POST /api/training/runs/"] == [201]
        assert summary["answers"]["POST /api/training/runs/N/cancel/"] == [202]
        assert summary["answers"]["POST /api/training/runs/N/resume/"] == [202]
        assert summary["answers"]["POST /api/cluster-runs/"] in ([201], [202])
        assert summary["metric_steps"] == list(range(1, STEPS + 1))
        assert (
            "succeeded" in summary["listed"].lower()
            and f"{STEPS}/{STEPS} (100%)" in summary["listed"]
        )

        # The training run, as the database holds it.
        run = TrainingRun.objects.get(pk=summary["training_run"])
        assert run.status == "succeeded", (run.error, run.message)
        assert run.created_by == admin and run.dataset_version_id == version.pk
        assert run.preset == "cpu_smoke" and run.model == "vit_tiny_patch16_224"
        assert run.recipe["total_steps"] == STEPS and run.recipe["batch_size"] == 4
        assert run.recipe["checkpoint_every"] == CHECKPOINT_EVERY
        assert run.step == run.total_steps == STEPS and not run.cancel_requested and not run.error
        assert run.attempt >= 1  # resumed once
        steps = list(
            TrainingMetric.objects.filter(run=run, kind="step")
            .order_by("step")
            .values_list("step", flat=True)
        )
        assert steps == list(range(1, STEPS + 1)), steps  # each step exactly once
        if NCT.is_dir():
            evals = list(
                TrainingMetric.objects.filter(run=run, kind="eval")
                .order_by("step")
                .values_list("step", flat=True)
            )
            assert evals and evals[-1] == STEPS and len(evals) == len(set(evals)), evals
            assert EVAL_EVERY in evals, evals
            assert len(summary["eval_rows"]) == len(evals)
            assert summary["finished"]["knn"].endswith("%"), summary["finished"]
            assert run.eval_folder == str(NCT)
            assert run.recipe["eval_every"] == EVAL_EVERY
        backbone = settings.DATA_ROOT / run.backbone_path
        assert run.backbone_path and backbone.is_file() and backbone.stat().st_size > 0

        # The download is that file.
        assert summary["backbone"]["fetched_status"] == 200
        assert summary["backbone"]["download_size"] == summary["backbone"]["fetched_size"]
        assert summary["backbone"]["fetched_size"] == backbone.stat().st_size
        assert summary["backbone"]["download_name"].endswith(".safetensors")
        card = summary["backbone"]["card"]
        assert card["format"] == "timm" and card["model"] == "vit_tiny_patch16_224"
        assert card["step"] == STEPS

        # The cluster run embedded with that backbone.
        clusters = ClusterRun.objects.get(pk=summary["cluster_run"])
        assert clusters.feature_kind == "embedding"
        assert clusters.embedding_model["name"] == "vit_tiny_patch16_224"
        # an immutable copy of that backbone, named by its step
        weights = Path(clusters.embedding_model["weights"])
        assert (
            weights.name == f"step-{STEPS}.safetensors" and weights.parent.parent == backbone.parent
        )
        assert weights.read_bytes() == backbone.read_bytes()
        assert clusters.status == summary["cluster_status"] == "succeeded", (
            clusters.error,
            clusters.message,
        )
        api = requests.Session()
        login = api.get(f"{url}/api/auth/csrf/", timeout=30)
        assert login.ok
        answer = api.post(
            f"{url}/api/auth/login/",
            json={"username": "e2e-admin", "password": PASSWORD},
            headers={"X-CSRFToken": api.cookies.get("csrftoken", "")},
            timeout=30,
        )
        assert answer.ok, answer.text
        got = api.get(f"{url}/api/cluster-runs/{clusters.pk}/", timeout=30).json()
        assert got["embedding_model"]["weights"] == clusters.embedding_model["weights"]
        blob = api.get(f"{url}{summary['backbone']['href']}", timeout=60)
        assert blob.status_code == 200
        assert (
            hashlib.sha256(blob.content).hexdigest()
            == hashlib.sha256(backbone.read_bytes()).hexdigest()
        )

    shots = ("training-running.png", "training-succeeded.png", "training-list.png")
    for name in (*shots, "training-cluster-run.png"):
        assert (ARTIFACTS / name).stat().st_size > 10_000
