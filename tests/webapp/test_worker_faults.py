"""Worker faults: a real Celery worker is SIGKILLed (with its pool children) in the middle of
real work; the job is then resumed (explicitly, as the design asks for long jobs) or
redelivered by the broker, and ends with the same result as an uninterrupted run, with no
partial file visible and no inconsistent row. See docs/reliability.md, "Worker faults".

The broker redelivers a killed worker's unacknowledged task only after the visibility
timeout (production: longer than the longest task); `expire_unacked` makes the messages look
that old, which is what waiting would do."""

import hashlib
import tarfile
import time

import pytest
from django.conf import settings as django_settings

from tests.fault_injection import (
    children_of,
    expire_unacked,
    forget_unacked,
    hidden_files,
    visible_files,
    wait_until,
    worker,
)
from tests.live_services import process_env

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Fast heartbeats, so that a dead worker's job looks interrupted within seconds.
BEATS = {
    "CLUSTER_HEARTBEAT_EVERY_S": 1,
    "CLUSTER_HEARTBEAT_STALE_S": 4,
    "DATASET_HEARTBEAT_EVERY_S": 1,
    "DATASET_HEARTBEAT_STALE_S": 4,
    "TRAINING_HEARTBEAT_EVERY_S": 1,
    "TRAINING_HEARTBEAT_STALE_S": 4,
}


@pytest.fixture(autouse=True)
def beats(settings):
    for name, value in BEATS.items():
        setattr(settings, name, value)


@pytest.fixture(autouse=True)
def since():
    """When the test began; its killed workers' deliveries, left unacknowledged, are
    dropped at its end so that no later test sees them redelivered. (The broker database
    must be the tests' own: the queues of other workers on it are not touched, but their
    deliveries in flight would be aged and dropped too.)"""
    began = time.time()
    yield began
    forget_unacked(django_settings.CELERY_BROKER_URL, began)


def worker_env(data_root, **extra) -> dict[str, str]:
    return process_env(data_root, **{k: str(v) for k, v in {**BEATS, **extra}.items()})


def tiled_archive(slide_root_dir, name="archive", tile_size=64):
    """The demo archive registered and tiled in-process; returns the tiling config."""
    from webapp.slides.services import registration, roots
    from webapp.tiling import services as tiling

    root = roots.root_create(name=name, path=str(slide_root_dir))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    config = tiling.config_create(
        name=f"{name}-{tile_size}",
        params={"tile_size": tile_size, "target_mpp": 1.0, "min_tissue_fraction": 0.5},
    )
    for tiling_id in tiling.run_tilings(tiling.run_start(config=config, untiled=True)):
        tiling.slide_tile(tiling_id=tiling_id)
    return config


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def label_digest(folder) -> dict[str, str]:
    """The run's label files (one per slide) by name → content hash of the labels."""
    import pyarrow.parquet as pq

    out = {}
    for path in sorted((folder / "labels").rglob("*.parquet")):
        table = pq.read_table(path)
        out[path.name] = hashlib.sha256(str(table.to_pydict()).encode()).hexdigest()
    return out


# --- registration scans --------------------------------------------------------------------


