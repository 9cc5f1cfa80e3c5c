"""Real processes for integration tests: a Celery worker and a web server (gunicorn), both
on the test database, the test broker and a shared data folder."""

import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import requests
from django.db import connection

from webapp.cli import web_command, worker_command
from webapp.devservices import stop_process

REPO = Path(__file__).resolve().parents[1]


def test_database_url() -> str:
    """A DATABASE_URL for the database pytest-django created (test_…)."""
    s = connection.settings_dict
    host = s["HOST"] or s.get("OPTIONS", {}).get("host", "")
    auth = quote(s["USER"] or "", safe="")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"], safe="")
    port = f":{s['PORT']}" if s.get("PORT") else ""
    return f"postgresql://{auth}@{quote(host, safe='')}{port}/{s['NAME']}"


def process_env(data_root: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(DATABASE_URL=test_database_url(), DATA_ROOT=str(data_root), **extra)
    env["DB_CONN_MAX_AGE"] = "0"  # let pytest-django drop the test database at the end
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def celery_worker(data_root: Path, log: Path, **env: str):
    """A real worker process consuming all queues over the real broker."""
    with log.open("w") as out:
        process = subprocess.Popen(
            [*worker_command(f"test-{os.getpid()}@%h"), "--without-mingle", "--without-gossip"],
            cwd=REPO,
            env=process_env(data_root, **env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_for(lambda: "ready." in log.read_text(), process, log, "Celery worker")
            yield process
        finally:
            stop_process(process, timeout=20)


@contextmanager
def web_server(data_root: Path, log: Path):
    """gunicorn serving the app (API and built frontend) on a free loopback port, with the
    static files collected first, as a deployment does."""
    port = free_port()
    env = process_env(data_root, SECURE_COOKIES="0", STATIC_ROOT=str(data_root / "static"))
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=120,
    )
    with log.open("w") as out:
        process = subprocess.Popen(
            web_command("127.0.0.1", port, 1),
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                return requests.get(f"{url}/api/health/", timeout=2).ok
            except (requests.ConnectionError, requests.Timeout):  # not up, or still starting
                return False

        try:
            _wait_for(up, process, log, "web server")
            yield url
        finally:
            stop_process(process, timeout=20)


def _wait_for(ready, process: subprocess.Popen, log: Path, what: str, seconds: int = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited early:\n{log.read_text()[-3000:]}")
        if ready():
            return
        time.sleep(0.2)
    raise RuntimeError(f"{what} not ready after {seconds} s:\n{log.read_text()[-3000:]}")
