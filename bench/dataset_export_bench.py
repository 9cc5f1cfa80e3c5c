"""Dataset versions: building a 10M-row manifest, exporting it over HTTP beside a DRF paginated
JSON list of the same rows, and writing WebDataset shards beside raw tile reading.

Build: 1,000 synthetic slides (12,000–24,000 tiles each, 18M tiles) with tile-store files
(x, y, size, mpp, tissue_fraction, sharpness, pen_score) and label files of a k = 20 run (the
cluster_assign schema: cluster int32, distance float32), written once under BENCH_DIR. The
recipe: three slide groups weighted 2 : 1 : 1, four categories over 16 of the 20 clusters
weighted 3 : 2 : 2 : 1 (the other 4 clusters excluded), min tissue fraction 0.5, max pen score
0.95, a cap of 16,000 tiles per slide, split by slide with 10 % validation, a budget of
10,000,000 tiles. `curation.dataset_sampling.build_manifest` builds it in a fresh process
(seconds, rows/s, peak RSS), then `write_csv` and `write_jsonl` (each in its own process).
Built once and reused (`--rebuild` rebuilds; the figures of the build are kept beside it).

Export: a DatasetVersion row (and its ClusterRun) in a bench database of its own
(`rudolfv_bench_datasets`), marked built with the manifest's checksum and pointing at that
folder; the web app under gunicorn (2 workers × 8 threads) serves manifest.parquet, .csv and
.jsonl to a client with a read-scope API token over loopback: rows/s (rows ÷ download seconds)
and the server's peak memory (RSS of the gunicorn worker processes sampled from /proc every
10 ms during the download, minus their RSS just before). A resume check: the second half of
the Parquet file with `Range` (and `If-Range`), joined to the first half, must hash to the
checksum. Side by side in the same run: the same rows in a PostgreSQL table (COPY from the
CSV, once) served by a DRF `ListAPIView` with `PageNumberPagination` (page_size 1000) under
its own gunicorn (`bench/baseline_manifest_list.py`), a client following `next` links. Paging
through 10,000 pages takes hours (COUNT and OFFSET on every page), so runs of pages starting
at evenly spread positions (first to last page) are timed and the total extrapolated
(mean page time × pages); the first pages' rate is reported too (the best case).

WebDataset: a manifest built with `build_manifest` over a tile file of the real slide
(`../shared/data/slides/cmu-1-small-region.svs`, or a generated pyramidal slide without it):
224-px tiles at 0.5 µm/px on a 32-px grid; `write_shards` (JPEG q90 + JSON in tar, shards of
1,000) in tiles/s against `SlideReader.read` of the same tiles in a loop (no JPEG, no tar).

Nothing is asserted on time. Run through `scripts/bench`, or:
    rudolfv services -- python -m bench.dataset_export_bench [--quick] [--rebuild]
(--quick: 40 slides, a 200,000-row manifest, 400 tiles, to bench/out/dataset_export-quick.json).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import requests

from bench import common

BENCH_DATABASE = "rudolfv_bench_datasets"
DATA_VERSION = 1  # bump when the generated data changes: files and manifest are rebuilt
SEED = 0
FULL = {
    "label": "full",
    "slides": 1000,
    "tiles": (12_000, 24_000),
    "budget": 10_000_000,
    "per_slide_cap": 16_000,
    "wds_tiles": 3000,
    "drf_starts": 9,
    "drf_follow": 3,
}
QUICK = {
    "label": "quick",
    "slides": 40,
    "tiles": (6_000, 12_000),
    "budget": 200_000,
    "per_slide_cap": 16_000,
    "wds_tiles": 400,
    "drf_starts": 5,
    "drf_follow": 2,
}
K = 20
GROUPS = {"Colon H&E": 2.0, "Stomach H&E": 1.0, "Lung IHC": 1.0}
CATEGORIES = {"Tumour": 3.0, "Stroma": 2.0, "Immune": 2.0, "Necrosis": 1.0}
CLUSTERS = {"Tumour": range(0, 6), "Stroma": range(6, 10), "Immune": range(10, 14)}
CLUSTERS["Necrosis"] = range(14, 16)  # clusters 16–19: rejected (not in the dataset)
MIN_TISSUE, MAX_PEN = 0.5, 0.95
VALIDATION = 0.1
GOAL_RATIO = 50.0  # ours ÷ DRF list, rows/s
FORMATS = ("parquet", "csv", "jsonl")
CHUNK = 1 << 20
WDS_TILE, WDS_MPP, WDS_STRIDE = 224, 0.5, 32
REAL_SVS = common.REPO.parent / "shared" / "data" / "slides" / "cmu-1-small-region.svs"
TOKEN_NAME = "bench export"


# --- data ------------------------------------------------------------------------------------


def work_dir() -> Path:
    return common.BENCH_DIR / "datasets"


def data_root() -> Path:
    """DATA_ROOT of the web app under test: the manifests' version folders live here."""
    return work_dir() / "files"