def test_a_scan_killed_mid_way_is_redelivered_and_registers_every_slide_once(
    settings, tmp_path, demo_slide_dir, since
):
    import shutil

    from webapp.slides.models import ScanJob, Slide
    from webapp.slides.services import registration, roots
    from webapp.slides.tasks import enqueue_scan

    # The reference: the three demo slides scanned in-process.
    reference_root = roots.root_create(name="reference", path=str(demo_slide_dir))
    registration.scan_run_inline(scan=registration.scan_start(root=reference_root))
    expected = {
        s.name: (s.fingerprint, s.width, s.height, s.mpp_x, s.status)
        for s in reference_root.slides.all()
    }
    log = tmp_path / "worker.log"
    env = worker_env(settings.DATA_ROOT, SCAN_CHUNK_SIZE=5)
    with worker(settings.DATA_ROOT, log, env) as first:
        # 5 copies of them (different paths, so 15 slides) in 3 chunks of 5. The kill lands
        # while both pool processes register a chunk and the third waits in the queue: the
        # worker then fetches nothing (a kill between Redis' BRPOP and kombu's write to the
        # unacked set loses that message, see the docs). A scan whose state moved on before
        # the worker was frozen is followed by another, on a new root.
        for attempt in range(4):
            archive = tmp_path / f"many-{attempt}"
            for copy in range(5):
                shutil.copytree(demo_slide_dir, archive / f"lab_{copy}")
            root = roots.root_create(name=f"many {attempt}", path=str(archive))
            offset = len(log.read_text())
            scan = registration.scan_start(root=root, enqueue=enqueue_scan)

            def midway(scan=scan, root=root, start=offset):
                row = ScanJob.objects.get(pk=scan.pk)
                return (
                    row.status == "running"
                    and row.processed == 0
                    and Slide.objects.filter(root=root).exists()
                    # two chunks received, none finished (that logs a second line)
                    and log.read_text()[start:].count("register_chunk[") == 2
                )

            wait_until(
                lambda scan=scan: (
                    midway() or ScanJob.objects.get(pk=scan.pk).status not in ("queued", "running")
                ),
                120,
                "the scan began",
                every=0.01,
            )
            if first.kill_if(midway):
                break
        else:
            raise AssertionError("every scan moved on before the worker could be stopped")
    row = ScanJob.objects.get(pk=scan.pk)
    assert row.status == "running" and row.processed < row.total == 15, row.processed
    for path in visible_files(settings.DATA_ROOT):
        _readable(path)

    # Redelivered (the chunks in flight), the rest still queued: a new worker finishes.
    assert expire_unacked(settings.CELERY_BROKER_URL, since) >= 1
    with worker(settings.DATA_ROOT, log, env):
        done = wait_until(
            lambda: (
                (r := ScanJob.objects.get(pk=scan.pk)).status not in ("queued", "running") and r
            ),
            120,
            "the scan finished",
        )
    assert done.status == "succeeded", (done.message, log.read_text()[-3000:])
    # Every file once, read as the uninterrupted scan read it; the counters add up (a slide
    # the killed chunk had committed counts as unchanged when the chunk runs again).
    assert done.total == done.processed == 15 and done.failed == 0 and done.moved == 0
    assert done.registered + done.unchanged == 15
    slides = list(Slide.objects.filter(root=root))
    assert len(slides) == 15 and len({s.relative_path for s in slides}) == 15
    for s in slides:
        assert (s.fingerprint, s.width, s.height, s.mpp_x, s.status) == expected[s.name], s.name
    for path in visible_files(settings.DATA_ROOT):
        _readable(path)
    _only_temporaries(settings.DATA_ROOT)


def test_a_database_restart_while_a_slide_is_read_is_not_a_bad_slide(monkeypatch, demo_slide_dir):
    """Registration is mostly reading files; a database restart then (here: the server
    terminating this connection while the slide is read) must fail the chunk with the
    database error, which the task retries, and must not record the slide as failed."""
    import psycopg
    from django.db import OperationalError, connection

    from tests.live_services import test_database_url
    from webapp.slides.models import Slide
    from webapp.slides.services import registration, roots

    root = roots.root_create(name="r", path=str(demo_slide_dir))
    read = registration.read_slide_metadata

    def read_while_the_database_restarts(path):
        pid = connection.connection.info.backend_pid
        with psycopg.connect(test_database_url(), autocommit=True) as other:
            other.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return read(path)

    monkeypatch.setattr(registration, "read_slide_metadata", read_while_the_database_restarts)
    with pytest.raises(OperationalError):
        registration.register_paths(root=root, relative_paths=["demo-ihc-small.tiff"])
    monkeypatch.undo()
    connection.close()
    assert not Slide.objects.filter(root=root).exclude(status="registered").exists()
    # The retry registers it.
    counts = registration.register_paths(root=root, relative_paths=["demo-ihc-small.tiff"])
    assert counts == {"registered": 1}
    assert Slide.objects.get(root=root).status == "registered"


# --- tiling runs ----------------------------------------------------------------------------

FINE = {"tile_size": 32, "target_mpp": 0.5, "min_tissue_fraction": 0.5}


