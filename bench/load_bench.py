"""The web app under concurrent browsing: requests/s and latency at 1, 16 and 64 users (locust).

One gunicorn (the web app's process model: common.GUNICORN_WORKERS × GUNICORN_THREADS) on
loopback over a bench database of its own (`rudolfv_bench_load`) that holds the other
benches' data, made with their builders once and kept:
- the review gallery's data (bench/review_gallery_bench.py): 300 tagged slide rows, their
  tile files (shared with that bench under BENCH_DIR/gallery, linked here) and a k = 100
  colour cluster run executed through the real service, with two reviewers' votes;
- the slide list's 100,000 slide rows (bench/slide_list_bench.py);
- the deep-zoom bench's generated 40,000 × 30,000 px slide (bench/deepzoom_bench.py),
  registered by a real scan.

Load: locust (bench/locustfile_load.py), headless, in a subprocess on the same machine; each
simulated user loops without think time over slide-list pages (the slide browser's filter
sets), viewer viewports (4 deep-zoom tiles of the generated slide, from four viewer sessions)
and gallery pages (cluster detail, then its votes), weights 2 : 3 : 2. Every tile is
requested once before timing, so tiles are Redis hits, as for every viewer after the first.
Each concurrency runs for BENCH_LOAD_SECONDS (default 40) after all users are started
(statistics reset then). Any non-200 reply is an error and fails the bench.

Run through `scripts/bench`, or:
    rudolfv services -- python -m bench.load_bench [--quick]
(--quick: the gallery's small data set and 15 s per concurrency, to bench/out/load-quick.json).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

import requests

from bench import common

BENCH_DATABASE = "rudolfv_bench_load"
BENCH_CACHE_DB = 13  # a Redis database of its own, flushed before the run
CONCURRENCIES = (1, 16, 64)
SECONDS = int(os.environ.get("BENCH_LOAD_SECONDS", "40"))
QUICK_SECONDS = 15
LOCUSTFILE = common.REPO / "bench" / "locustfile_load.py"
GALLERY_CLUSTERS = 40  # clusters the gallery pages cycle over
ENDPOINTS = {
    "slide list": "GET /api/slides/?<filters> (the slide browser's filter sets, 50–200 rows)",
    "deep-zoom tile": "GET /api/slides/{id}/dzi_files/{level}/{col}_{row}.jpeg (warm)",
    "cluster detail": "GET /api/clusters/{id}/ (exemplars + composition)",
    "cluster votes": "GET /api/clusters/{id}/votes/",
}


def files_root() -> Path:
    return common.BENCH_DIR / "load" / "files"


# --- data: the other benches' builders, in this bench's database ----------------------------


def prepare(spec: dict) -> dict:
    from bench import deepzoom_bench as dz_bench
    from bench import review_gallery_bench as gallery
    from bench import slide_list_bench as slide_list
    from curation.synthetic_slides import TissueCanvas

    started = time.monotonic()
    gallery.ensure_tile_files(spec)
    # The gallery's tile files, shared (0.9 GB), under this bench's own data root: the cluster
    # run's own folder must not meet the gallery bench's run folders (run ids collide).
    link = files_root() / "gallery-tiles"
    if not link.exists():
        link.symlink_to(gallery.data_root() / "gallery-tiles", target_is_directory=True)
    gallery.ensure_vocabulary()
    gallery.ensure_groups()
    config = gallery.ensure_config(spec)
    slide_ids, recreated = gallery.ensure_slides(spec, config)
    people = gallery.users()
    run, _ = gallery.ensure_run(spec, config, people["admin"], recreated)
    gallery.ensure_votes(run, [people[name] for name in gallery.REVIEWERS])
    slide_list.ensure_rows()
    big = dz_bench.ensure_big_slide(common.BENCH_DIR / "slides")
    slide = dz_bench.slide_row(dz_bench.register(big.parent, "bench generated"), big.name)
    canvas = TissueCanvas(*dz_bench.BIG_SIZE, seed=dz_bench.BIG_SEED, sections=4)
    centres = []
    for section in range(4):
        x, y = canvas.tissue_point(section)
        centres.append((x / dz_bench.BIG_SIZE[0], y / dz_bench.BIG_SIZE[1]))
    return {
        "run": run,
        "slide": slide,
        "centres": centres,
        "setup_seconds": round(time.monotonic() - started, 1),
    }


def tile_paths(slide, centres: list[tuple[float, float]]) -> list[str]:
    """Four viewer sessions (open, zoom in, pan) on the generated slide, each tile once."""
    import openslide
    from openslide.deepzoom import DeepZoomGenerator

    from bench.deepzoom_bench import geometry, viewer_session

    g = geometry()
    with openslide.OpenSlide(slide.absolute_path) as handle:
        dz = DeepZoomGenerator(handle, tile_size=g.tile_size, overlap=g.overlap, limit_bounds=True)
        tiles = [t for centre in centres for t in viewer_session(dz, centre)]
    prefix = f"/api/slides/{slide.pk}/dzi_files"
    return [f"{prefix}/{lvl}/{col}_{row}.jpeg" for lvl, col, row in dict.fromkeys(tiles)]


def describe(run, slide, tiles: list[str]) -> dict:
    from webapp.clusters.models import Cluster, ClusterVote
    from webapp.slides.models import Slide
    from webapp.tagging.models import SlideTag

    return {
        "slides": Slide.objects.count(),
        "slide_tags": SlideTag.objects.count(),
        "cluster_run": {
            "id": run.pk,
            "clusters": Cluster.objects.filter(run=run).count(),
            "votes": ClusterVote.objects.filter(cluster__run=run).count(),
            "message": run.message,
        },
        "deepzoom_slide": {"id": slide.pk, "dimensions": [slide.width, slide.height]},
        "distinct_tiles": len(tiles),
    }


# --- load ----------------------------------------------------------------------------------------


def warm_tiles(base: str, token: str, tiles: list[str]) -> None:
    """Every tile once (rendered and stored in Redis), so the timed phase sees warm tiles."""
    result = common.run_load(
        [base + t for t in tiles], concurrency=4, headers={"Authorization": f"Token {token}"}
    )
    common.check_statuses(result, 200, "tile warm-up")
    common.log(f"warmed {result.requests} tiles in {result.seconds:.1f} s")


def _ms(value: str) -> float | None:
    return None if value in ("", "N/A") else round(float(value), 1)


def locust_level(base: str, plan: Path, users: int, seconds: int, workdir: Path) -> dict:
    """One headless locust run at `users` concurrent users; its figures per endpoint."""
    prefix = workdir / f"u{users}"
    command = [
        sys.executable,
        "-m",
        "locust",
        "-f",
        str(LOCUSTFILE),
        "--headless",
        "--host",
        base,
        "-u",
        str(users),
        "-r",
        str(users),  # all users within a second
        "-t",
        f"{seconds + 2}s",  # + the spawn second and a margin; statistics reset after spawning
        "--reset-stats",
        "--csv",
        str(prefix),
        "--only-summary",
        "--loglevel",
        "WARNING",
        "--stop-timeout",
        "10",
        "--exit-code-on-error",
        "0",
    ]
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    done = subprocess.run(
        command,
        cwd=common.REPO,
        env={**os.environ, "LOAD_BENCH_PLAN": str(plan)},
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    wall = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(f"locust failed ({done.returncode}):\n{done.stderr[-3000:]}")
    rows = {}
    with open(f"{prefix}_stats.csv", newline="") as f:
        for row in csv.DictReader(f):
            rows[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "errors": int(row["Failure Count"]),
                "per_second": round(float(row["Requests/s"]), 1),
                "p50_ms": _ms(row["50%"]),
                "p95_ms": _ms(row["95%"]),
                "p99_ms": _ms(row["99%"]),
                "mean_ms": _ms(row["Average Response Time"]),
                "max_ms": _ms(row["Max Response Time"]),
            }
    failures = []
    failures_csv = Path(f"{prefix}_failures.csv")
    if failures_csv.is_file():
        with failures_csv.open(newline="") as f:
            failures = [
                {"name": r["Name"], "error": r["Error"], "count": int(r["Occurrences"])}
                for r in csv.DictReader(f)
            ]
    total = rows.pop("Aggregated")
    out = {
        "users": users,
        "seconds": seconds,
        "wall_s": round(wall, 1),
        "loadavg_1min_before": round(load_before, 2),
        **total,
        "endpoints": rows,
        "failures": failures,
    }
    common.log(
        f"  {users:>3} users: {total['per_second']:8.1f} req/s  p50 {total['p50_ms']} ms  "
        f"p95 {total['p95_ms']} ms  p99 {total['p99_ms']} ms  "
        f"{total['errors']} errors of {total['requests']}"
    )
    return out


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    from bench import review_gallery_bench as gallery
    from bench import slide_list_bench as slide_list

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data, short levels")
    parser.add_argument("--prepare-only", action="store_true", help="build the data and stop")
    args = parser.parse_args()
    if os.environ.get("REDIS_URL"):
        os.environ.setdefault("CACHE_URL", os.environ["REDIS_URL"])
    common.require_services()
    common.stop_on_sigterm()
    common.warn_if_busy()
    spec = gallery.QUICK if args.quick else gallery.FULL
    seconds = QUICK_SECONDS if args.quick else SECONDS
    machine = common.machine()
    started = time.monotonic()
    import redis

    cache_url = common.with_redis_db(os.environ["CACHE_URL"], BENCH_CACHE_DB)
    database_url = common.ensure_database(os.environ["DATABASE_URL"], BENCH_DATABASE)
    files_root().mkdir(parents=True, exist_ok=True)
    env = {
        "DATABASE_URL": database_url,
        "CACHE_URL": cache_url,
        "DATA_ROOT": str(files_root()),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    common.setup_django(database_url, **env)
    prepared = prepare(spec)
    if args.prepare_only:
        common.log(f"data ready ({prepared['setup_seconds']} s)")
        return 0
    from webapp.clusters.models import Cluster

    run, slide = prepared["run"], prepared["slide"]
    tiles = tile_paths(slide, prepared["centres"])
    clusters = list(Cluster.objects.filter(run=run).order_by("index").values_list("pk", flat=True))[
        :GALLERY_CLUSTERS
    ]
    data = describe(run, slide, tiles)
    common.log(
        f"{data['slides']:,} slides, run {run.pk} ({data['cluster_run']['clusters']} clusters), "
        f"{len(tiles)} tiles; {seconds} s per level at {CONCURRENCIES} users"
    )
    redis.Redis.from_url(cache_url).flushdb()
    levels = []
    with (
        common.gunicorn(
            "webapp.wsgi:application", name="load", env=env, ready_path="/api/health/"
        ) as base,
        tempfile.TemporaryDirectory(prefix="load-bench-") as tmp,
    ):
        token = common.bench_user_token(base)
        warm_tiles(base, token, tiles)
        plan = Path(tmp) / "plan.json"
        plan.write_text(
            json.dumps(
                {
                    "token": token,
                    "slide_queries": list(slide_list.QUERIES.values()),
                    "tiles": tiles,
                    "clusters": clusters,
                }
            )
        )
        # Warm-up: both worker processes load the run's files, plans and the token cache.
        with requests.Session() as s:
            s.headers["Authorization"] = f"Token {token}"
            for c in clusters:
                for path in (f"/api/clusters/{c}/", f"/api/clusters/{c}/votes/"):
                    s.get(base + path, timeout=120).raise_for_status()
        locust_level(base, plan, 4, 5, Path(tmp))  # not reported: every process warmed up
        for users in CONCURRENCIES:
            levels.append(locust_level(base, plan, users, seconds, Path(tmp)))
    errors = sum(level["errors"] for level in levels)
    report = {
        "machine": machine,
        "quick": args.quick,
        "tool": f"locust {locust_version()} (FastHttpUser, headless, one process)",
        "server": {"workers": common.GUNICORN_WORKERS, "threads": common.GUNICORN_THREADS},
        "database": {"name": BENCH_DATABASE, "where": unquote(database_url.split("@")[-1])},
        "data": data,
        "setup_seconds": prepared["setup_seconds"],
        "mix": {"weights": {"slide list": 2, "viewer (4 tiles)": 3, "gallery page": 2}},
        "endpoints": ENDPOINTS,
        "gallery_clusters": len(clusters),
        "seconds_per_level": seconds,
        "levels": levels,
        "errors": errors,
        "loadavg_at_end": [round(x, 2) for x in os.getloadavg()],
        "bench_seconds": round(time.monotonic() - started, 1),
    }
    common.write_json("load-quick" if args.quick else "load", report)
    if errors:
        common.log(f"ERRORS under load: {errors}; see levels[].failures in the JSON")
        return 1
    return 0


def locust_version() -> str:
    from importlib.metadata import version

    return version("locust")


if __name__ == "__main__":
    sys.exit(main())