def tag(spec: dict) -> str:
    return f"{spec['label']}-v{DATA_VERSION}"


def version_folder(spec: dict) -> str:
    return f"datasets/bench-{tag(spec)}"


def manifest_dir(spec: dict) -> Path:
    return data_root() / version_folder(spec)


def category_of() -> dict[int, str]:
    return {c: name for name, clusters in CLUSTERS.items() for c in clusters}


def slide_group(i: int) -> str:
    return ("Colon H&E", "Colon H&E", "Stomach H&E", "Lung IHC")[i % 4]


def fingerprint(spec: dict, i: int) -> str:
    return hashlib.sha256(f"datasets-{tag(spec)}-{i}".encode()).hexdigest()


def tile_counts(spec: dict) -> np.ndarray:
    low, high = spec["tiles"]
    return np.random.default_rng(SEED).integers(low, high + 1, spec["slides"])


def tile_path(spec: dict, fp: str) -> Path:
    return work_dir() / f"tiles-{tag(spec)}" / fp[:2] / f"{fp}.parquet"


def label_path(spec: dict, fp: str) -> Path:
    from curation.cluster_assign import labels_path

    return labels_path(work_dir() / f"run-{tag(spec)}", fp)


def slide_inputs(spec: dict) -> list:
    from curation.dataset_sampling import SlideInput

    out = []
    for i in range(spec["slides"]):
        fp = fingerprint(spec, i)
        group = slide_group(i)
        folder = group.split()[0].lower()
        out.append(
            SlideInput(
                slide_id=100_000 + i,
                fingerprint=fp,
                slide_path=f"/bench/archive/{folder}/case-{i // 2:05d}/slide-{i:05d}.svs",
                group=group,
                case_key=f"case-{i // 2}",
                tile_path=tile_path(spec, fp),
                labels_path=label_path(spec, fp),
                mpp=0.25,
            )
        )
    return out


def recipe(spec: dict):
    from curation.dataset_sampling import QualityFilter, Recipe

    return Recipe(
        group_weights=dict(GROUPS),
        category_weights=dict(CATEGORIES),
        budget=spec["budget"],
        per_slide_cap=spec["per_slide_cap"],
        quality=QualityFilter(min_tissue_fraction=MIN_TISSUE, max_pen_score=MAX_PEN),
        split_by="slide",
        validation_fraction=VALIDATION,
        seed=SEED,
    )