def test_a_tiling_run_killed_mid_slide_is_redelivered_and_tiles_every_slide(
    settings, tmp_path, slide_root_dir, since
):
    import pyarrow.parquet as pq

    from curation import tiling as curation_tiling
    from webapp.slides.services import registration, roots
    from webapp.tiling import services as tiling
    from webapp.tiling.models import SlideTiling, TilingRun
    from webapp.tiling.tasks import enqueue_run

    root = roots.root_create(name="archive", path=str(slide_root_dir))
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    config = tiling.config_create(name="fine", params=FINE)

    log = tmp_path / "worker.log"
    env = worker_env(settings.DATA_ROOT)
    with worker(settings.DATA_ROOT, log, env) as first:
        run = tiling.run_start(config=config, untiled=True, enqueue=enqueue_run)

        def midway():
            # Both pool processes tile a slide (so the worker fetches nothing: see the scan),
            # one of them has written progress.
            row = TilingRun.objects.get(pk=run.pk)
            assert row.finished_at is None, row.status
            running = SlideTiling.objects.filter(run=run, status="running")
            return running.count() == 2 and running.filter(tiles_done__gt=0).exists()

        wait_until(midway, 120, "a slide was being tiled", every=0.02)
        assert first.kill_if(midway), "the job finished before the worker was stopped"
    row = TilingRun.objects.get(pk=run.pk)
    assert row.status == "running" and row.done + row.failed + row.skipped < row.total
    killed = list(SlideTiling.objects.filter(run=run, status="running"))
    assert killed
    store = settings.DATA_ROOT / "tiles" / config.key
    for path in visible_files(store):
        _readable(path)

    assert expire_unacked(settings.CELERY_BROKER_URL, since) >= 1
    with worker(settings.DATA_ROOT, log, env):
        done = wait_until(
            lambda: (r := TilingRun.objects.get(pk=run.pk)).finished_at and r,
            120,
            "the run finished",
        )
    assert done.status == "succeeded", (done.status, log.read_text()[-3000:])
    # Each slide counted once, and tiled as an uninterrupted tiling does.
    assert done.done == done.total == root.slides.count() and not done.failed + done.skipped
    tilings = list(SlideTiling.objects.filter(run=run).select_related("slide"))
    assert all(t.status == "done" for t in tilings)
    assert done.tile_count == sum(t.tile_count for t in tilings)
    for t in tilings:
        reference = curation_tiling.tile_slide(
            t.slide.absolute_path, tmp_path / "ref" / f"{t.pk}.parquet", tiling.parse_params(FINE)
        )
        table = pq.read_table(settings.DATA_ROOT / t.path, columns=["x", "y"])
        expected = pq.read_table(tmp_path / "ref" / f"{t.pk}.parquet", columns=["x", "y"])
        assert t.tile_count == reference.tile_count == table.num_rows
        assert table.equals(expected), t.slide.name
    for path in visible_files(store):
        _readable(path)
    _only_temporaries(store)


# --- cluster runs ---------------------------------------------------------------------------

CLUSTER_PARAMS = {"k": 8, "per_slide": 200, "iterations": 40, "restarts": 3, "seed": 3}


