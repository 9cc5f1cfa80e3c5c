"""API fuzzing: schemathesis generates requests for every operation of the served OpenAPI
schema (/api/schema/) and sends them in-process to the WSGI application, as each role.

Checks, per generated request: no 5xx; the status code is documented, or is one of the
platform's error answers (the schema documents success answers only) whose body has the
error shape of webapp.core.errors; the content type and the body match the schema.

The examples per operation and role come from RUDOLFV_FUZZ_EXAMPLES (small by default, for
the test command; scripts/fuzz raises it). Generation is derandomized: CI is reproducible.

Nothing is excluded. Work the API hands to Celery is enqueued in `transaction.on_commit`,
which never runs inside the test's transaction, so fuzzing launches no scan, tiling, cluster,
build, export or training; `_no_broker` makes sure nothing reaches the broker otherwise.
"""

import os
from collections import Counter
from contextlib import contextmanager

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from webapp.wsgi import application

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("RUDOLFV_FUZZ_EXAMPLES", "2"))
ROLES = ["admin", "pathologist", "viewer", "read-token", "anonymous"]

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

# The error answers every view may give without documenting them (webapp.core.errors):
# bad input, not logged in, not allowed / read-only token, no such object, method not
# allowed, conflict with the object's state, unsupported media type, throttled login.
ERROR_STATUSES = {400, 401, 403, 404, 405, 409, 415, 429}
ERROR_SHAPE = {
    "type": "object",
    "required": ["detail", "code"],
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "fields": {"type": ["object", "array"]},
    },
}

_counts: Counter = Counter()