def _write_tiles(path: Path, labels: Path, x, y, size, mpp, rng, metadata: dict) -> None:
    """A tile-store file and its label file (cluster_assign's schema)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from curation.atomic import atomic_write
    from curation.cluster_assign import LABEL_SCHEMA
    from curation.tile_store import tile_table, write_tile_table

    n = len(x)
    quality = rng.random((n, 2), dtype=np.float32)
    table = tile_table(
        x, y, size, mpp, rng.uniform(0.4, 1.0, n), None, (), quality, ("sharpness", "pen_score")
    )
    write_tile_table(path, table, metadata)
    labels.parent.mkdir(parents=True, exist_ok=True)
    label_table = pa.table(
        {
            "cluster": rng.integers(0, K, n).astype(np.int32),
            "distance": rng.random(n, dtype=np.float32),
        },
        schema=LABEL_SCHEMA,
    )
    with atomic_write(labels) as temporary:
        pq.write_table(label_table, temporary, compression="zstd")


def ensure_tile_files(spec: dict) -> float:
    """One tile file and one label file per slide, written once; seconds spent now."""
    marker = work_dir() / f"tiles-{tag(spec)}" / "complete.json"
    if marker.is_file():
        return 0.0
    counts = tile_counts(spec)
    common.log(
        f"writing {spec['slides']} tile and label files, {counts.sum():,} tiles (once) "
        f"under {work_dir()}"
    )
    started = time.perf_counter()
    config = {"config": {"tile_size": 256, "target_mpp": 0.5}, "bench": "dataset export"}
    for i, n in enumerate(counts.tolist()):
        rng = np.random.default_rng(SEED + 1000 + i)
        side = int(np.ceil(np.sqrt(n)))
        index = np.arange(n)
        fp = fingerprint(spec, i)
        _write_tiles(
            tile_path(spec, fp),
            label_path(spec, fp),
            (index % side) * 512,
            (index // side) * 512,
            512.0,
            0.5,
            rng,
            {**config, "slide": i},
        )
    seconds = time.perf_counter() - started
    marker.write_text(json.dumps({**spec, "tiles": int(counts.sum()), "seconds": seconds}))
    return seconds


# --- children: one measured step per fresh process -------------------------------------------


def own_peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def child(task: dict) -> dict:
    from curation import manifest as mf
    from curation.dataset_sampling import build_manifest

    spec, folder = task["spec"], Path(task["folder"])
    parquet = folder / "manifest.parquet"
    started = time.perf_counter()
    if task["part"] == "build":
        result = build_manifest(slide_inputs(spec), category_of(), recipe(spec), parquet)
        seconds = time.perf_counter() - started
        return {
            "seconds": seconds,
            "rows": result.rows,
            "rows_per_s": result.rows / seconds,
            "peak_mb": own_peak_mb(),
            "checksum": result.checksum,
            "shortfall": result.shortfall,
            "stats": result.stats,
        }
    writer = mf.write_csv if task["part"] == "csv" else mf.write_jsonl
    writer(parquet, folder / f"manifest.{task['part']}")
    seconds = time.perf_counter() - started
    rows = mf.manifest_rows(parquet)
    return {"seconds": seconds, "rows_per_s": rows / seconds, "peak_mb": own_peak_mb()}


def run_child(task: dict) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "bench.dataset_export_bench", "--child", json.dumps(task)],
        cwd=common.REPO,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise RuntimeError(f"{task['part']} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def ensure_manifest(spec: dict, rebuild: bool) -> dict:
    """The manifest and its CSV / JSON Lines copies, built once; the build's figures."""
    folder = manifest_dir(spec)
    marker = folder / "build.json"
    if marker.is_file() and not rebuild:
        return json.loads(marker.read_text())
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    common.log(f"building the {spec['budget']:,}-row manifest in {folder}")
    task = {"spec": spec, "folder": str(folder)}
    build = run_child({**task, "part": "build"})
    common.log(
        f"build: {build['rows']:,} rows in {build['seconds']:.1f} s "
        f"({build['rows_per_s']:,.0f} rows/s), peak {build['peak_mb']:.0f} MB"
    )
    figures = {"build": build}
    for fmt in ("csv", "jsonl"):
        figures[f"write_{fmt}"] = run_child({**task, "part": fmt})
        common.log(f"write_{fmt}: {figures[f'write_{fmt}']['seconds']:.1f} s")
    figures["sizes"] = {fmt: (folder / f"manifest.{fmt}").stat().st_size for fmt in FORMATS}
    figures["built_at"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    (folder / "stats.json").write_text(json.dumps(build["stats"], indent=1, sort_keys=True))
    marker.write_text(json.dumps(figures, indent=1))
    return figures


# --- database rows ---------------------------------------------------------------------------


def ensure_version(spec: dict, built: dict):
    """A built DatasetVersion (and its ClusterRun) over the manifest folder, and a read token."""
    from django.utils import timezone

    from webapp.accounts.models import ApiToken
    from webapp.accounts.services import api_token_create, user_ensure
    from webapp.clusters.models import ClusterRun, RunStatus
    from webapp.datasets.models import DatasetVersion, VersionStatus
    from webapp.tiling import services as tiling
    from webapp.tiling.models import TilingConfig

    user = user_ensure(
        username="bench-exporter", password="bench-password-not-secret", role="pathologist"
    )[0]
    name = f"bench datasets {tag(spec)}"
    config = TilingConfig.objects.filter(name=name).first() or tiling.config_create(
        name=name, params={"tile_size": 256, "target_mpp": 0.5}
    )
    run, _ = ClusterRun.objects.get_or_create(
        name=name,
        config=config,
        defaults={
            "feature_kind": "colour",
            "params": {"k": K, "per_slide": 500, "iterations": 25, "seed": SEED},
            "status": RunStatus.SUCCEEDED,
            "slide_count": spec["slides"],
            "tile_count": int(tile_counts(spec).sum()),
            "folder": f"run-{tag(spec)}",
        },
    )
    b = built["build"]
    version, _ = DatasetVersion.objects.update_or_create(
        name=name,
        defaults={
            "cluster_run": run,
            "status": VersionStatus.BUILT,
            "recipe": {"budget": spec["budget"], "note": "bench: built by build_manifest"},
            "folder": version_folder(spec),
            "checksum": b["checksum"],
            "row_count": b["rows"],
            "shortfall": b["shortfall"],
            "stats": b["stats"],
            "message": f"{b['rows']:,} tiles (bench)",
            "created_by": user,
            "built_by": user,
            "built_at": timezone.now(),
        },
    )
    ApiToken.objects.filter(user=user, name=TOKEN_NAME).delete()
    _, key = api_token_create(user=user, name=TOKEN_NAME, scope="read")
    return version, key


def ensure_baseline_table(database_url: str, spec: dict, built: dict) -> dict:
    """The manifest's rows in a PostgreSQL table for the DRF list (COPY from the CSV, once:
    the table's comment records the manifest checksum); seconds spent filling it now."""
    import psycopg
    from psycopg import sql

    from bench.baseline_manifest_list import TABLE

    checksum, rows = built["build"]["checksum"], built["build"]["rows"]
    key = f"manifest {checksum} rows {rows}"
    with psycopg.connect(database_url, autocommit=True) as conn:
        found = conn.execute(
            "SELECT obj_description(to_regclass(%s), 'pg_class')", [TABLE]
        ).fetchone()
        if found and found[0] == key:
            size = conn.execute("SELECT pg_total_relation_size(%s)", [TABLE]).fetchone()[0]
            return {"filled_s": 0.0, "bytes": size}
        common.log(f"filling table {TABLE} with {rows:,} rows (COPY from the CSV, once)")
        started = time.perf_counter()
        ident = sql.Identifier(TABLE)
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(ident))
        conn.execute(
            sql.SQL(
                """CREATE UNLOGGED TABLE {} (
                id bigserial, slide_id bigint NOT NULL, slide_path text NOT NULL,
                fingerprint text NOT NULL, x bigint NOT NULL, y bigint NOT NULL,
                read_size double precision NOT NULL, tile_size integer NOT NULL,
                target_mpp double precision NOT NULL, "group" text NOT NULL,
                category text NOT NULL, cluster integer NOT NULL,
                weight double precision NOT NULL, split text NOT NULL)"""
            ).format(ident)
        )
        columns = (
            "slide_id, slide_path, fingerprint, x, y, read_size, tile_size, target_mpp, "
            '"group", category, cluster, weight, split'
        )
        copy = sql.SQL("COPY {} (" + columns + ") FROM STDIN WITH (FORMAT csv, HEADER true)")
        with conn.cursor() as cursor, cursor.copy(copy.format(ident)) as sink:
            with (manifest_dir(spec) / "manifest.csv").open("rb") as source:
                while chunk := source.read(CHUNK):
                    sink.write(chunk)
        conn.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (id)").format(ident))
        conn.execute(sql.SQL("ANALYZE {}").format(ident))
        conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(ident, sql.Literal(key)))
        seconds = time.perf_counter() - started
        size = conn.execute("SELECT pg_total_relation_size(%s)", [TABLE]).fetchone()[0]
    common.log(f"table filled in {seconds:.0f} s ({size / 1e9:.2f} GB)")
    return {"filled_s": seconds, "bytes": size}