def test_a_cluster_run_killed_mid_run_shows_interrupted_and_resumes(
    api_as, make_user, settings, tmp_path, slide_root_dir
):
    from webapp.clusters.models import Cluster, ClusterRun
    from webapp.clusters.services import runs
    from webapp.clusters.services.execution import run_execute

    config = tiled_archive(slide_root_dir)
    admin_user = make_user("admin", username="admin-user")
    admin = api_as("admin")

    # The same run, uninterrupted, in-process: the reference.
    reference = runs.run_launch(
        actor=admin_user, config=config, feature_kind="colour", params=CLUSTER_PARAMS
    )
    reference = run_execute(reference.pk)
    assert reference.status == "succeeded", reference.error

    log = tmp_path / "worker.log"
    env = worker_env(settings.DATA_ROOT)
    with worker(settings.DATA_ROOT, log, env) as first:
        created = admin.post(
            "/api/cluster-runs/",
            {"config": config.pk, "feature_kind": "colour", **CLUSTER_PARAMS},
            format="json",
        )
        assert created.status_code == 202, created.json()
        pk = created.json()["id"]

        def midway():
            run = ClusterRun.objects.get(pk=pk)
            assert run.status in ("queued", "running"), (run.status, run.error)
            return run if run.phase in ("training", "assigning", "summarising") else None

        seen = wait_until(midway, 120, "the run reached training", every=0.02)
        assert first.kill_if(midway), "the job finished before the worker was stopped"
    folder = settings.DATA_ROOT / f"clusters/run-{pk}"

    # Dead: the row still says running, with a heartbeat that ages.
    run = ClusterRun.objects.get(pk=pk)
    assert run.status == "running" and run.phase in ("training", "assigning", "summarising")
    assert run.finished_at is None and not Cluster.objects.filter(run_id=pk).exists()
    # Every visible file is whole: the library writes under hidden names, then renames.
    for path in visible_files(folder):
        _readable(path)
    shown = wait_until(
        lambda: (
            (r := admin.get(f"/api/cluster-runs/{pk}/").json())["status"] == "interrupted" and r
        ),
        30,
        "the run shows as interrupted",
    )
    assert shown["phase"] == run.phase and "resume" in shown["message"], shown

    # Resume on a new worker: it continues from the last finished phase.
    with worker(settings.DATA_ROOT, log, env):
        assert admin.post(f"/api/cluster-runs/{pk}/resume/").status_code == 200
        done = wait_until(
            lambda: (
                ClusterRun.objects.get(pk=pk).status not in ("queued", "running")
                and ClusterRun.objects.get(pk=pk)
            ),
            180,
            "the resumed run finished",
        )
    assert done.status == "succeeded", (done.error, log.read_text()[-3000:])
    assert done.attempt == seen.attempt + 1
    # The same result as the uninterrupted run: sizes, inertia, every tile's label.
    sizes = list(Cluster.objects.filter(run_id=pk).order_by("index").values_list("size", flat=True))
    expected = list(
        Cluster.objects.filter(run_id=reference.pk).order_by("index").values_list("size", flat=True)
    )
    assert sizes == expected and done.tile_count == reference.tile_count
    assert done.inertia == pytest.approx(reference.inertia)
    assert label_digest(folder) == label_digest(settings.DATA_ROOT / reference.folder)
    _only_temporaries(folder)


def _only_temporaries(folder) -> None:
    """What a killed writer may leave: hidden `.<name>.<uuid>.tmp` files (curation.atomic),
    which no listing shows and age-based cleaners remove."""
    for path in hidden_files(folder):
        assert path.name.startswith(".") and "tmp" in path.name, path


def _readable(path) -> None:
    """A visible file a killed writer might have left must be complete."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        pq.read_table(path)
    elif path.suffix == ".npz":
        import numpy as np

        dict(np.load(path))
    elif path.suffix == ".tar":
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                assert tar.extractfile(member).read() is not None
    elif path.suffix == ".json":
        import json

        json.loads(path.read_text())


# --- dataset builds and exports -------------------------------------------------------------


@pytest.fixture
def world(settings, slide_root_dir):
    """The dataset tests' curated world (demo slides tiled, a reviewed cluster run, two
    groups), made in this test's database and DATA_ROOT."""
    from tests.webapp.datasets.conftest import _make

    return _make(settings.DATA_ROOT, slide_root_dir)


def _version(world, actor, name="v", **changes):
    from tests.webapp.datasets.world import recipe_for
    from webapp.clusters.models import ClusterRun
    from webapp.datasets.services import versions

    return versions.version_create(
        actor=actor,
        name=name,
        cluster_run=ClusterRun.objects.get(pk=world.run_id),
        recipe=recipe_for(world, **changes),
    )


def _built(world, actor, name="v", **changes):
    from webapp.datasets.services import builds

    version = _version(world, actor, name, **changes)
    builds.version_build_start(actor=actor, version=version)
    version = builds.version_build(version.pk)
    assert version.status == "built", version.error
    return version


def _shard_digest(folder) -> dict[str, str]:
    """shard name → hash of its members' names and contents (tar headers carry times)."""
    out = {}
    for path in sorted(folder.glob("shard-*.tar")):
        digest = hashlib.sha256()
        with tarfile.open(path) as tar:
            for member in tar.getmembers():
                digest.update(member.name.encode())
                digest.update(tar.extractfile(member).read())
        out[path.name] = digest.hexdigest()
    return out