@contextmanager
def _in_process():
    """Django closes the database connection at the start and end of every request when it
    is not in autocommit mode; inside the test's transaction that would break it, and outside
    a test it is refused. Django's test client disconnects the same handlers."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def schema():
    with _in_process():
        return schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def _in_process_requests():
    with _in_process():
        yield


@pytest.fixture
def _no_broker(monkeypatch):
    """Tasks are enqueued on commit only, which never comes; fail loudly if one is sent."""
    from celery.app.task import Task

    def refuse(self, *args, **kwargs):
        raise AssertionError(f"the fuzzed API sent task {self.name} to the broker")

    monkeypatch.setattr(Task, "apply_async", refuse)


@pytest.fixture
def world(make_user, aperio_slide):
    """Real objects for every kind of path id, so that some requests hit them."""
    from webapp.accounts.services import api_token_create
    from webapp.clusters.models import Cluster, ClusterRun, SemanticCategory
    from webapp.datasets.models import DatasetVersion, ExportJob
    from webapp.slides.models import ScanJob
    from webapp.tagging.models import Category, SlideGroup, TagRule, Term
    from webapp.tiling.models import SlideTiling, TilingConfig, TilingRun
    from webapp.training.models import TrainingRun

    users = {role: make_user(role) for role in ("admin", "pathologist", "viewer")}
    token_owner = make_user("admin", username="token-owner")
    _, read_key = api_token_create(user=token_owner, name="fuzz", scope="read")
    own_token, _ = api_token_create(user=users["admin"], name="own", scope="full")
    term = Term.objects.get(name="H&E")
    config = TilingConfig.objects.create(
        name="fuzz", params={"tile_size": 128, "target_mpp": 2.0}, key="t-fuzz"
    )
    tiling_run = TilingRun.objects.create(config=config, selection={"slides": [aperio_slide.pk]})
    tiling = SlideTiling.objects.create(slide=aperio_slide, config=config, run=tiling_run)
    run = ClusterRun.objects.create(
        name="r", config=config, feature_kind="colour", params={}, status="succeeded"
    )
    cluster = Cluster.objects.create(run=run, index=0, size=10)
    Cluster.objects.create(run=run, index=1, size=5)
    draft = DatasetVersion.objects.create(
        name="draft", cluster_run=run, recipe={}, folder="datasets/version-x"
    )
    built = DatasetVersion.objects.create(
        name="built", cluster_run=run, recipe={}, status="built", folder="datasets/version-y"
    )
    export = ExportJob.objects.create(version=built)
    group = SlideGroup.objects.create(name="g", rule="stain IS SET")
    rule = TagRule.objects.create(name="r", pattern="ihc", term=term)
    training = TrainingRun.objects.create(
        name="t",
        dataset_version=built,
        preset="cpu_smoke",
        model="vit_tiny_patch16_224",
        recipe={},
        status="succeeded",
        folder="training/run-x",
    )
    from webapp.audit.models import AuditEvent

    by_prefix = {
        "/api/audit/": AuditEvent.objects.values_list("pk", flat=True).first() or 1,
        "/api/categories/": Category.objects.values_list("pk", flat=True).first(),
        "/api/cluster-runs/": run.pk,
        "/api/clusters/": cluster.pk,
        "/api/datasets/": draft.pk,
        "/api/exports/": export.pk,
        "/api/groups/": group.pk,
        "/api/scans/": ScanJob.objects.values_list("pk", flat=True).first(),
        "/api/semantic-categories/": SemanticCategory.objects.values_list("pk", flat=True)
        .order_by("pk")
        .first()
        or SemanticCategory.objects.create(name="Fuzz", colour="#123456").pk,
        "/api/slide-roots/": aperio_slide.root_id,
        "/api/slide-tilings/": tiling.pk,
        "/api/slides/": aperio_slide.pk,
        "/api/tag-rules/": rule.pk,
        "/api/terms/": term.pk,
        "/api/tiling-configs/": config.pk,
        "/api/tiling-runs/": tiling_run.pk,
        "/api/tokens/": own_token.pk,
        "/api/training/runs/": training.pk,
        "/api/users/": users["viewer"].pk,
    }
    others = {"slide_id": aperio_slide.pk, "term_id": term.pk, "name": "label", "fmt": "csv"}
    return {"users": users, "read_key": read_key, "by_prefix": by_prefix, "others": others}


def _real_path_parameters(operation, world) -> dict:
    path = operation.path
    ids = {}
    for prefix, pk in world["by_prefix"].items():
        if path.startswith(prefix + "{id}"):
            ids["id"] = pk
    for name, value in world["others"].items():
        if "{" + name + "}" in path:
            ids[name] = value
    return ids


class _Caller:
    """Credentials of one role: a browser session (with its CSRF token) or a read token."""

    def __init__(self, role, world):
        self.role = role
        self.user = world["users"].get(role)
        self.read_key = world["read_key"]
        self.login()

    def login(self):
        from django.conf import settings as django_settings
        from django.middleware.csrf import _get_new_csrf_string
        from django.test import Client

        self.headers, self.cookies = {}, {}
        if self.role == "read-token":
            self.headers["Authorization"] = f"Bearer {self.read_key}"
        elif self.user is not None:
            client = Client()
            client.force_login(self.user)
            csrf = _get_new_csrf_string()
            self.cookies = {
                django_settings.SESSION_COOKIE_NAME: client.cookies[
                    django_settings.SESSION_COOKIE_NAME
                ].value,
                django_settings.CSRF_COOKIE_NAME: csrf,
            }
            self.headers["X-CSRFToken"] = csrf

    def restore(self):
        """A request may log the caller out or change its own role, activity or password
        (PATCH /api/users/{own id}/): put the identity back so that the next one is the role's."""
        if self.user is None:
            return
        from webapp.accounts.models import User

        User.objects.filter(pk=self.user.pk).update(role=self.role, is_active=True)
        self.user.refresh_from_db()
        self.login()


