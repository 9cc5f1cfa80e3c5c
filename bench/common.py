"""Pieces both benchmarks share: bench databases, loopback servers, a load generator, output.

Everything here talks to 127.0.0.1 (or to the Unix sockets of the embedded services) only.
"""

import ctypes
import hashlib
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import requests

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "bench" / "out"
# Generated slides and (through RUDOLFV_HOME, set by scripts/bench) the bench's own embedded
# PostgreSQL and Redis: a test run or dev server beside the bench must not share them.
BENCH_DIR = Path(os.environ.get("BENCH_DIR", REPO / ".data" / "bench"))
LOOPBACK = "127.0.0.1"
# The same process model for every server under test, as `rudolfv run` starts the web app.
GUNICORN_WORKERS = 2
GUNICORN_THREADS = 8


# --- output ----------------------------------------------------------------------------------


def machine() -> dict:
    """What the figures were measured on; they mean little without it."""
    model = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        # Other work on the machine skews every figure: say how busy it was.
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def warn_if_busy() -> None:
    """Other work on a 2-core machine moves every figure: say so before measuring."""
    load = os.getloadavg()[0]
    if load > 0.5 * (os.cpu_count() or 1):
        log(f"warning: load average {load:.1f} before the run; figures will be noisy")


def write_json(name: str, data: dict) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    print(f"wrote {path.relative_to(REPO)}", file=sys.stderr)
    return path


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- databases and Redis -----------------------------------------------------------------------


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` on the same server (TCP or Unix-socket URLs)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def schema_key() -> str:
    """A digest of every migration file: a bench database built from other migrations (one
    edited in place included) is rebuilt rather than measured with a stale schema."""
    digest = hashlib.sha256()
    for path in sorted(REPO.glob("webapp/*/migrations/*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode() + path.read_bytes())
    return digest.hexdigest()[:16]


def ensure_database(url: str, name: str) -> str:
    """Database `name` beside the one `url` names, (re)created unless it was built from the
    current migrations (recorded as the database's comment); return its URL."""
    import psycopg
    from psycopg import sql

    key = f"rudolfv bench, migrations {schema_key()}"
    ident = sql.Identifier(name)
    with psycopg.connect(with_database(url, "postgres"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = %s",
            [name],
        ).fetchone()
        if row and row[0] != key:
            log(f"database {name} was built from other migrations: recreating it")
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(ident))
        if not row or row[0] != key:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(ident))
            conn.execute(sql.SQL("COMMENT ON DATABASE {} IS {}").format(ident, sql.Literal(key)))
    return with_database(url, name)


def with_redis_db(url: str, db: int) -> str:
    """A Redis URL for logical database `db` (unix://…?db=N and redis://host:port/N forms)."""
    parts = urlsplit(url)
    if parts.scheme == "unix":
        query = dict(parse_qsl(parts.query))
        query["db"] = str(db)
        # Built by hand: urlunsplit would drop the empty authority ("unix:/path").
        return f"unix://{parts.netloc}{parts.path}?{urlencode(query)}"
    return urlunsplit(parts._replace(path=f"/{db}"))


def setup_django(database_url: str, **extra_env: str) -> None:
    """Point this process at the bench database (not the development one) and set Django up."""
    os.environ["DATABASE_URL"] = database_url
    os.environ.update(extra_env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "webapp.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def require_services() -> None:
    for name in ("DATABASE_URL", "CACHE_URL", "SECRET_KEY"):
        if not os.environ.get(name):
            sys.exit(f"{name} is not set: run this through `scripts/bench` (rudolfv services).")


def bench_user_token(base_url: str, username: str = "bench") -> str:
    """A viewer account and its API token, obtained the way a tool would (POST /api/auth/token/)."""
    from webapp.accounts.services import user_ensure

    password = "bench-password-not-secret"
    user_ensure(username=username, password=password, role="pathologist", full_name="Bench")
    reply = requests.post(
        f"{base_url}/api/auth/token/", json={"username": username, "password": password}, timeout=30
    )
    reply.raise_for_status()
    return reply.json()["token"]


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def _wait_ready(url: str, proc: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"The server exited ({proc.returncode}); see {log_path}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        # Refused before the bind, or accepted by the socket while a worker still imports
        # the app (seconds on a busy machine): not ready yet.
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"The server did not answer {url} within {timeout:.0f} s; see {log_path}")


def _die_with_parent() -> None:
    """In the server's child process: SIGTERM it when the bench dies, even by SIGKILL (as when
    `rudolfv services` kills the bench on Ctrl-C), so no server outlives the bench (Linux)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _stop(proc: subprocess.Popen) -> None:
    """SIGTERM the gunicorn master (it stops its workers); SIGKILL its group if it hangs."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            pass
    try:
        # Our own session (start_new_session): only processes this bench started are in it.
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


@contextmanager
def gunicorn(app: str, *, name: str, env: dict[str, str], ready_path: str) -> Iterator[str]:
    """Serve the WSGI `app` on a free loopback port with the shared worker settings; yield its
    base URL and stop every process of it on the way out, also on errors and Ctrl-C."""
    port = free_port()
    log_path = OUT / "logs" / f"{name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"{LOOPBACK}:{port}",
        "--workers",
        str(GUNICORN_WORKERS),
        "--threads",
        str(GUNICORN_THREADS),
        "--graceful-timeout",
        "5",
        # No access log for any variant: writing it costs the same everywhere and is noise here.
        "--log-level",
        "warning",
    ]
    with log_path.open("ab") as log_file:
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            env={**os.environ, **env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
    try:
        base = f"http://{LOOPBACK}:{port}"
        _wait_ready(base + ready_path, proc, log_path)
        yield base
    finally:
        _stop(proc)


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so `finally` blocks stop the servers."""

    def handler(*_):
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, handler)


# --- load generator ----------------------------------------------------------------------------


@dataclass
class LoadResult:
    requests: int
    concurrency: int
    seconds: float
    per_second: float
    p50_ms: float
    p95_ms: float
    mean_ms: float
    bytes: int
    statuses: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) by the nearest-rank method: a value that was actually observed."""
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))
    return ordered[index]


def run_load(
    urls: Sequence[str],
    *,
    concurrency: int,
    headers: dict[str, str] | None = None,
    per_url_headers: Callable[[str], dict[str, str]] | None = None,
    on_response: Callable[[str, requests.Response], None] | None = None,
) -> LoadResult:
    """GET every URL once, in order, from `concurrency` threads with a keep-alive session each.

    A fixed list rather than a duration: "cold" must mean the first request of each tile.
    """
    lock = threading.Lock()
    position = 0
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    total_bytes = 0

    def next_url() -> str | None:
        nonlocal position
        with lock:
            if position >= len(urls):
                return None
            position += 1
            return urls[position - 1]

    def worker() -> None:
        nonlocal total_bytes
        with requests.Session() as session:
            session.headers.update(headers or {})
            while (url := next_url()) is not None:
                extra = per_url_headers(url) if per_url_headers else None
                start = time.perf_counter()
                reply = session.get(url, headers=extra, timeout=120)
                elapsed = time.perf_counter() - start
                if on_response:
                    on_response(url, reply)
                with lock:
                    latencies.append(elapsed)
                    key = str(reply.status_code)
                    statuses[key] = statuses.get(key, 0) + 1
                    total_bytes += len(reply.content)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    return LoadResult(
        requests=len(latencies),
        concurrency=concurrency,
        seconds=round(seconds, 3),
        per_second=round(len(latencies) / seconds, 1),
        p50_ms=round(percentile(latencies, 0.50) * 1000, 2),
        p95_ms=round(percentile(latencies, 0.95) * 1000, 2),
        mean_ms=round(statistics.fmean(latencies) * 1000, 2),
        bytes=total_bytes,
        statuses=statuses,
    )


def check_statuses(result: LoadResult, expected: int, what: str) -> None:
    """Figures over failed requests would be meaningless: stop loudly instead."""
    wrong = {code: n for code, n in result.statuses.items() if code != str(expected)}
    if wrong:
        raise RuntimeError(f"{what}: unexpected HTTP statuses {wrong} (expected {expected})")