def test_an_export_killed_mid_way_is_interrupted_and_continues_on_redelivery(
    world, make_user, api_as, settings, tmp_path, since
):
    from webapp.datasets.models import ExportJob
    from webapp.datasets.services import exports
    from webapp.datasets.tasks import enqueue_export

    curator = make_user("pathologist", username="pathologist-user")
    version = _built(world, curator, budget=100_000)
    assert version.row_count >= 300, version.row_count
    reference = exports.export_run(
        exports.export_start(actor=curator, version=version, shard_size=20).pk
    )
    assert reference.status == "succeeded", reference.error

    log = tmp_path / "worker.log"
    env = worker_env(settings.DATA_ROOT)
    with worker(settings.DATA_ROOT, log, env) as first:
        job = exports.export_start(
            actor=curator, version=version, shard_size=20, enqueue=enqueue_export
        )
        folder = settings.DATA_ROOT / job.folder

        def midway():
            row = ExportJob.objects.get(pk=job.pk)
            assert row.status in ("queued", "running"), (row.status, row.error)
            return len(list(folder.glob("shard-*.done"))) >= 2 and row

        wait_until(midway, 120, "two shards of the export were finished")
        assert first.kill_if(midway), "the job finished before the worker was stopped"
    row = ExportJob.objects.get(pk=job.pk)
    assert row.status == "running" and row.progress_done < row.progress_total, (
        row.progress_done,
        row.progress_total,
    )
    # No partial shard visible: each listed shard is a whole tar (the tar is renamed into
    # place when complete, its .done record after it).
    kept, recorded = {}, set()
    for path in visible_files(folder):
        _readable(path)
        if path.suffix == ".tar":
            kept[path.name] = path.stat().st_mtime_ns
        elif path.suffix == ".done":
            recorded.add(path.name.replace(".done", ".tar"))
    assert kept and all(p.name.startswith(".") for p in hidden_files(folder))
    shown = wait_until(
        lambda: (
            (r := api_as("viewer").get(f"/api/exports/{job.pk}/").json())["status"] == "interrupted"
            and r
        ),
        30,
        "the export shows as interrupted",
    )
    assert "heartbeat" in shown["message"]
    assert {s["name"] for s in shown["shards"]} == set(kept)

    # The broker redelivers the unacknowledged task to a new worker; it continues.
    assert expire_unacked(settings.CELERY_BROKER_URL, since) == 1
    with worker(settings.DATA_ROOT, log, env):
        done = wait_until(
            lambda: (
                (r := ExportJob.objects.get(pk=job.pk)).status
                not in ("queued", "running", "interrupted")
                and r
            ),
            120,
            "the redelivered export finished",
        )
    assert done.status == "succeeded", (done.error, log.read_text()[-3000:])
    assert log.read_text().count("datasets.export[") >= 2
    # Shards finished before the kill were kept (a .done record matches), the rest written;
    # the shards hold what the uninterrupted export's hold.
    for name, mtime in kept.items():
        if name in recorded:  # a shard without its .done record is written again
            assert (folder / name).stat().st_mtime_ns == mtime, name
    assert recorded
    assert _shard_digest(folder) == _shard_digest(settings.DATA_ROOT / reference.folder)
    assert done.report["tiles_written"] == reference.report["tiles_written"] == version.row_count
    assert not hidden_files(folder)  # the killed shard's temporary was removed


