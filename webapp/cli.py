"""The `rudolfv` command: run the whole platform locally, run a command beside the embedded
services, and manage slide roots.

Django is set up lazily, after the embedded services have put their URLs in the environment.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from trainer.cli import build_command
from webapp import devservices
from webapp.celery import QUEUES

DEMO_USERS = [
    ("admin", "rudolfv-admin", "admin", "Demo Admin"),
    ("pathologist", "rudolfv-pathologist", "pathologist", "Demo Pathologist"),
]


def _django(*, need_broker: bool = False) -> None:
    devservices.local_environment(need_broker=need_broker)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    import django

    django.setup()


@click.group()
def main() -> None:
    """RudolfV: curate whole-slide images and pretrain pathology foundation models."""


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("command", nargs=-1, type=click.UNPROCESSED, required=True)
def services(command: tuple[str, ...]) -> None:
    """Run COMMAND with PostgreSQL and Redis available (embedded unless DATABASE_URL and
    CELERY_BROKER_URL are set), then stop what was started. Used by the test command."""
    env = devservices.local_environment()
    for name in ("DATABASE_URL", "CELERY_BROKER_URL"):
        click.echo(f"{name}={os.environ[name]}{'  (embedded)' if name in env else ''}", err=True)
    code = subprocess.call(list(command))
    sys.exit(code)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--web-workers", default=2, show_default=True, type=int)
@click.option("--worker/--no-worker", default=True, help="Start a Celery worker (all queues).")
@click.option("--demo/--no-demo", default=True, help="Demo users and generated demo slides.")
@click.option(
    "--slides",
    "slide_dirs",
    multiple=True,
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder of slides to register (repeatable).",
)
def run(host, port, web_workers, worker, demo, slide_dirs) -> None:
    """Migrate, load the demo, and serve the web app with a Celery worker until Ctrl-C."""
    os.environ.setdefault("DEBUG", "1")
    _django(need_broker=True)
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    if demo:
        _load_demo()
    for folder in slide_dirs:
        _add_and_scan(folder, background=worker)

    children = [_spawn_web(host, port, web_workers)]
    if worker:
        children.append(_spawn_worker())
    url = f"http://{host}:{port}/"
    click.secho(f"\nRudolfV is running at {url}", fg="green", bold=True)
    if demo:
        for username, password, role, _ in DEMO_USERS:
            click.echo(f"  {role:<12} user {username!r:<15} password {password!r}")
    click.echo("Press Ctrl-C to stop.\n")
    _supervise(children)


def _load_demo() -> None:
    from curation.synthetic_slides import make_demo_slides
    from webapp.accounts.services import user_ensure

    for username, password, role, full_name in DEMO_USERS:
        user_ensure(username=username, password=password, role=role, full_name=full_name)
    folder = devservices.home() / "demo-slides"
    click.echo(f"Demo slides in {folder} (generated once)…")
    make_demo_slides(folder)
    _add_and_scan(folder, name="Demo slides", background=False)
    from webapp.tiling.models import TilingConfig
    from webapp.tiling.services import config_create

    if not TilingConfig.objects.exists():
        # The paper's recipe, so the Tiling page has something to launch at once.
        config_create(name="RudolfV paper: 256 px at 0.5 µm/px", params={})


def _add_and_scan(folder: Path, *, name: str | None = None, background: bool) -> None:
    from webapp.slides.services import registration, roots
    from webapp.slides.tasks import enqueue_scan

    root = roots.root_for_path(str(folder)) or roots.root_create(
        name=name or folder.resolve().name, path=str(folder)
    )
    if background:
        registration.scan_start(root=root, enqueue=enqueue_scan)
        click.echo(f"Scanning {root.path} in the background (see Slide roots in the app).")
    else:
        scan = registration.scan_run_inline(scan=registration.scan_start(root=root))
        click.echo(f"{root.name}: {scan.message}")


def web_command(host: str, port: int, workers: int) -> list[str]:
    """gunicorn serving the app (shared with the tests' live server)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "webapp.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--threads",
        "8",
        "--graceful-timeout",
        "5",
    ]


