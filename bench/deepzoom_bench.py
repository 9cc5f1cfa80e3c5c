"""Deep-zoom tile serving over loopback HTTP: ours (cold and warm) against a plain baseline.

For each slide (the real CMU-1 SVS excerpt, and a generated 40,000 × 30,000 px slide) the same
list of tiles, a viewer session, is requested from:
- ours, cold: fresh gunicorn processes and an empty Redis cache namespace: every request is the
  first for its tile (open the slide once per process, render, encode, store in Redis);
- ours, warm: the same list again on the same processes: Redis hits;
- ours, 304: the same list with If-None-Match, as a browser revalidates;
- baseline: bench/baseline_deepzoom.py, a slide and DeepZoomGenerator opened per request;
- baseline, kept open: the same with one open generator per process (the handle-cache idea).
Every server runs under gunicorn with the web app's workers and threads.

Run through `scripts/bench` (which provides PostgreSQL and Redis via `rudolfv services`).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

import requests

from bench import common

BENCH_DATABASE = "rudolfv_bench_tiles"
BENCH_CACHE_DB = 14  # a Redis database of its own, flushed before each cold run
REAL_SLIDE = Path(
    os.environ.get(
        "BENCH_REAL_SLIDE",
        Path(__file__).resolve().parents[2]
        / "shared"
        / "data"
        / "slides"
        / "cmu-1-small-region.svs",
    )
)
BIG_SIZE = (40_000, 30_000)
BIG_MPP = 0.25
BIG_SEED = 11
VIEWPORT = (1920, 1080)  # a screen's worth of pixels, what a viewer shows at once
OVERVIEW_MAX_TILES = 48  # levels this small are loaded whole, as when a slide opens
CONCURRENCIES = (1, 8)
# Each figure is the median of ROUNDS repetitions (fresh processes and cache for every cold
# round): a 2-core machine shared by servers and client is noisy.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


# --- slides --------------------------------------------------------------------------------


def bench_home() -> Path:
    return common.BENCH_DIR


def ensure_big_slide(folder: Path) -> Path:
    """The generated slide, written once (about 25 s on two cores) and kept outside git."""
    import openslide

    from curation.synthetic_slides import TissueCanvas, write_pyramidal_tiff

    # Aperio layout with a level every 4× (1, 4, 16, 64), as scanners store slides.
    path = folder / f"bench-{BIG_SIZE[0]}x{BIG_SIZE[1]}-scanner.svs"
    if path.is_file():
        try:
            with openslide.OpenSlide(str(path)) as slide:
                if slide.dimensions == BIG_SIZE:
                    return path
        except openslide.OpenSlideError:
            pass
    common.log(f"generating {path} ({BIG_SIZE[0]} × {BIG_SIZE[1]} px, once)…")
    start = time.monotonic()
    canvas = TissueCanvas(*BIG_SIZE, seed=BIG_SEED, sections=4)
    write_pyramidal_tiff(
        path,
        canvas,
        width=BIG_SIZE[0],
        height=BIG_SIZE[1],
        mpp=BIG_MPP,
        quality=80,
        aperio=True,
        level_step=4,
    )
    common.log(
        f"generated in {time.monotonic() - start:.0f} s ({path.stat().st_size / 1e6:.0f} MB)"
    )
    return path


def register(folder: Path, name: str):
    """Register the slides of `folder` in the bench database (idempotent); return the root."""
    from webapp.slides.models import ScanJob, ScanStatus
    from webapp.slides.services import registration, roots

    root = roots.root_for_path(str(folder)) or roots.root_create(name=name, path=str(folder))
    # A scan left active by an interrupted earlier run would block a new one.
    ScanJob.objects.filter(root=root, status__in=[ScanStatus.QUEUED, ScanStatus.RUNNING]).update(
        status=ScanStatus.FAILED, message="interrupted bench run"
    )
    registration.scan_run_inline(scan=registration.scan_start(root=root))
    return root


def slide_row(root, filename: str):
    from webapp.slides.models import Slide, SlideStatus

    slide = Slide.objects.select_related("root").get(root=root, relative_path=filename)
    if slide.status != SlideStatus.REGISTERED:
        raise RuntimeError(f"{filename} did not register: {slide.failure_reason}")
    return slide


def read_through(path: Path) -> None:
    """Read the file once so that every variant finds it in the OS page cache alike."""
    with path.open("rb") as f:
        while f.read(16 << 20):
            pass


# --- the viewer session ----------------------------------------------------------------------


def geometry():
    """The web app's tile geometry (settings), which the baseline reproduces."""
    from webapp.slides.deepzoom import TileGeometry

    return TileGeometry.from_settings()