def test_a_build_killed_mid_way_shows_failed_and_builds_again_identically(
    world, make_user, api_as, settings, tmp_path
):
    from webapp.datasets.models import DatasetVersion
    from webapp.datasets.services import builds
    from webapp.datasets.tasks import enqueue_build

    curator = make_user("pathologist", username="pathologist-user")
    reference = _built(world, curator, "reference", budget=100_000)

    log = tmp_path / "worker.log"
    env = worker_env(settings.DATA_ROOT)
    with worker(settings.DATA_ROOT, log, env) as first:
        # A build of the demo world takes a third of a second: the worker is frozen
        # (SIGSTOP) when it shows progress, and killed only if it is still building then;
        # a build that won the race is followed by another one.
        for attempt in range(5):
            version = _version(world, curator, f"killed {attempt}", budget=100_000)
            builds.version_build_start(actor=curator, version=version, enqueue=enqueue_build)

            def progressed(pk=version.pk):
                row = DatasetVersion.objects.get(pk=pk)
                return (row.progress_done > 0 or row.status != "building") and row

            def building(pk=version.pk):
                row = DatasetVersion.objects.get(pk=pk)
                return row.status == "building" and row.progress_done > 0

            wait_until(progressed, 120, "the build made progress", every=0.01)
            if first.kill_if(building):
                break
        else:
            raise AssertionError("every build finished before the worker could be stopped")
    folder = settings.DATA_ROOT / version.folder
    row = DatasetVersion.objects.get(pk=version.pk)
    assert row.status == "building" and not row.checksum
    for path in visible_files(folder):
        _readable(path)
    shown = wait_until(
        lambda: (
            (r := api_as("viewer").get(f"/api/datasets/{version.pk}/").json())["status"] == "failed"
            and r
        ),
        30,
        "the build shows as failed",
    )
    assert "again" in shown["message"], shown

    # Built again on a new worker: byte for byte the manifest of the uninterrupted build.
    with worker(settings.DATA_ROOT, log, env):
        builds.version_build_start(actor=curator, version=row, enqueue=enqueue_build)
        done = wait_until(
            lambda: (
                (r := DatasetVersion.objects.get(pk=version.pk)).status not in ("draft", "building")
                and r
            ),
            120,
            "the second build finished",
        )
    assert done.status == "built", (done.error, log.read_text()[-3000:])
    assert done.checksum == reference.checksum and done.row_count == reference.row_count
    for name in ("manifest.parquet", "manifest.csv", "manifest.jsonl"):
        assert sha256(folder / name) == sha256(settings.DATA_ROOT / reference.folder / name)
    assert not hidden_files(folder)  # the killed attempt's temporary was removed


# --- training runs --------------------------------------------------------------------------

TRAIN = {"total_steps": 8, "checkpoint_every": 2, "batch_size": 4}


def _losses(run_id) -> dict[int, float]:
    from webapp.training.models import TrainingMetric

    return {
        m.step: m.values["loss"]
        for m in TrainingMetric.objects.filter(run_id=run_id, kind="step").order_by("step")
    }


def test_a_training_run_killed_mid_way_shows_interrupted_and_resumes_the_same_curve(
    world, make_user, api_as, settings, tmp_path
):
    from webapp.training.models import TrainingMetric, TrainingRun
    from webapp.training.services import runs
    from webapp.training.services.execution import run_execute

    curator = make_user("pathologist", username="training-curator")
    version = _built(world, curator, "training", budget=64)
    admin_user = make_user("admin", username="admin-user")
    admin = api_as("admin")
    extra = {"TRAINING_POLL_S": "0.2", "TRAINING_DATA_WORKERS": "0"}
    settings.TRAINING_POLL_S, settings.TRAINING_DATA_WORKERS = 0.2, 0

    # The uninterrupted run, in-process (the same trainer subprocess): the reference.
    reference = runs.run_launch(
        actor=admin_user, name="ref", dataset_version=version, preset="cpu_smoke", overrides=TRAIN
    )
    reference = run_execute(reference.pk)
    assert reference.status == "succeeded", reference.error
    expected = _losses(reference.pk)
    assert sorted(expected) == list(range(1, TRAIN["total_steps"] + 1))

    log = tmp_path / "worker.log"
    env = worker_env(settings.DATA_ROOT, **extra)
    with worker(settings.DATA_ROOT, log, env) as first:
        created = admin.post(
            "/api/training/runs/",
            {"name": "killed", "dataset_version": version.pk, "preset": "cpu_smoke",
             "overrides": TRAIN},
            format="json",
        )  # fmt: skip
        assert created.status_code == 201, created.json()
        pk = created.json()["id"]

        def midway():
            run = TrainingRun.objects.get(pk=pk)
            assert run.status in ("queued", "running"), (run.status, run.error)
            return run.checkpoint_step and run.step > run.checkpoint_step and run

        wait_until(midway, 180, "the run passed a checkpoint")
        # The worker's main process and pool children die; the trainer (their child) is
        # not killed by the test: it must die with its parent (PR_SET_PDEATHSIG).
        trainers = [p for p in children_of(first.process.pid) if _is_trainer(p)]
        assert trainers, "no trainer process found"
        first.kill(spare=trainers)
        wait_until(lambda: not any(_alive(p) for p in trainers), 10, "the trainer died")
    killed = TrainingRun.objects.get(pk=pk)
    assert killed.status == "running" and killed.step < TRAIN["total_steps"]
    folder = settings.DATA_ROOT / killed.folder if killed.folder else None
    shown = wait_until(
        lambda: (
            (r := admin.get(f"/api/training/runs/{pk}/").json())["status"] == "interrupted" and r
        ),
        30,
        "the run shows as interrupted",
    )
    assert shown["can_resume"] and shown["checkpoint_step"] >= TRAIN["checkpoint_every"], shown
    if folder:
        for path in visible_files(folder):
            if path.suffix in (".json", ".npz", ".parquet"):
                _readable(path)

    with worker(settings.DATA_ROOT, log, env):
        assert admin.post(f"/api/training/runs/{pk}/resume/").status_code == 202
        done = wait_until(
            lambda: (
                (r := TrainingRun.objects.get(pk=pk)).status
                not in ("queued", "running", "interrupted")
                and r
            ),
            180,
            "the resumed run finished",
        )
    assert done.status == "succeeded", (done.error, log.read_text()[-3000:])
    assert done.step == TRAIN["total_steps"] and done.attempt == killed.attempt + 1
    # Every step logged once, and the curve is the uninterrupted run's, number for number.
    assert TrainingMetric.objects.filter(run_id=pk, kind="step").count() == TRAIN["total_steps"]
    assert _losses(pk) == pytest.approx(expected, rel=1e-6)


