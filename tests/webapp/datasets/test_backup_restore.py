"""Backup and restore (`rudolfv backup` / `rudolfv restore`) of a curated world: slides, tags,
cluster decisions with votes and audit events, a built dataset version. Restored into a fresh
database and a fresh DATA_ROOT, every table has its rows back, the rows are the same, and
the manifest's checksum matches; a damaged backup and a non-empty target are refused."""

import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest

from tests.live_services import REPO, process_env
from tests.live_services import test_database_url as database_url
from webapp.core.backup import table_counts

RUDOLFV = [sys.executable, "-c", "from webapp.cli import main; main()"]


def _rudolfv(*args, data_root: Path, database_url: str | None = None):
    env = process_env(data_root)
    if database_url:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [*RUDOLFV, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture
def fresh_database():
    """`fresh_database()` → the URL of a new empty database on the test server; all are
    dropped afterwards."""
    server = database_url().rsplit("/", 1)[0]
    names = []

    def make() -> str:
        names.append(f"restore_{uuid.uuid4().hex[:10]}")
        with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{names[-1]}"')
        return f"{server}/{names[-1]}"

    yield make
    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _rows(url: str, sql: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql).fetchall()


@pytest.mark.django_db(transaction=True)
def test_backup_restores_everything_into_a_fresh_instance(
    built, ds, curator, fresh_database, tmp_path
):
    from webapp.clusters.models import Cluster
    from webapp.clusters.services.review import Decision, cluster_decide
    from webapp.tagging.models import Category, Term
    from webapp.tagging.services.tags import tags_change

    # its own term: another transactional test may have emptied the vocabulary
    category, _ = Category.objects.get_or_create(
        key="backup-test", defaults={"name": "Backup test", "multi_valued": True}
    )
    term, _ = Term.objects.get_or_create(category=category, name="Kept ✓")
    tags_change(actor=curator, slide_ids=ds.slide_ids[:2], add=[term])
    cluster = Cluster.objects.filter(run_id=ds.run_id, status="unreviewed").first()
    if cluster is None:  # the world decided every cluster: decide one again
        cluster = Cluster.objects.filter(run_id=ds.run_id, status="accepted").first()
    cluster_decide(
        actor=curator,
        cluster=cluster,
        version=cluster.version,
        decision=Decision(status="rejected", reject_reason="artefact", note="pen ✎ über"),
    )
    version = built("backed up")
    source = database_url()
    before = table_counts(source)
    assert before["datasets_datasetversion"] >= 1 and before["clusters_clustervote"] >= 1
    assert before["audit_auditevent"] >= 1 and before["slides_slide"] == len(ds.slide_ids)

    out = tmp_path / "backup"
    made = _rudolfv("backup", str(out), data_root=ds.data_root)
    assert made.returncode == 0, made.stderr
    assert (out / "database.dump").stat().st_size > 0
    assert (out / "data_root" / version.folder / "manifest.parquet").is_file()
    again = _rudolfv("backup", str(out), data_root=ds.data_root)
    assert again.returncode != 0 and "exists" in again.stderr  # never overwrites a backup

    restored_root, target = tmp_path / "restored-files", fresh_database()
    done = _rudolfv("restore", str(out), data_root=restored_root, database_url=target)
    assert done.returncode == 0, done.stderr
    assert "1 dataset manifests match their checksums" in done.stdout
    assert table_counts(target) == before
    for sql in (
        "SELECT id, checksum, row_count, recipe::text FROM datasets_datasetversion ORDER BY id",
        "SELECT id, status, category_id, reject_reason, note, version FROM clusters_cluster"
        " ORDER BY id",
        "SELECT cluster_id, user_id, status, note FROM clusters_clustervote ORDER BY 1, 2",
        "SELECT id, relative_path, fingerprint, status FROM slides_slide ORDER BY id",
        "SELECT id, action, actor_id, after::text FROM audit_auditevent ORDER BY id",
    ):
        assert _rows(target, sql) == _rows(source, sql), sql

    # restoring over an instance that has data is refused, nothing is touched
    refused = _rudolfv("restore", str(out), data_root=tmp_path / "x", database_url=target)
    assert refused.returncode != 0 and "not empty" in refused.stderr
    assert table_counts(target) == before

    # a manifest damaged in the backup is reported and the restore fails
    manifest = out / "data_root" / version.folder / "manifest.parquet"
    manifest.write_bytes(manifest.read_bytes()[:-10] + b"0123456789")
    damaged = _rudolfv(
        "restore", str(out), data_root=tmp_path / "again", database_url=fresh_database()
    )
    assert damaged.returncode == 1
    assert f"dataset version {version.pk}: checksum differs" in damaged.stderr
    not_a_backup = _rudolfv(
        "restore", str(tmp_path), data_root=tmp_path / "other", database_url=fresh_database()
    )
    assert not_a_backup.returncode != 0 and "not a backup" in not_a_backup.stderr
