"""Backup and restore: a pg_dump of the database plus a copy of DATA_ROOT, and a check that a
restored instance has everything back (row counts, dataset manifests' SHA-256).

Order matters for consistency without stopping the app: the database is dumped first (one
snapshot), then the files are copied. Every file the platform writes is renamed into place
before its row points at it, so each file a dumped row refers to already existed when the
copy started; files newer than the dump are harmless extras.

The slides themselves are not copied: slide roots are the archive, backed up where it lives.
At archive scale DATA_ROOT (tile stores, embeddings) is terabytes: snapshot its filesystem
instead and pass ``files=False``; the dump and `verify` work the same.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

DUMP = "database.dump"
FILES = "data_root"
META = "backup.json"
PROJECT_APPS = ("accounts", "slides", "tagging", "audit", "tiling", "clusters", "datasets",
                "training")  # fmt: skip


class BackupError(Exception):
    """A backup or restore cannot go on; the message says why."""


def _major(version_text: str) -> int:
    """15 from "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)"."""
    match = re.search(r"PostgreSQL\)\s*(\d+)", version_text)
    return int(match.group(1)) if match else 0


def _server_major(url: str) -> int:
    with psycopg.connect(url, connect_timeout=10) as conn:
        return conn.info.server_version // 10000


def pg_tool(name: str, server_major: int) -> str:
    """Of the system's and the embedded server's ``name`` (pg_dump / pg_restore), the oldest
    that is at least the server's major version: an older pg_dump refuses a newer server,
    and a newer one may write settings an older server does not know."""
    candidates = []
    system = shutil.which(name)
    if system:
        candidates.append(system)
    try:
        import pgserver

        embedded = Path(pgserver.__file__).parent / "pginstall" / "bin" / name
        if embedded.exists():
            candidates.append(str(embedded))
    except ImportError:
        pass
    versions = []
    for path in candidates:
        out = subprocess.run([path, "--version"], capture_output=True, text=True)
        if out.returncode == 0:
            versions.append((_major(out.stdout), path))
    usable = sorted(v for v in versions if v[0] >= server_major)
    if not usable:
        raise BackupError(f"no {name} of version ≥ {server_major} (found {versions or 'none'})")
    return usable[0][1]


def _project_tables(conn) -> list[str]:
    return [
        row[0]
        for row in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"
        )
        if row[0].split("_", 1)[0] in PROJECT_APPS
    ]


def _counts(conn) -> dict[str, int]:
    return {
        t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in _project_tables(conn)
    }


def table_counts(url: str) -> dict[str, int]:
    """Rows per table of the project's apps (Django's own tables are left out)."""
    with psycopg.connect(url) as conn:
        return _counts(conn)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class Verification:
    counts: dict[str, int]
    manifests_ok: list[int] = field(default_factory=list)
    manifests_bad: list[tuple[int, str]] = field(default_factory=list)  # (version id, reason)
    count_differences: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.manifests_bad and not self.count_differences


def verify(url: str, data_root: Path, expected_counts: dict[str, int] | None = None):
    """Every built dataset version's manifest is under ``data_root`` with the SHA-256 its row
    records; with ``expected_counts`` (from the backup), every table has its rows back."""
    result = Verification(counts=table_counts(url))
    with psycopg.connect(url) as conn:
        versions = conn.execute(
            "SELECT id, folder, checksum FROM datasets_datasetversion WHERE status = 'built'"
            " ORDER BY id"
        ).fetchall()
    for version_id, folder, checksum in versions:
        path = Path(data_root) / folder / "manifest.parquet"
        if not path.is_file():
            result.manifests_bad.append((version_id, f"missing: {path}"))
        elif _sha256(path) != checksum:
            result.manifests_bad.append((version_id, f"checksum differs: {path}"))
        else:
            result.manifests_ok.append(version_id)
    for table, count in (expected_counts or {}).items():
        got = result.counts.get(table, 0)
        if got != count:
            result.count_differences[table] = (count, got)
    return result


def backup(url: str, data_root: Path, out: Path, *, files: bool = True) -> dict:
    """Dump the database to ``out/database.dump`` (custom format), then copy ``data_root`` to
    ``out/data_root``; ``out/backup.json`` records when, the row counts and the manifests'
    checksums. ``out`` must not exist yet (a backup never overwrites another)."""
    out = Path(out)
    if out.exists():
        raise BackupError(f"{out} exists: choose a new folder for each backup")
    out.mkdir(parents=True)
    tool = pg_tool("pg_dump", _server_major(url))
    # The counts and the dump read one exported snapshot, so they agree while the app writes.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        counts = _counts(conn)
        dump = subprocess.run(
            [tool, "--format=custom", "--no-owner", f"--snapshot={snapshot}",
             f"--file={out / DUMP}", url],
            capture_output=True, text=True,
        )  # fmt: skip
        conn.execute("COMMIT")
    if dump.returncode != 0:
        raise BackupError(f"pg_dump failed: {dump.stderr.strip()}")
    if files:
        if Path(data_root).is_dir():
            shutil.copytree(data_root, out / FILES, symlinks=True)
        else:
            (out / FILES).mkdir()
    meta = {
        "created_at": datetime.now(UTC).isoformat(),
        "database": DUMP,
        "files": FILES if files else None,
        "counts": counts,
    }
    (out / META).write_text(json.dumps(meta, indent=2))
    return meta


def _is_empty(url: str) -> bool:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
    return row[0] == 0


def restore(backup_dir: Path, url: str, data_root: Path) -> Verification:
    """Load a backup into an empty database and an empty (or absent) DATA_ROOT, then
    `verify` against the counts recorded at backup time."""
    backup_dir = Path(backup_dir)
    meta_path = backup_dir / META
    if not meta_path.is_file() or not (backup_dir / DUMP).is_file():
        raise BackupError(f"{backup_dir} is not a backup (no {META} / {DUMP})")
    meta = json.loads(meta_path.read_text())
    if not _is_empty(url):
        raise BackupError("the target database is not empty: restore into a fresh database")
    data_root = Path(data_root)
    if data_root.exists() and any(data_root.iterdir()):
        raise BackupError(f"DATA_ROOT {data_root} is not empty: restore into a fresh folder")
    loaded = subprocess.run(
        [pg_tool("pg_restore", _server_major(url)), "--no-owner", "--no-privileges",
         "--exit-on-error", f"--dbname={url}", str(backup_dir / DUMP)],
        capture_output=True, text=True,
    )  # fmt: skip
    if loaded.returncode != 0:
        raise BackupError(f"pg_restore failed: {loaded.stderr.strip()}")
    if meta.get("files"):
        shutil.copytree(backup_dir / meta["files"], data_root, symlinks=True, dirs_exist_ok=True)
    return verify(url, data_root, meta.get("counts"))