def _is_trainer(pid: int) -> bool:
    try:
        return b"trainer" in open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")[2:4][0]
    except (OSError, IndexError):
        return False


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


# --- PostgreSQL and Redis restarts under a running worker -----------------------------------

DRIVER = r"""
import json, os, sys
import django
django.setup()
from django.db import close_old_connections, connection
from webapp.slides.services import registration, roots
from webapp.tiling import services as tiling
from webapp.tiling.models import TilingConfig
from webapp.tiling.tasks import enqueue_run

for line in sys.stdin:
    command, _, arg = line.strip().partition(" ")
    connection.close()  # a fresh connection: the server may have restarted since
    if command == "setup":
        root = roots.root_create(name="archive", path=arg)
        registration.scan_run_inline(scan=registration.scan_start(root=root))
        answer = root.slides.count()
    elif command == "run":  # a configuration named by its tile size and µm/px, then a run
        size, mpp = arg.split("@")
        config = tiling.config_create(
            name=arg,
            params={"tile_size": int(size), "target_mpp": float(mpp), "min_tissue_fraction": 0.5},
        )
        answer = tiling.run_start(config=config, untiled=True, enqueue=enqueue_run).pk
    elif command == "scan":  # a new root over the folder, scanned on the worker
        from webapp.slides.tasks import enqueue_scan

        root = roots.root_create(name=arg.rsplit("/", 1)[1], path=arg)
        answer = registration.scan_start(root=root, enqueue=enqueue_scan).pk
    print(json.dumps(answer), flush=True)
"""


class Driver:
    """A long-lived process of the app (as a web process is) that enqueues work."""

    def __init__(self, env, log):
        import subprocess
        import sys

        from tests.live_services import REPO

        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log.open("a"),
            text=True,
        )

    def ask(self, line: str):
        import json

        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        answer = self.process.stdout.readline()
        assert answer, "the driver died (see driver.log)"
        return json.loads(answer)

    def close(self):
        self.process.stdin.close()
        self.process.wait(30)