def _window(dz, level: int, center: tuple[float, float], shift_x: int = 0) -> list[tuple]:
    """The tiles a viewport shows at `level`, centred on `center` (fractions of the image)."""
    width, height = dz.level_dimensions[level]
    cols, rows = dz.level_tiles[level]
    tile = geometry().tile_size
    cx, cy = center[0] * width + shift_x, center[1] * height
    col0 = max(0, int((cx - VIEWPORT[0] / 2) // tile))
    col1 = min(cols - 1, int((cx + VIEWPORT[0] / 2) // tile))
    row0 = max(0, int((cy - VIEWPORT[1] / 2) // tile))
    row1 = min(rows - 1, int((cy + VIEWPORT[1] / 2) // tile))
    return [(level, c, r) for r in range(row0, row1 + 1) for c in range(col0, col1 + 1)]


def viewer_session(dz, center: tuple[float, float]) -> list[tuple[int, int, int]]:
    """(level, col, row) a viewer requests: the slide opening (every small level whole), a zoom
    into `center` level by level down to full resolution, then two pans to the right there."""
    tiles: list[tuple[int, int, int]] = []
    for level in range(dz.level_count):
        cols, rows = dz.level_tiles[level]
        if cols * rows <= OVERVIEW_MAX_TILES:
            tiles += [(level, c, r) for r in range(rows) for c in range(cols)]
        else:
            tiles += _window(dz, level, center)
    full = dz.level_count - 1
    for step in (1, 2):
        tiles += _window(dz, full, center, shift_x=step * VIEWPORT[0] // 2)
    return list(dict.fromkeys(tiles))  # a viewer asks for each tile once


# --- one slide, all variants ------------------------------------------------------------------


def _load(urls: list[str], concurrency: int, what: str, expected: int = 200, **kwargs) -> dict:
    result = common.run_load(urls, concurrency=concurrency, **kwargs)
    common.check_statuses(result, expected, what)
    common.log(
        f"  {what:<28} c={concurrency}: {result.per_second:8.1f} tiles/s  "
        f"p50 {result.p50_ms:7.2f} ms  p95 {result.p95_ms:7.2f} ms"
    )
    return result.as_dict()


def _ours_round(urls_for, concurrency: int, auth: dict, env: dict, cache_url: str) -> dict:
    """One cold → warm → 304 round on fresh server processes and an empty cache namespace."""
    import redis

    cache = redis.Redis.from_url(cache_url)
    cache.flushdb()
    etags: dict[str, str] = {}
    with common.gunicorn(
        "webapp.wsgi:application", name="ours", env=env, ready_path="/api/health/"
    ) as base:
        urls = urls_for(base)

        def keep_etag(url: str, reply: requests.Response) -> None:
            etags[url] = reply.headers.get("ETag", "")

        cold = _load(urls, concurrency, "ours, cold", headers=auth, on_response=keep_etag)
        # Every tile stored once (token-cache entries aside): the warm pass can only hit.
        keys = sum(1 for _ in cache.scan_iter(match="*dz:*"))
        warm = _load(urls, concurrency, "ours, warm (Redis hits)", headers=auth)
        not_modified = _load(
            urls,
            concurrency,
            "ours, revalidation (304)",
            expected=304,
            headers=auth,
            per_url_headers=lambda url: {"If-None-Match": etags[url]},
        )
    return {"cold": cold, "warm": warm, "304": not_modified, "cache_keys": keys}


def median_round(runs: list[dict]) -> dict:
    """The run with the median throughput, plus the spread of all runs."""
    ordered = sorted(runs, key=lambda run: run["per_second"])
    return {
        **ordered[len(ordered) // 2],
        "rounds": len(runs),
        "per_second_min": ordered[0]["per_second"],
        "per_second_max": ordered[-1]["per_second"],
    }


def _baseline(name: str, path: Path, *, keep_open: bool):
    """A baseline server; it stays up (idle) while the other variants are measured."""
    env = {
        "BASELINE_SLIDES": json.dumps({name: str(path)}),
        "BASELINE_KEEP_OPEN": str(int(keep_open)),
    }
    label = "baseline-kept-open" if keep_open else "baseline"
    return common.gunicorn("bench.baseline_deepzoom:app", name=label, env=env, ready_path="/health")


def bench_variants(slide, name: str, tiles: list[tuple], token: str, env: dict, cache_url: str):
    """Every variant at each concurrency, ROUNDS times, interleaved (ours, baseline, kept
    open, then again) so that load from elsewhere on the machine hits all of them alike;
    each figure is the median round."""
    auth = {"Authorization": f"Token {token}"}
    path = Path(slide.absolute_path)

    def ours_urls(base: str) -> list[str]:
        prefix = f"{base}/api/slides/{slide.pk}/dzi_files"
        return [f"{prefix}/{level}/{col}_{row}.jpeg" for level, col, row in tiles]

    def baseline_urls(base: str) -> list[str]:
        return [f"{base}/{name}_files/{level}/{col}_{row}.jpeg" for level, col, row in tiles]

    keys = ("ours_cold", "ours_warm", "ours_304", "baseline", "baseline_kept_open")
    result: dict[str, dict] = {key: {} for key in (*keys, "cache_keys_after_cold")}
    with (
        _baseline(name, path, keep_open=False) as plain,
        _baseline(name, path, keep_open=True) as kept,
    ):
        for concurrency in CONCURRENCIES:
            runs: dict[str, list] = {key: [] for key in keys}
            cache_keys = []
            for _ in range(ROUNDS):
                ours = _ours_round(ours_urls, concurrency, auth, env, cache_url)
                runs["ours_cold"].append(ours["cold"])
                runs["ours_warm"].append(ours["warm"])
                runs["ours_304"].append(ours["304"])
                cache_keys.append(ours["cache_keys"])
                runs["baseline"].append(
                    _load(baseline_urls(plain), concurrency, "baseline (open per request)")
                )
                runs["baseline_kept_open"].append(
                    _load(baseline_urls(kept), concurrency, "baseline, kept open")
                )
            for key in keys:
                result[key][concurrency] = median_round(runs[key])
            result["cache_keys_after_cold"][concurrency] = cache_keys
    return result


def same_tiles(slide, name: str, path: Path, tiles: list[tuple], token: str, env: dict) -> str:
    """Check on a sample that both servers send the same JPEG bytes: the same work is compared."""
    sample = tiles[:: max(1, len(tiles) // 8)]
    auth = {"Authorization": f"Token {token}"}
    base_env = {"BASELINE_SLIDES": json.dumps({name: str(path)})}
    with (
        common.gunicorn(
            "webapp.wsgi:application", name="ours", env=env, ready_path="/api/health/"
        ) as ours,
        common.gunicorn(
            "bench.baseline_deepzoom:app", name="baseline", env=base_env, ready_path="/health"
        ) as baseline,
    ):
        equal = 0
        for level, col, row in sample:
            a = requests.get(
                f"{ours}/api/slides/{slide.pk}/dzi_files/{level}/{col}_{row}.jpeg",
                headers=auth,
                timeout=60,
            ).content
            b = requests.get(
                f"{baseline}/{name}_files/{level}/{col}_{row}.jpeg", timeout=60
            ).content
            equal += a == b
    return f"{equal}/{len(sample)}"


def open_cost_ms(path: Path, times: int = 20) -> float:
    """What the baseline pays per request before any tile work: open + DeepZoomGenerator."""
    import openslide
    from openslide.deepzoom import DeepZoomGenerator

    g = geometry()
    start = time.perf_counter()
    for _ in range(times):
        with openslide.OpenSlide(str(path)) as handle:
            DeepZoomGenerator(handle, tile_size=g.tile_size, overlap=g.overlap, limit_bounds=True)
    return round((time.perf_counter() - start) / times * 1000, 2)


def bench_slide(
    name: str, slide, center: tuple[float, float], token: str, env: dict, cache_url: str
) -> dict:
    import openslide
    from openslide.deepzoom import DeepZoomGenerator

    path = Path(slide.absolute_path)
    read_through(path)
    with openslide.OpenSlide(str(path)) as handle:
        g = geometry()
        dz = DeepZoomGenerator(handle, tile_size=g.tile_size, overlap=g.overlap, limit_bounds=True)
        tiles = viewer_session(dz, center)
        levels = dz.level_count
    common.log(f"{name}: {slide.width} × {slide.height} px, {levels} levels, {len(tiles)} tiles")
    entry = {
        "name": name,
        "file": str(path),
        "size_mb": round(path.stat().st_size / 1e6, 1),
        "dimensions": [slide.width, slide.height],
        "mpp": slide.mpp_x,
        "deepzoom_levels": levels,
        "tiles": len(tiles),
        "open_ms": open_cost_ms(path),
        "identical_jpeg_sample": same_tiles(slide, name, path, tiles, token, env),
    }
    entry.update(bench_variants(slide, name, tiles, token, env, cache_url))
    return entry


# --- main ---------------------------------------------------------------------------------------


def prepare(args) -> tuple[list[tuple], dict, str]:
    """Bench database, slides registered, server environment; (slides, env, cache URL)."""
    home = bench_home()
    cache_url = common.with_redis_db(os.environ["CACHE_URL"], BENCH_CACHE_DB)
    database_url = common.ensure_database(os.environ["DATABASE_URL"], BENCH_DATABASE)
    env = {
        # The baseline reads the same three settings, so both render identical tiles.
        "DEEPZOOM_TILE_SIZE": os.environ.get("DEEPZOOM_TILE_SIZE", "254"),
        "DEEPZOOM_OVERLAP": os.environ.get("DEEPZOOM_OVERLAP", "1"),
        "DEEPZOOM_JPEG_QUALITY": os.environ.get("DEEPZOOM_JPEG_QUALITY", "80"),
        "DATABASE_URL": database_url,
        "CACHE_URL": cache_url,
        "DATA_ROOT": str(home / "files"),
        "DEBUG": "0",  # production settings: DEBUG would record every SQL query
        "LOG_LEVEL": "WARNING",
    }
    common.setup_django(database_url, **env)
    slides = []
    big = ensure_big_slide(home / "slides")
    big_root = register(big.parent, "bench generated")
    from curation.synthetic_slides import TissueCanvas

    tx, ty = TissueCanvas(*BIG_SIZE, seed=BIG_SEED, sections=4).tissue_point(0)
    slides.append(
        ("generated-40k", slide_row(big_root, big.name), (tx / BIG_SIZE[0], ty / BIG_SIZE[1]))
    )
    if args.skip_real:
        common.log("real slide skipped (--skip-real)")
    elif REAL_SLIDE.is_file():
        real_root = register(REAL_SLIDE.parent, "bench real")
        slides.insert(0, ("cmu-1-small-region", slide_row(real_root, REAL_SLIDE.name), (0.5, 0.5)))
    else:
        common.log(f"real slide {REAL_SLIDE} not found: skipped (set BENCH_REAL_SLIDE)")
    return slides, env, cache_url


FLOOR_REQUESTS = 400


def token_and_floors(env: dict) -> tuple[str, dict]:
    """The bench token, and what requests cost that do no tile work at all, on the same
    servers and client: the floors under which no tile variant can go."""
    floors: dict[str, dict] = {}
    with common.gunicorn(
        "bench.baseline_deepzoom:app", name="baseline", env={}, ready_path="/health"
    ) as base:
        urls = [f"{base}/health"] * FLOOR_REQUESTS
        floors["trivial WSGI app (client + loopback + gunicorn)"] = {
            c: _load(urls, c, "floor: trivial WSGI") for c in CONCURRENCIES
        }
    with common.gunicorn(
        "webapp.wsgi:application", name="ours", env=env, ready_path="/api/health/"
    ) as base:
        token = common.bench_user_token(base)
        urls = [f"{base}/api/health/"] * FLOOR_REQUESTS
        floors["Django + 1 SQL query (/api/health/)"] = {
            c: _load(urls, c, "floor: Django health") for c in CONCURRENCIES
        }
        urls = [f"{base}/api/auth/me/"] * FLOOR_REQUESTS
        auth = {"Authorization": f"Token {token}"}
        floors["DRF + token auth (/api/auth/me/)"] = {
            c: _load(urls, c, "floor: DRF token auth", headers=auth) for c in CONCURRENCIES
        }
    return token, floors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-real", action="store_true", help="only the generated slide")
    args = parser.parse_args()
    common.require_services()
    common.stop_on_sigterm()
    common.warn_if_busy()
    slides, env, cache_url = prepare(args)
    token, floors = token_and_floors(env)
    report = {
        "machine": common.machine(),
        "server": {"workers": common.GUNICORN_WORKERS, "threads": common.GUNICORN_THREADS},
        "tile_geometry": vars(geometry()),
        "rounds": ROUNDS,
        "floors": floors,
        "slides": [
            bench_slide(name, row, center, token, env, cache_url) for name, row, center in slides
        ],
    }
    common.write_json("deepzoom", report)


if __name__ == "__main__":
    sys.exit(main())