def _error_answer(case, response) -> str | None:
    """An undocumented status from the error contract: check its shape, else None."""
    import jsonschema_rs

    documented = {str(code) for code in case.operation.responses.status_codes}
    status = response.status_code
    if str(status) in documented or status not in ERROR_STATUSES:
        return None
    try:
        body = response.json()
    except Exception:
        return f"{status} answer is not JSON: {response.content[:200]!r}"
    errors = [e.message for e in jsonschema_rs.validator_for(ERROR_SHAPE).iter_errors(body)]
    return f"{status} answer is not the error shape: {errors} in {body!r}" if errors else ""


def _fuzz_operation(operation, caller, world):
    real = _real_path_parameters(operation, world)
    strategies = [operation.as_strategy(generation_mode=GenerationMode.POSITIVE)]
    if real:
        strategies.append(
            operation.as_strategy(generation_mode=GenerationMode.POSITIVE, path_parameters=real)
        )
    strategies.append(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE))

    @settings(
        max_examples=EXAMPLES * len(strategies),
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=st.one_of(strategies))
    def run(case):
        _counts[caller.role] += 1
        if caller.role != "anonymous" and case.headers:
            # Generated credentials would replace the role's: anonymous runs keep them.
            case.headers.pop("Authorization", None)
        savepoint = transaction.savepoint()
        try:
            response = case.call(headers=caller.headers, cookies=caller.cookies)
        finally:
            # A 5xx may leave the transaction aborted: undo that request only.
            if "response" in locals() and response.status_code < 500:
                transaction.savepoint_commit(savepoint)
            else:
                transaction.savepoint_rollback(savepoint)
            caller.restore()
        error = _error_answer(case, response)
        if error:
            raise AssertionError(f"{case.operation.label}: {error}\n{case.as_curl_command()}")
        if error is None:
            if case.meta and case.meta.generation.mode == GenerationMode.NEGATIVE:
                case.validate_response(response, checks=[not_a_server_error])
            else:
                case.validate_response(response, checks=CHECKS)

    run()


@pytest.mark.parametrize("role", ROLES)
def test_fuzz_every_operation(schema, world, role, _in_process_requests, _no_broker):
    caller = _Caller(role, world)
    failures = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 100, "the schema lost its operations"
    for operation in operations:
        try:
            _fuzz_operation(operation, caller, world)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # schemathesis' FailureGroup is a BaseExceptionGroup
            message = f"[{role}] {operation.label}: {type(exc).__name__}: {exc}"
            failures.append(message)
    lines = [f"{role}: {_counts[role]} cases over {len(operations)} operations"]
    lines += [f"  FAILED: {m.splitlines()[0]}" for m in failures]
    print("\n" + "\n".join(lines))
    if os.environ.get("RUDOLFV_FUZZ_REPORT"):  # scripts/fuzz prints it at the end
        with open(os.environ["RUDOLFV_FUZZ_REPORT"], "a") as report:
            report.write("\n".join(lines) + "\n")
    assert not failures, "\n\n".join(f[:4000] for f in failures)


@pytest.mark.parametrize(
    ("query", "expected"),
    [("n=abc", 400), ("n=-1", 200), ("n=1000", 200), ("status=failed", 200)],
)
def test_gallery_query_found_by_fuzzing(api_as, world, query, expected):
    """`?n=abc` and `?n=-1` answered 500, and the runs' list filters applied to the run."""
    from webapp.tiling.models import TilingRun

    run = TilingRun.objects.get()
    response = api_as("viewer").get(f"/api/tiling-runs/{run.pk}/gallery/?{query}")
    assert response.status_code == expected, response.content[:300]
    if expected == 200:
        assert response.json() == []  # no tiling of the run is done


@pytest.mark.parametrize("status", ["done", "failed", "queued"])
def test_run_slides_filter_by_tiling_status(api_as, world, status):
    """`?status=` is a slide's tiling status; it was validated and applied as the run's."""
    from webapp.tiling.models import TilingRun

    run = TilingRun.objects.get()
    response = api_as("viewer").get(f"/api/tiling-runs/{run.pk}/slides/?status={status}")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["count"] == (1 if status == "queued" else 0)