def worker_command(hostname: str) -> list[str]:
    """A Celery worker on every queue (shared with the tests' live worker)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "webapp",
        "worker",
        "-Q",
        ",".join(QUEUES),
        "--concurrency",
        "2",
        "--loglevel",
        "INFO",
        "--hostname",
        hostname,
    ]


def _spawn_web(host: str, port: int, workers: int) -> subprocess.Popen:
    return subprocess.Popen([*web_command(host, port, workers), "--access-logfile", "-"])


def _spawn_worker() -> subprocess.Popen:
    return subprocess.Popen(worker_command("local@%h"))


def _supervise(children: list[subprocess.Popen]) -> None:
    """Wait until Ctrl-C (or a child dies), then stop every child cleanly."""
    stopping = False

    def stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping and all(c.poll() is None for c in children):
        time.sleep(0.5)
    click.echo("\nStopping…")
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(20)
        except subprocess.TimeoutExpired:
            child.kill()
    click.echo("Stopped.")


@main.group()
def slides() -> None:
    """Slide roots and scans."""


@slides.command("add-root")
@click.argument("path", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--name", help="A name for the root (default: the folder's name).")
def add_root(path: Path, name: str | None) -> None:
    """Allow the folder PATH as a slide root."""
    _django()
    from webapp.core.errors import ServiceError
    from webapp.slides.services.roots import root_create

    try:
        root = root_create(name=name or path.resolve().name, path=str(path))
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from exc
    click.echo(f"Added slide root {root.name!r} ({root.path}), id {root.pk}.")


@slides.command("scan")
@click.argument("root", required=False)
@click.option("--background", is_flag=True, help="Enqueue on the io queue instead of here.")
def scan(root: str | None, background: bool) -> None:
    """Scan ROOT (a name, id or path; default: every root), with a progress bar."""
    _django(need_broker=background)
    from tqdm import tqdm

    from webapp.core.errors import ServiceError
    from webapp.slides.models import SlideRoot
    from webapp.slides.services import registration
    from webapp.slides.tasks import enqueue_scan

    roots = SlideRoot.objects.order_by("name")
    if root:
        resolved = str(Path(root).resolve())
        roots = (
            roots.filter(pk=int(root))
            if root.isdigit()
            else (roots.filter(name=root) | roots.filter(path=resolved))
        )
    if not roots.exists():
        raise click.ClickException(
            f"No slide root matches {root!r}."
            if root
            else "No slide roots yet: add one with `rudolfv slides add-root`."
        )
    for slide_root in roots:
        try:
            job = registration.scan_start(
                root=slide_root, enqueue=enqueue_scan if background else None
            )
        except ServiceError as exc:
            raise click.ClickException(exc.detail) from exc
        if background:
            click.echo(f"{slide_root.name}: scan {job.pk} enqueued.")
            continue
        with tqdm(desc=slide_root.name, unit="slide") as bar:

            def progress(current, bar=bar):
                bar.total = current.total
                bar.n = current.processed
                bar.refresh()

            try:
                done = registration.scan_run_inline(scan=job, on_progress=progress)
            except ServiceError as exc:
                raise click.ClickException(exc.detail) from exc
            progress(done)
        click.echo(f"{slide_root.name}: {done.message}")


@main.command()
@click.option("--config", "config_name", required=True, help="A tiling configuration's name.")
@click.option("--group", help="A slide group's name (or id).")
@click.option("--untiled", is_flag=True, help="Every registered slide not yet tiled.")
@click.option("--workers", default=1, show_default=True, help="Processes per slide.")
@click.argument("slides", nargs=-1)
def tile(config_name: str, group: str | None, untiled: bool, workers: int, slides) -> None:
    """Tile SLIDES (ids or relative paths), a --group or all --untiled slides, here, with a
    progress bar; no web server or worker needed."""
    _django()
    from tqdm import tqdm

    from webapp.core.errors import ServiceError
    from webapp.slides.models import Slide
    from webapp.tagging.models import SlideGroup
    from webapp.tiling import services
    from webapp.tiling.models import TilingConfig

    config = TilingConfig.objects.filter(name=config_name).first()
    if config is None:
        names = ", ".join(TilingConfig.objects.values_list("name", flat=True)) or "none yet"
        raise click.ClickException(f"No tiling configuration {config_name!r} ({names}).")
    chosen_group = None
    if group:
        chosen_group = SlideGroup.objects.filter(
            **({"pk": int(group)} if group.isdigit() else {"name": group})
        ).first()
        if chosen_group is None:
            raise click.ClickException(f"No slide group {group!r}.")
    ids = [
        int(s)
        if s.isdigit()
        else Slide.objects.filter(relative_path=s).values_list("pk", flat=True).first()
        for s in slides
    ]
    if None in ids:
        raise click.ClickException(
            "Unknown slide: " + ", ".join(s for s, i in zip(slides, ids, strict=True) if i is None)
        )
    try:
        run = services.run_start(
            config=config, slide_ids=ids or None, group=chosen_group, untiled=untiled
        )
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from exc
    with tqdm(total=run.total, desc=f"{config.name}", unit="slide") as bar:
        for tiling_id in list(services.run_tilings(run)):
            done = services.slide_tile(tiling_id=tiling_id, workers=workers)
            bar.update(1)
            if done.status == "failed":
                tqdm.write(f"failed: {done.slide.relative_path}: {done.error}")
    run.refresh_from_db()
    click.echo(
        f"{run.done} tiled, {run.skipped} already tiled, {run.failed} failed; "
        f"{run.tile_count} tiles."
    )


def _dataset_manifest(version_id: str) -> tuple[Path, str]:
    """A built dataset version's manifest (path, SHA-256), read from the database."""
    _django()
    from webapp.datasets.models import DatasetVersion, VersionStatus
    from webapp.datasets.services.builds import manifest_path

    version = DatasetVersion.objects.filter(pk=int(version_id) if version_id.isdigit() else -1)
    version = version.first()
    if version is None:
        raise click.BadParameter(f"no dataset version {version_id!r}", param_hint="--dataset")
    if version.status != VersionStatus.BUILT:
        raise click.BadParameter(
            f"dataset version {version.pk} is {version.status}, not built", param_hint="--dataset"
        )
    return manifest_path(version, "parquet"), version.checksum