def test_postgres_and_redis_restart_under_a_running_worker(tmp_path, slide_root_dir):
    import shutil
    import subprocess
    import sys

    from tests.fault_injection import PrivatePostgres, PrivateRedis
    from tests.live_services import REPO

    pg = PrivatePostgres()
    broker = PrivateRedis(tmp_path / "redis")
    broker.start()
    try:
        env = {
            **worker_env(tmp_path / "data"),
            "DATABASE_URL": pg.create_database("faults"),
            "DB_CONN_MAX_AGE": "60",  # the production default: connections are reused
            **broker.env(),
            "SCAN_CHUNK_SIZE": "1",
        }
        migrated = subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert migrated.returncode == 0, migrated.stderr[-3000:]
        archive = tmp_path / "copies"
        for copy in range(3):
            shutil.copytree(slide_root_dir, archive / f"copy_{copy}")
        driver = Driver(env, tmp_path / "driver.log")
        slides = driver.ask(f"setup {slide_root_dir}")
        assert slides >= 3

        def run_row(pk):
            rows = pg.query(
                "faults",
                "SELECT status, total, done, failed, skipped, finished_at IS NOT NULL"
                " FROM tiling_tilingrun WHERE id = %s",
                pk,
            )
            return rows[0]

        def busy(pk):
            return pg.query(
                "faults",
                "SELECT count(*) FROM tiling_slidetiling WHERE run_id = %s AND status = 'running'",
                pk,
            )[0][0]

        def started(pk):
            return pg.query(
                "faults",
                "SELECT count(*) FROM tiling_slidetiling WHERE run_id = %s"
                " AND (tiles_done > 0 OR status = 'done')",
                pk,
            )[0][0]

        def scanned(pk):
            return pg.query(
                "faults",
                "SELECT status, processed, total, registered, unchanged, failed"
                " FROM slides_scanjob WHERE id = %s",
                pk,
            )[0]

        def finished(pk, seconds=120):
            return wait_until(lambda: (r := run_row(pk))[5] and r, seconds, f"run {pk} finished")

        log = tmp_path / "worker.log"
        with worker(tmp_path / "data", log, env) as live:
            pid = live.process.pid
            # PostgreSQL restarts while slides are being registered and tiled.
            scan = driver.ask(f"scan {archive}")
            before = driver.ask("run 32@0.5")
            wait_until(lambda: started(before) and scanned(scan)[1], 120, "work began")
            pg.restart()
            after = driver.ask("run 64@1.0")
            for pk in (before, after):
                status, total, done, failed, skipped, _ = finished(pk)
                assert (status, done, failed, skipped) == ("succeeded", total, 0, 0), (
                    pk, run_row(pk), log.read_text()[-4000:]
                )  # fmt: skip
            # Every slide of the scan registered (a database outage is not a bad slide).
            status, processed, total, registered, unchanged, failed = wait_until(
                lambda: (r := scanned(scan))[0] not in ("queued", "running") and r,
                120,
                "the scan finished",
            )
            assert (status, processed, failed) == ("succeeded", total, 0), scanned(scan)
            assert total == registered + unchanged == 3 * slides
            assert pg.query(
                "faults",
                "SELECT status, count(*) FROM slides_slide s JOIN slides_slideroot r"
                " ON s.root_id = r.id WHERE r.name = 'copies' GROUP BY status",
            ) == [("registered", 3 * slides)]

            # Redis (broker, results, cache) is killed and comes back with its data.
            before = driver.ask("run 32@0.6")

            # Killed while both pool processes tile (the worker fetches nothing then: a
            # message taken off the queue but not yet recorded as unacknowledged is lost
            # with the connection, see the docs).
            # The worker is frozen to check that, so the state checked is the state cut.
            def saturated():
                if busy(before) != 2:
                    return False
                live.freeze()
                if busy(before) == 2:
                    return True
                live.thaw()
                return False

            wait_until(saturated, 120, "two slides being tiled", every=0.02)
            broker.kill()
            live.thaw()
            time.sleep(1)
            broker.start()
            after = driver.ask("run 64@0.9")
            for pk in (before, after):
                status, total, done, failed, skipped, _ = finished(pk)
                assert (status, done, failed, skipped) == ("succeeded", total, 0, 0), (
                    pk, run_row(pk), log.read_text()[-4000:]
                )  # fmt: skip
            assert live.process.poll() is None and live.process.pid == pid  # the same worker
        # Deliveries the worker could not acknowledge across the broker's restart come back
        # after the visibility timeout: make it pass, let a new worker take them.
        broker_url = broker.env()["CELERY_BROKER_URL"].replace("redis+socket://", "unix://")
        left = expire_unacked(broker_url)
        with worker(tmp_path / "data", log, env):
            time.sleep(5)
        for pk in (before, after):
            status, total, done, failed, skipped, _ = run_row(pk)
            assert (status, done, failed, skipped) == ("succeeded", total, 0, 0), (
                pk, left, run_row(pk), log.read_text()[-4000:]
            )  # fmt: skip
        driver.close()
    finally:
        broker.stop()
        pg.stop()