# --- server memory ---------------------------------------------------------------------------


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def gunicorn_workers(base: str) -> list[int]:
    """The worker processes of the gunicorn bound to `base` (found by its command line: the
    workers are the children of the matching master)."""
    bind = base.removeprefix("http://").encode()
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if b"gunicorn" in cmdline and bind in cmdline:
            found[int(entry.name)] = ppid
    return sorted(pid for pid, ppid in found.items() if ppid in found)


class RssSampler:
    """The RSS of some processes, sampled every 10 ms on a thread: the peak growth over the
    RSS each had when sampling started."""

    def __init__(self, pids: list[int]) -> None:
        self.pids = pids
        self.before = {pid: _rss_mb(pid) or 0.0 for pid in pids}
        self.cpu_before = sum(_cpu_s(pid) for pid in pids)
        self.cpu_s = 0.0
        self.peak = dict(self.before)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for pid in self.pids:
                rss = _rss_mb(pid)
                if rss is not None and rss > self.peak[pid]:
                    self.peak[pid] = rss
            self._stop.wait(0.01)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *_) -> None:
        self._stop.set()
        self._thread.join()
        self.cpu_s = sum(_cpu_s(pid) for pid in self.pids) - self.cpu_before

    def figures(self) -> dict:
        growth = [self.peak[p] - self.before[p] for p in self.pids]
        return {
            "workers": len(self.pids),
            "rss_before_mb": round(max(self.before.values()), 1),
            "peak_rss_mb": round(max(self.peak.values()), 1),
            "peak_growth_mb": round(max(growth), 1),
            "cpu_s": round(self.cpu_s, 2),
        }