@main.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option(
    "--files/--no-files", default=True, help="Copy DATA_ROOT (off: snapshot it yourself)."
)
def backup(out: Path, files: bool) -> None:
    """Back up the database (pg_dump) and DATA_ROOT into the new folder OUT."""
    _django()
    from django.conf import settings

    from webapp.core.backup import BackupError
    from webapp.core.backup import backup as run_backup

    try:
        meta = run_backup(os.environ["DATABASE_URL"], Path(settings.DATA_ROOT), out, files=files)
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Backed up {sum(meta['counts'].values())} rows and DATA_ROOT into {out}.")


@main.command()
@click.argument("backup_dir", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore(backup_dir: Path) -> None:
    """Restore BACKUP_DIR into an empty database and an empty DATA_ROOT, then check that every
    table has its rows back and every dataset manifest its SHA-256."""
    _django()
    from django.conf import settings

    from webapp.core.backup import BackupError
    from webapp.core.backup import restore as run_restore

    try:
        result = run_restore(backup_dir, os.environ["DATABASE_URL"], Path(settings.DATA_ROOT))
    except BackupError as error:
        raise click.ClickException(str(error)) from error
    click.echo(
        f"Restored {sum(result.counts.values())} rows; "
        f"{len(result.manifests_ok)} dataset manifests match their checksums."
    )
    for version_id, reason in result.manifests_bad:
        click.secho(f"dataset version {version_id}: {reason}", fg="red", err=True)
    for table, (want, got) in result.count_differences.items():
        click.secho(f"{table}: {got} rows, the backup recorded {want}", fg="red", err=True)
    if not result.ok:
        sys.exit(1)


# `rudolfv train`: the trainer's own command (`python -m trainer`), plus --dataset VERSION.
main.add_command(build_command(resolve_dataset=_dataset_manifest, name="train"))


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def manage(args: tuple[str, ...]) -> None:
    """Django's manage.py, with the same environment as `rudolfv run`."""
    _django(need_broker=True)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["rudolfv manage", *args])


if __name__ == "__main__":
    main()