# --- export over HTTP ------------------------------------------------------------------------


def download(session: requests.Session, url: str, workers: list[int], hash_it: bool) -> dict:
    """One whole file, streamed and discarded (bytes and lines counted; SHA-256 when
    `hash_it`: hashing gigabytes would make the client the bottleneck)."""
    digest, size, lines = hashlib.sha256(), 0, 0
    with RssSampler(workers) as sampler:
        started = time.perf_counter()
        with session.get(url, stream=True, timeout=600) as reply:
            if reply.status_code != 200:
                raise RuntimeError(f"{url}: HTTP {reply.status_code} {reply.text[:200]}")
            length = int(reply.headers["Content-Length"])
            etag = reply.headers.get("ETag")
            for chunk in reply.iter_content(CHUNK):
                size += len(chunk)
                lines += chunk.count(b"\n")
                if hash_it:
                    digest.update(chunk)
        seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "bytes": size,
        "content_length": length,
        "lines": lines,
        "sha256": digest.hexdigest(),
        "etag": etag,
        **sampler.figures(),
    }


def bench_export(base: str, key: str, version, built: dict, repeats: int) -> dict:
    rows = built["build"]["rows"]
    auth = {"Authorization": f"Token {key}"}
    workers = gunicorn_workers(base)
    out = {}
    with requests.Session() as session:
        session.headers.update(auth)
        for fmt in FORMATS:  # warm-up: both workers import the app, the token is cached
            for _ in range(4):
                url = f"{base}/api/datasets/{version.pk}/manifest.{fmt}"
                reply = session.get(url, headers={"Range": "bytes=0-1023"}, timeout=60)
                if reply.status_code != 206:
                    raise RuntimeError(f"{url}: HTTP {reply.status_code} {reply.text[:200]}")
        for fmt in FORMATS:
            url = f"{base}/api/datasets/{version.pk}/manifest.{fmt}"
            runs = [download(session, url, workers, fmt == "parquet") for _ in range(repeats)]
            best = min(runs, key=lambda r: r["seconds"])
            expected_lines = rows + (1 if fmt == "csv" else 0)
            checks = {
                "size_matches_file": all(
                    r["bytes"] == r["content_length"] == built["sizes"][fmt] for r in runs
                ),
                "rows_match": fmt == "parquet" or all(r["lines"] == expected_lines for r in runs),
                "checksum_matches": fmt != "parquet"
                or all(r["sha256"] == built["build"]["checksum"] for r in runs),
            }
            seconds = sorted(r["seconds"] for r in runs)[len(runs) // 2]
            out[fmt] = {
                "rows": rows,
                "bytes": best["bytes"],
                "repeats": repeats,
                "seconds": seconds,
                "seconds_all": [round(r["seconds"], 3) for r in runs],
                "rows_per_s": rows / seconds,
                "mb_per_s": best["bytes"] / seconds / 1e6,
                "server_peak_growth_mb": max(r["peak_growth_mb"] for r in runs),
                "server_rss_before_mb": runs[0]["rss_before_mb"],
                "server_peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
                "server_cpu_s": sorted(r["cpu_s"] for r in runs)[len(runs) // 2],
                "workers_sampled": runs[0]["workers"],
                "checks": checks,
            }
            common.log(
                f"GET manifest.{fmt}: {rows / seconds:,.0f} rows/s "
                f"({best['bytes'] / seconds / 1e6:,.0f} MB/s), server RSS +"
                f"{out[fmt]['server_peak_growth_mb']:.1f} MB"
            )
        out["resume"] = resume_check(session, base, version, built)
    return out


def resume_check(session: requests.Session, base: str, version, built: dict) -> dict:
    """Half of the Parquet file, then the rest with Range + If-Range: the two halves must hash
    to the manifest's checksum."""
    url = f"{base}/api/datasets/{version.pk}/manifest.parquet"
    size = built["sizes"]["parquet"]
    middle = size // 2
    first = session.get(url, headers={"Range": f"bytes=0-{middle - 1}"}, timeout=600)
    etag = first.headers["ETag"]
    started = time.perf_counter()
    second = session.get(url, headers={"Range": f"bytes={middle}-", "If-Range": etag}, timeout=600)
    seconds = time.perf_counter() - started
    whole = hashlib.sha256(first.content + second.content).hexdigest()
    stale = session.get(url, headers={"Range": f"bytes={middle}-", "If-Range": '"other"'})
    return {
        "first_status": first.status_code,
        "status": second.status_code,
        "content_range": second.headers.get("Content-Range"),
        "bytes": len(second.content),
        "seconds": seconds,
        "joined_matches_checksum": whole == built["build"]["checksum"]
        and first.status_code == second.status_code == 206,
        "stale_if_range_gives_whole_file": stale.status_code == 200 and len(stale.content) == size,
    }


def bench_drf(drf: str, rows: int, spec: dict) -> dict:
    """Pages of the DRF list: runs of `drf_follow` pages (following `next`) starting at
    `drf_starts` evenly spread pages, first and last included; the total extrapolated."""
    from bench.baseline_manifest_list import PAGE_SIZE

    pages = -(-rows // PAGE_SIZE)
    starts = sorted(
        {1 + round(i * (pages - 1) / (spec["drf_starts"] - 1)) for i in range(spec["drf_starts"])}
    )
    timed: list[dict] = []
    workers = gunicorn_workers(drf)
    with requests.Session() as session:
        for _ in range(4):  # warm-up: both workers import DRF and connect
            session.get(f"{drf}/rows/?page=1", timeout=600).raise_for_status()
        with RssSampler(workers) as sampler:
            for start in starts:
                url = f"{drf}/rows/?page={start}"
                for step in range(spec["drf_follow"]):
                    began = time.perf_counter()
                    reply = session.get(url, timeout=600)
                    seconds = time.perf_counter() - began
                    if reply.status_code != 200:
                        raise RuntimeError(f"{url}: HTTP {reply.status_code}")
                    body = reply.json()
                    timed.append(
                        {
                            "page": start + step,
                            "seconds": seconds,
                            "rows": len(body["results"]),
                            "bytes": len(reply.content),
                        }
                    )
                    url = body["next"]
                    if not url:
                        break
        memory = sampler.figures()
    count = body["count"]
    mean = sum(t["seconds"] for t in timed) / len(timed)
    first = [t for t in timed if t["page"] <= spec["drf_follow"]]
    first_rate = sum(t["rows"] for t in first) / sum(t["seconds"] for t in first)
    extrapolated = mean * pages
    by_start = {}
    for t in timed:
        by_start.setdefault(str(t["page"]), round(t["seconds"] * 1000, 1))
    common.log(
        f"DRF list: {len(timed)} pages timed, mean {mean * 1000:.0f} ms/page → "
        f"{rows / extrapolated:,.0f} rows/s over all {pages:,} pages (extrapolated); "
        f"first pages {first_rate:,.0f} rows/s; server RSS +{memory['peak_growth_mb']:.1f} MB"
    )
    return {
        "page_size": PAGE_SIZE,
        "pages": pages,
        "count": count,
        "pages_timed": len(timed),
        "starts": starts,
        "follow": spec["drf_follow"],
        "mean_page_ms": mean * 1000,
        "page_ms": {t["page"]: round(t["seconds"] * 1000, 1) for t in timed},
        "mean_page_bytes": sum(t["bytes"] for t in timed) / len(timed),
        "extrapolated_seconds": extrapolated,
        "rows_per_s": rows / extrapolated,
        "first_pages_rows_per_s": first_rate,
        "server_peak_growth_mb": memory["peak_growth_mb"],
        "server_rss_before_mb": memory["rss_before_mb"],
        "server_peak_rss_mb": memory["peak_rss_mb"],
        "server_cpu_s_per_page": memory["cpu_s"] / len(timed),
        "workers_sampled": memory["workers"],
    }


# --- WebDataset ------------------------------------------------------------------------------


def wds_slide() -> tuple[Path, str]:
    if REAL_SVS.is_file():
        return REAL_SVS, "cmu-1-small-region.svs (real, Aperio)"
    from curation.synthetic_slides import make_demo_slides

    path = make_demo_slides(work_dir() / "slides")[1]
    return path, f"{path.name} (generated)"


def wds_manifest(count: int) -> tuple[Path, dict]:
    """A manifest of `count` tiles of the slide, built by build_manifest over a tile file (a
    224-px grid every 32 level-0 px) and a label file of its own."""
    from curation.dataset_sampling import QualityFilter, Recipe, SlideInput, build_manifest
    from curation.slide_reader import SlideReader

    slide, what = wds_slide()
    folder = work_dir() / f"webdataset-v{DATA_VERSION}-{count}"
    parquet = folder / "manifest.parquet"
    with SlideReader(slide) as reader:
        mpp, (width, height) = reader.mpp, reader.dimensions
    read = WDS_TILE * WDS_MPP / mpp
    xs = np.arange(0, width - read, WDS_STRIDE).astype(np.int64)
    ys = np.arange(0, height - read, WDS_STRIDE).astype(np.int64)
    gx, gy = np.meshgrid(xs, ys)
    fp = hashlib.sha256(f"webdataset-{slide}".encode()).hexdigest()
    tiles, labels = folder / "tiles.parquet", folder / "labels.parquet"
    if not parquet.is_file():
        rng = np.random.default_rng(SEED)
        metadata = {"config": {"tile_size": WDS_TILE, "target_mpp": WDS_MPP}}
        _write_tiles(tiles, labels, gx.ravel(), gy.ravel(), read, WDS_MPP, rng, metadata)
        source = SlideInput(1, fp, str(slide), "real", "real", tiles, labels, mpp)
        build_manifest(
            [source],
            {c: "tissue" for c in range(K)},
            Recipe({"real": 1.0}, {"tissue": 1.0}, count, None, QualityFilter(), seed=SEED),
            parquet,
        )
    return parquet, {"slide": what, "mpp": mpp, "grid_tiles": int(gx.size)}


def bench_webdataset(count: int) -> dict:
    from curation.manifest import iter_batches, manifest_rows
    from curation.slide_reader import SlideReader
    from curation.webdataset_export import write_shards

    parquet, about = wds_manifest(count)
    rows = [r for b in iter_batches(parquet) for r in b.to_pylist()]

    def read_raw() -> float:
        with SlideReader(rows[0]["slide_path"]) as reader:
            for row in rows[:50]:  # warm-up: the file in the page cache, OpenSlide's cache
                reader.read(row["x"], row["y"], row["tile_size"], row["target_mpp"])
            started = time.perf_counter()
            for row in rows:
                reader.read(row["x"], row["y"], row["tile_size"], row["target_mpp"])
            return time.perf_counter() - started

    out_dir = parquet.parent / "shards"
    shutil.rmtree(out_dir, ignore_errors=True)
    raw_before = read_raw()
    started = time.perf_counter()
    report = write_shards(parquet, out_dir, shard_size=1000, jpeg_quality=90, resume=False)
    shards = time.perf_counter() - started
    raw_after = read_raw()  # raw timed before and after: the faster counts (noisy machine)
    raw = min(raw_before, raw_after)
    shard_bytes = sum(size for _, size in report.shards)
    shutil.rmtree(out_dir, ignore_errors=True)
    figures = {
        **about,
        "tiles": manifest_rows(parquet),
        "tile_size": WDS_TILE,
        "target_mpp": WDS_MPP,
        "raw_seconds": raw,
        "raw_seconds_before_after": [round(raw_before, 2), round(raw_after, 2)],
        "raw_tiles_per_s": len(rows) / raw,
        "shards_seconds": shards,
        "shards_tiles_per_s": report.tiles_written / shards,
        "tiles_written": report.tiles_written,
        "tiles_skipped": report.tiles_skipped,
        "shards": len(report.shards),
        "shard_bytes": shard_bytes,
    }
    figures["shards_vs_raw"] = figures["shards_tiles_per_s"] / figures["raw_tiles_per_s"]
    common.log(
        f"WebDataset: {figures['shards_tiles_per_s']:,.0f} tiles/s writing shards, "
        f"{figures['raw_tiles_per_s']:,.0f} tiles/s raw reading"
    )
    return figures


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="a small run, a quick check")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the manifest")
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return 0
    if os.environ.get("REDIS_URL"):
        os.environ.setdefault("CACHE_URL", os.environ["REDIS_URL"])
    common.require_services()
    common.stop_on_sigterm()
    common.warn_if_busy()
    spec = QUICK if args.quick else FULL
    machine = common.machine()
    started = time.monotonic()
    written = ensure_tile_files(spec)
    built = ensure_manifest(spec, args.rebuild)
    database_url = common.ensure_database(os.environ["DATABASE_URL"], BENCH_DATABASE)
    data_root().mkdir(parents=True, exist_ok=True)
    env = {
        "DATABASE_URL": database_url,
        "DATA_ROOT": str(data_root()),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    common.setup_django(database_url, **env)
    version, key = ensure_version(spec, built)
    table = ensure_baseline_table(database_url, spec, built)
    rows = built["build"]["rows"]
    with (
        common.gunicorn(
            "webapp.wsgi:application", name="datasets", env=env, ready_path="/api/health/"
        ) as base,
        common.gunicorn(
            "bench.baseline_manifest_list:app",
            name="datasets-baseline",
            env={"BASELINE_DATABASE_URL": database_url},
            ready_path="/health",
        ) as drf,
    ):
        export = bench_export(base, key, version, built, repeats=1 if rows > 1e6 else 3)
        baseline = bench_drf(drf, rows, spec)
    webdataset = bench_webdataset(spec["wds_tiles"])
    ratios = {fmt: export[fmt]["rows_per_s"] / baseline["rows_per_s"] for fmt in FORMATS}
    ratios_first = {
        fmt: export[fmt]["rows_per_s"] / baseline["first_pages_rows_per_s"] for fmt in FORMATS
    }
    checks = {f"{fmt}_{name}": ok for fmt in FORMATS for name, ok in export[fmt]["checks"].items()}
    checks["resume_joined_matches_checksum"] = export["resume"]["joined_matches_checksum"]
    checks["stale_if_range_gives_whole_file"] = export["resume"]["stale_if_range_gives_whole_file"]
    checks["drf_count_matches"] = baseline["count"] == rows
    checks["shards_wrote_every_tile"] = webdataset["tiles_written"] == webdataset["tiles"]
    report = {
        "machine": machine,
        "quick": args.quick,
        "server": {"workers": common.GUNICORN_WORKERS, "threads": common.GUNICORN_THREADS},
        "database": {"name": BENCH_DATABASE, "where": unquote(database_url.split("@")[-1])},
        "data": {
            "slides": spec["slides"],
            "tiles_per_slide": list(spec["tiles"]),
            "tiles": int(tile_counts(spec).sum()),
            "k": K,
            "groups": GROUPS,
            "categories": CATEGORIES,
            "excluded_clusters": K - len(category_of()),
            "min_tissue_fraction": MIN_TISSUE,
            "max_pen_score": MAX_PEN,
            "budget": spec["budget"],
            "per_slide_cap": spec["per_slide_cap"],
            "tile_files_written_s": round(written, 1),
        },
        "build": built,
        "export": export,
        "drf_list": {**baseline, "table": table},
        "ratios": ratios,
        "ratios_vs_first_pages": ratios_first,
        "goal_ratio": GOAL_RATIO,
        "webdataset": webdataset,
        "checks": checks,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "bench_seconds": round(time.monotonic() - started, 1),
    }
    common.write_json("dataset_export-quick" if args.quick else "dataset_export", report)
    if not all(checks.values()):
        common.log(f"CHECK FAILED: {[k for k, ok in checks.items() if not ok]}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
