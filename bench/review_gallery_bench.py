"""Review gallery API: latency p50/p95/p99 of what the gallery fetches per cluster page.

Data (created once in a bench database of its own, `rudolfv_bench_gallery`, and files under
BENCH_DIR/gallery, then reused): 300 slide rows (bulk_create; fake root, no image files)
tagged with a lab, a scanner, a stain and a tissue, six rule groups over those tags, and one
synthetic tile-store file per slide (5,000–20,000 tiles each, the 36 colour features drawn
from the clustering bench's Gaussian mixture with per-stain weights and a per-lab colour
shift, so that clusters differ in composition), tiled under a tiling configuration of their
own. A colour cluster run with k = 100 is then executed in-process through the web app's
real service (`webapp.clusters.services.execution.run_execute`: sampling, training, map,
assignment, summaries, Cluster rows, similar-tile index), and two more pathologists' votes
are added.

Measured over loopback HTTP against gunicorn (the web app's process model), with a
pathologist's API token, N requests per endpoint at concurrency 1 and 8, in interleaved
rounds: the cluster detail (exemplars + composition), its votes, one cluster page (detail +
votes in sequence: what the gallery waits for on next-cluster), the cluster list
(page_size=200), the 2-D map, a review decision (POST with the version from the list,
cycling over clusters), similar tiles (k=24) and one slide's labels. Side by side:
`bench/baseline_gallery.py`, the same cluster data computed the naive way per request (every
label file of the run scanned), under gunicorn with the same workers and threads, and two
floors: a trivial WSGI app and DRF + token auth (`/api/auth/me/`). SQL statements per request
are counted in-process. Nothing is asserted on time.

Run through `scripts/bench`, or:
    rudolfv services -- python -m bench.review_gallery_bench [--quick]
(--quick: 30 slides × 2,000–5,000 tiles, k = 20, to bench/out/review_gallery-quick.json).
"""

import argparse
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import requests

from bench import common

BENCH_DATABASE = "rudolfv_bench_gallery"
DATA_VERSION = 1  # bump when the generated data changes: slides, files and run are rebuilt
SEED = 0
FULL = {"label": "full", "slides": 300, "tiles": (5_000, 20_000), "k": 100, "repeats": 60}
QUICK = {"label": "quick", "slides": 30, "tiles": (2_000, 5_000), "k": 20, "repeats": 10}
REPEATS = os.environ.get("BENCH_GALLERY_REPEATS")  # requests per endpoint and concurrency
ROUNDS = 2  # the N requests are split over interleaved rounds, so slow spells hit all alike
CONCURRENCIES = (1, 8)
WARMUP = 8  # requests per endpoint before timing (both worker processes load their caches)
FLOOR_REQUESTS = 200
CHECKED_CLUSTERS = 8  # clusters whose summary is compared with the naive computation
PER_SLIDE = 500  # the run's sample per slide (the paper's)

LABS = ["Lab A", "Lab B", "Lab C", "Lab D", "Lab E", "Lab F"]
SCANNERS = [
    "Leica Aperio",
    "Hamamatsu NanoZoomer",
    "3DHISTECH Pannoramic",
    "Philips IntelliSite",
    "Roche Ventana",
    "Zeiss Axio Scan",
]
STAINS = {
    "he": ["H&E"],
    "ihc": ["IHC Ki-67", "IHC CD3", "IHC HER2", "IHC CD68"],
    "special": ["PAS", "Masson trichrome", "Giemsa"],
}
TISSUES = ["Colon", "Stomach", "Lung", "Breast", "Lymph node", "Skin"]
GROUPS = {
    "Gallery: H&E": 'stain = "H&E"',
    "Gallery: IHC": 'stain IN ("IHC Ki-67", "IHC CD3", "IHC HER2", "IHC CD68")',
    "Gallery: special stains": 'stain IN (PAS, "Masson trichrome", Giemsa)',
    "Gallery: GI": "tissue IN (colon, stomach)",
    "Gallery: labs A and B": 'lab IN ("Lab A", "Lab B")',
    "Gallery: Aperio": 'scanner = "Leica Aperio"',
}
REVIEWERS = ("bench-reviewer-1", "bench-reviewer-2")
ENDPOINTS = {
    "detail": "GET /api/clusters/{id}/",
    "votes": "GET /api/clusters/{id}/votes/",
    "page": "one cluster page: detail + votes, in sequence",
    "list": "GET /api/clusters/?run=R&page_size=200",
    "map": "GET /api/cluster-runs/R/map/",
    "review": "POST /api/clusters/{id}/review/",
    "similar": "GET /api/cluster-runs/R/similar/?slide=&index=&k=24",
    "labels": "GET /api/cluster-runs/R/slides/{slide}/labels/",
    "baseline": "naive: the cluster's data from every label file of the run, per request",
}
FLOORS = {
    "trivial": "trivial WSGI app (client + loopback + gunicorn)",
    "auth": "DRF + token auth (/api/auth/me/)",
}


# --- data ------------------------------------------------------------------------------------


def data_root() -> Path:
    return common.BENCH_DIR / "gallery" / "files"


def fingerprint(spec: dict, i: int) -> str:
    return hashlib.sha256(f"gallery-{spec['label']}-v{DATA_VERSION}-{i}".encode()).hexdigest()


def tile_counts(spec: dict) -> np.ndarray:
    low, high = spec["tiles"]
    return np.random.default_rng(SEED).integers(low, high + 1, spec["slides"])


def tile_relpath(spec: dict, fp: str) -> str:
    return f"gallery-tiles/{spec['label']}-v{DATA_VERSION}/{fp[:2]}/{fp}.parquet"


def slide_tags(i: int) -> dict[str, str]:
    """A slide's lab, scanner, stain and tissue: each lab has its main scanner (80 %); 60 %
    H&E, 25 % IHC, 15 % special stains."""
    rng = random.Random(SEED * 1_000_003 + i)
    lab = i % len(LABS)
    scanner = SCANNERS[lab] if rng.random() < 0.8 else rng.choice(SCANNERS)
    draw = rng.random()
    kind = "he" if draw < 0.6 else "ihc" if draw < 0.85 else "special"
    return {
        "lab": LABS[lab],
        "scanner": scanner,
        "stain": rng.choice(STAINS[kind]),
        "stain_kind": kind,
        "tissue": rng.choice(TISSUES),
    }


class SlideFeatures:
    """The clustering bench's mixture, with per-stain-kind component weights, per-slide
    variation and a per-lab colour shift: clusters then differ by stain and lab."""

    def __init__(self) -> None:
        from bench.clustering_bench import COMPONENTS, DIM, Mixture

        self.mixture = Mixture(SEED)
        rng = np.random.default_rng(SEED + 7)
        self.kind_weights = {
            kind: rng.lognormal(0.0, 1.5, COMPONENTS) for kind in ("he", "ihc", "special")
        }
        self.lab_shift = rng.normal(0.0, 0.3, (len(LABS), DIM))

    def draw(self, n: int, tags: dict, rng: np.random.Generator) -> np.ndarray:
        m = self.mixture
        weights = m.weights * self.kind_weights[tags["stain_kind"]]
        weights = weights * rng.lognormal(0.0, 0.5, len(weights))
        counts = rng.multinomial(n, weights / weights.sum())
        out = np.empty((n, len(m.feature_scale)), dtype=np.float32)
        position = 0
        for c, count in enumerate(counts):
            if not count:
                continue
            noise = rng.standard_normal((count, out.shape[1])) * m.scales[c]
            out[position : position + count] = noise @ m.rotations[c].T + m.centres[c]
            position += count
        out += self.lab_shift[LABS.index(tags["lab"])]
        return m.raw(out[rng.permutation(n)])


def ensure_tile_files(spec: dict) -> float:
    """One tile-store file per slide, written once; seconds spent writing them now."""
    from curation.features import FEATURE_NAMES
    from curation.tile_store import tile_table, write_tile_table
    from curation.tiling import QUALITY_COLUMNS

    folder = data_root() / Path(tile_relpath(spec, "00")).parent.parent
    marker = folder / "complete.json"
    if marker.is_file():
        return 0.0
    counts = tile_counts(spec)
    common.log(f"writing {spec['slides']} tile files, {counts.sum():,} tiles (once) in {folder}")
    features, started = SlideFeatures(), time.perf_counter()
    for i, n in enumerate(counts.tolist()):
        rng = np.random.default_rng(SEED + 1000 + i)
        side = int(np.ceil(np.sqrt(n)))
        index = np.arange(n)
        table = tile_table(
            (index % side) * 512,
            (index // side) * 512,
            512.0,
            0.5,
            rng.uniform(0.5, 1.0, n),
            features.draw(n, slide_tags(i), rng),
            FEATURE_NAMES,
            rng.random((n, len(QUALITY_COLUMNS)), dtype=np.float32),
            QUALITY_COLUMNS,
        )
        path = data_root() / tile_relpath(spec, fingerprint(spec, i))
        write_tile_table(path, table, {"bench": "review gallery", "slide": i})
    seconds = time.perf_counter() - started
    marker.write_text(json.dumps({**spec, "tiles": int(counts.sum()), "seconds": seconds}))
    return seconds


def ensure_vocabulary() -> dict[tuple[str, str], object]:
    """Terms by (category key, name): the starter vocabulary plus the labs."""
    from webapp.tagging.models import Category, Term

    lab = Category.objects.get(key="lab")
    for name in LABS:
        Term.objects.get_or_create(category=lab, name=name)
    return {(t.category.key, t.name): t for t in Term.objects.select_related("category")}


def ensure_groups() -> None:
    from webapp.tagging.models import GroupKind, SlideGroup
    from webapp.tagging.services.groups import group_condition

    for name, rule in GROUPS.items():
        group, _ = SlideGroup.objects.update_or_create(
            name=name, defaults={"rule": rule, "kind": GroupKind.RULE}
        )
        group_condition(group)  # a typo in a rule would silently drop the group: fail here


def ensure_slides(spec: dict, config) -> tuple[list[int], bool]:
    """The slide rows, their tags and tilings (created once): slide ids in order, and
    whether they were (re)created now."""
    from django.db import transaction

    from webapp.clusters.models import ClusterRun
    from webapp.slides.models import Slide, SlideRoot
    from webapp.tagging.models import SlideTag, TagSource
    from webapp.tiling.models import SlideTiling, TileStatus

    name = f"bench-gallery-{spec['label']}-v{DATA_VERSION}"
    root, _ = SlideRoot.objects.get_or_create(name=name, defaults={"path": f"/bench/{name}"})
    ids = list(Slide.objects.filter(root=root).order_by("pk").values_list("pk", flat=True))
    tilings = SlideTiling.objects.filter(config=config, slide__root=root, status=TileStatus.DONE)
    if len(ids) == spec["slides"] and tilings.count() == spec["slides"]:
        return ids, False
    common.log(f"creating {spec['slides']} slide rows with tags and tilings (once)")
    terms = ensure_vocabulary()
    counts = tile_counts(spec)
    with transaction.atomic():
        ClusterRun.objects.filter(config=config).delete()
        Slide.objects.filter(root=root).delete()
        slides = Slide.objects.bulk_create(
            [
                Slide(
                    root=root,
                    relative_path=f"{slide_tags(i)['lab'].lower().replace(' ', '-')}/g{i:04d}.svs",
                    name=f"gallery-{i:04d}.svs",
                    status="registered",
                    fingerprint=fingerprint(spec, i),
                    vendor="aperio",
                    level_count=4,
                    width=60_000,
                    height=45_000,
                    mpp_x=0.25,
                    mpp_y=0.25,
                    objective_power=40.0,
                )
                for i in range(spec["slides"])
            ]
        )
        tags = []
        for i, slide in enumerate(slides):
            for key, value in slide_tags(i).items():
                if key == "stain_kind":
                    continue
                term = terms[(key, value)]
                single = None if term.category.multi_valued else term.category_id
                tags.append(
                    SlideTag(
                        slide=slide, term=term, single_category_id=single, source=TagSource.IMPORT
                    )
                )
        SlideTag.objects.bulk_create(tags)
        SlideTiling.objects.bulk_create(
            [
                SlideTiling(
                    slide=slide,
                    config=config,
                    status=TileStatus.DONE,
                    tile_count=int(counts[i]),
                    tiles_done=int(counts[i]),
                    tiles_total=int(counts[i]),
                    path=tile_relpath(spec, slide.fingerprint),
                    fingerprint=slide.fingerprint,
                )
                for i, slide in enumerate(slides)
            ]
        )
    return [s.pk for s in slides], True


def ensure_config(spec: dict):
    from webapp.tiling import services as tiling
    from webapp.tiling.models import TilingConfig

    name = f"bench gallery {spec['label']} v{DATA_VERSION}"
    found = TilingConfig.objects.filter(name=name).first()
    return found or tiling.config_create(name=name, params={"tile_size": 256, "target_mpp": 0.5})


def users() -> dict:
    from webapp.accounts.services import user_ensure

    password = "bench-password-not-secret"
    made = {"admin": user_ensure(username="bench-admin", password=password, role="admin")[0]}
    for name in REVIEWERS:
        made[name] = user_ensure(username=name, password=password, role="pathologist")[0]
    return made


def ensure_run(spec: dict, config, admin, recreated: bool):
    """The cluster run, executed once through the real service; its execution time (then)."""
    from webapp.clusters.models import ClusterRun, RunStatus
    from webapp.clusters.services import runs
    from webapp.clusters.services.execution import run_execute

    name = f"bench gallery {spec['label']} v{DATA_VERSION}"
    run = ClusterRun.objects.filter(name=name, config=config, status=RunStatus.SUCCEEDED).first()
    marker = runs.run_dir(run) / "bench.json" if run and run.folder else None
    if run and not recreated and marker and marker.is_file():
        return run, json.loads(marker.read_text())
    for old in ClusterRun.objects.filter(config=config):
        if old.folder:
            shutil.rmtree(runs.run_dir(old), ignore_errors=True)
        old.delete()
    run = runs.run_launch(
        actor=admin,
        config=config,
        feature_kind="colour",
        name=name,
        params={"k": spec["k"], "per_slide": PER_SLIDE, "iterations": 25, "seed": SEED},
    )
    # A database rebuilt from scratch reuses run ids: a folder of an older run must not be
    # taken for this run's finished phases.
    shutil.rmtree(runs.run_dir(run), ignore_errors=True)
    common.log(f"executing cluster run {run.pk} (k = {spec['k']}) in-process (once)…")
    started = time.perf_counter()
    run = run_execute(run.pk)
    seconds = time.perf_counter() - started
    if run.status != RunStatus.SUCCEEDED:
        raise RuntimeError(f"The cluster run ended {run.status}: {run.error or run.message}")
    note = {"execute_seconds": round(seconds, 1), "message": run.message}
    (runs.run_dir(run) / "bench.json").write_text(json.dumps(note))
    common.log(f"run executed in {seconds:.0f} s: {run.message}")
    return run, note


def ensure_votes(run, reviewers: list) -> None:
    """Two other pathologists' votes on every cluster (they disagree on every third)."""
    from webapp.clusters.models import Cluster, ClusterVote, SemanticCategory

    categories = list(SemanticCategory.objects.order_by("position"))
    votes = []
    for cluster in Cluster.objects.filter(run=run):
        for r, user in enumerate(reviewers):
            shift = r if cluster.index % 3 == 0 else 0
            category = categories[(cluster.index + shift) % len(categories)]
            votes.append(
                ClusterVote(cluster=cluster, user=user, status="accepted", category=category)
            )
    ClusterVote.objects.bulk_create(votes, ignore_conflicts=True)


def describe(spec: dict, run, slide_ids: list[int]) -> dict:
    from curation import similar_tiles
    from webapp.clusters.models import Cluster
    from webapp.clusters.services.runs import run_dir
    from webapp.tagging.models import SlideGroup, SlideTag

    counts = tile_counts(spec)
    index = similar_tiles.SimilarIndex.open(run_dir(run))
    sizes = sorted(Cluster.objects.filter(run=run).values_list("size", flat=True))
    return {
        "slides": len(slide_ids),
        "tiles": int(counts.sum()),
        "tiles_per_slide": [int(counts.min()), int(counts.max())],
        "k": spec["k"],
        "per_slide_sample": PER_SLIDE,
        "cluster_sizes": {"min": sizes[0], "median": sizes[len(sizes) // 2], "max": sizes[-1]},
        "indexed_tiles": len(index),
        "groups": len(GROUPS),
        "slide_groups_in_database": SlideGroup.objects.count(),
        "tags": SlideTag.objects.filter(slide_id__in=slide_ids).count(),
        "tag_dimensions": {"lab": len(LABS), "scanner": len(SCANNERS), "stain": 8, "tissue": 6},
        "run": run.pk,
        "run_message": run.message,
    }


# --- correctness and SQL statements, in-process ---------------------------------------------


def check_against_naive(run, clusters: list) -> dict:
    """The precomputed exemplars and slide composition of a few clusters against the naive
    computation (the baseline's own function): they must be the same tiles and counts."""
    from django.conf import settings

    from bench.baseline_gallery import naive_cluster
    from webapp.clusters.services.runs import run_dir

    same = {"size": True, "representative": True, "boundary": True, "slide_composition": True}
    for cluster in clusters[:CHECKED_CLUSTERS]:
        naive = naive_cluster(run_dir(run), settings.DATA_ROOT, cluster.index)
        same["size"] &= naive["size"] == cluster.size
        for kind in ("representative", "boundary"):
            ours = [(t["slide"], t["row"]) for t in cluster.exemplars[kind]]
            theirs = [(t["slide"], t["row"]) for t in naive["exemplars"][kind]]
            same[kind] &= ours == theirs
        ours = [(c["key"], c["count"]) for c in cluster.composition["slide"]]
        theirs = [(c["key"], c["count"]) for c in naive["composition"]["slide"]]
        same["slide_composition"] &= ours == theirs
    return {"clusters_compared": min(len(clusters), CHECKED_CLUSTERS), **same}


def sql_statements(token: str, run, cluster, slide_id: int, tile: tuple[int, int]) -> dict:
    """SQL statements of one request per endpoint (token lookup from Redis after the first)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    web = Client(HTTP_HOST=common.LOOPBACK, HTTP_AUTHORIZATION=f"Token {token}")
    web.get("/api/auth/me/")  # the token into the cache, as on a server that has seen it
    paths = {
        "detail": f"/api/clusters/{cluster.pk}/",
        "votes": f"/api/clusters/{cluster.pk}/votes/",
        "list": f"/api/clusters/?run={run.pk}&page_size=200",
        "map": f"/api/cluster-runs/{run.pk}/map/",
        "similar": f"/api/cluster-runs/{run.pk}/similar/?slide={tile[0]}&index={tile[1]}&k=24",
        "labels": f"/api/cluster-runs/{run.pk}/slides/{slide_id}/labels/",
    }
    counts = {}
    for key, path in paths.items():
        with CaptureQueriesContext(connection) as captured:
            reply = web.get(path)
        if reply.status_code != 200:
            raise RuntimeError(f"{path}: HTTP {reply.status_code}")
        counts[key] = len(captured)
    version = web.get(paths["detail"]).json()["version"]
    with CaptureQueriesContext(connection) as captured:
        reply = web.post(
            f"/api/clusters/{cluster.pk}/review/",
            {"version": version, "status": "rejected", "reject_reason": "artefact"},
            content_type="application/json",
        )
    if reply.status_code != 200:
        raise RuntimeError(f"review: HTTP {reply.status_code} {reply.content[:200]!r}")
    # BEGIN/COMMIT/SAVEPOINT are not statements of the request's work.
    counts["review"] = sum(
        1 for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    )
    counts["page"] = counts["detail"] + counts["votes"]
    return counts


# --- load over HTTP ----------------------------------------------------------------------------

Task = Callable[[requests.Session], list[requests.Response]]


class Timings:
    """Latencies of one variant at one concurrency, pooled over rounds."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.seconds = 0.0
        self.bytes = 0
        self.statuses: dict[str, int] = {}

    def summary(self) -> dict:
        ms = sorted(x * 1000 for x in self.latencies)
        return {
            "requests": len(ms),
            "seconds": round(self.seconds, 3),
            "per_second": round(len(ms) / self.seconds, 1) if self.seconds else None,
            "p50_ms": round(common.percentile(ms, 0.50), 2),
            "p95_ms": round(common.percentile(ms, 0.95), 2),
            "p99_ms": round(common.percentile(ms, 0.99), 2),
            "mean_ms": round(statistics.fmean(ms), 2),
            "max_ms": round(ms[-1], 2),
            "mean_bytes": round(self.bytes / len(ms)),
            "statuses": self.statuses,
        }


def run_tasks(tasks: list[Task], concurrency: int, into: Timings, headers: dict) -> None:
    """Run every task once from `concurrency` threads, each with a keep-alive session; a task
    (one or more requests in sequence) is timed as a whole."""
    lock = threading.Lock()
    pending = iter(tasks)

    def worker() -> None:
        with requests.Session() as session:
            session.headers.update(headers)
            while True:
                with lock:
                    task = next(pending, None)
                if task is None:
                    return
                start = time.perf_counter()
                replies = task(session)
                elapsed = time.perf_counter() - start
                with lock:
                    into.latencies.append(elapsed)
                    for reply in replies:
                        key = str(reply.status_code)
                        into.statuses[key] = into.statuses.get(key, 0) + 1
                        into.bytes += len(reply.content)

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    into.seconds += time.perf_counter() - start


def _get(url: str) -> Task:
    return lambda session: [session.get(url, timeout=120)]


class Workload:
    """The request lists of every variant; each call continues where the last one stopped,
    so rounds and concurrencies cycle through clusters, tiles and slides."""

    def __init__(self, base: str, naive: str, run, clusters: list, slide_ids: list[int]) -> None:
        from webapp.clusters.models import SemanticCategory

        self.base, self.naive, self.run = base, naive, run
        self.clusters = clusters
        self.slide_ids = slide_ids
        self.tiles = [
            (c.exemplars["representative"][0]["slide"], c.exemplars["representative"][0]["row"])
            for c in clusters
            if c.exemplars.get("representative")
        ]
        self.categories = list(SemanticCategory.objects.order_by("position").values_list("pk"))
        self.versions: dict[int, int] = {}
        self.lock = threading.Lock()
        self.position: dict[str, int] = {}

    def _next(self, key: str, n: int) -> list[int]:
        start = self.position.get(key, 0)
        self.position[key] = start + n
        return list(range(start, start + n))

    def fetch_versions(self, session: requests.Session) -> None:
        """The decision versions, as the gallery has them from the list it shows."""
        url = f"{self.base}/api/clusters/?run={self.run.pk}&page_size=200"
        while url:
            page = session.get(url, timeout=60).json()
            self.versions.update({c["id"]: c["version"] for c in page["results"]})
            url = page["next"]

    def _decision(self, i: int) -> dict:
        if i % 3 == 0:
            return {"status": "rejected", "reject_reason": "background"}
        if i % 3 == 1:
            return {"status": "accepted", "category": self.categories[i % len(self.categories)][0]}
        return {"status": "unreviewed"}

    def _review(self, i: int) -> Task:
        cluster = self.clusters[i % len(self.clusters)]

        def task(session: requests.Session) -> list[requests.Response]:
            with self.lock:
                version = self.versions[cluster.pk]
            reply = session.post(
                f"{self.base}/api/clusters/{cluster.pk}/review/",
                json={"version": version, **self._decision(i)},
                timeout=120,
            )
            if reply.status_code == 200:
                with self.lock:
                    self.versions[cluster.pk] = reply.json()["version"]
            return [reply]

        return task

    def _page(self, cluster) -> Task:
        detail = f"{self.base}/api/clusters/{cluster.pk}/"
        votes = f"{self.base}/api/clusters/{cluster.pk}/votes/"
        return lambda session: [session.get(detail, timeout=120), session.get(votes, timeout=120)]

    def tasks(self, key: str, n: int) -> list[Task]:
        run, base, c = self.run.pk, self.base, self.clusters
        picks = self._next(key, n)
        if key == "detail":
            return [_get(f"{base}/api/clusters/{c[i % len(c)].pk}/") for i in picks]
        if key == "votes":
            return [_get(f"{base}/api/clusters/{c[i % len(c)].pk}/votes/") for i in picks]
        if key == "page":
            return [self._page(c[i % len(c)]) for i in picks]
        if key == "list":
            return [_get(f"{base}/api/clusters/?run={run}&page_size=200") for _ in picks]
        if key == "map":
            return [_get(f"{base}/api/cluster-runs/{run}/map/") for _ in picks]
        if key == "review":
            return [self._review(i) for i in picks]
        if key == "similar":
            tiles = self.tiles
            return [
                _get(
                    f"{base}/api/cluster-runs/{run}/similar/?slide={tiles[i % len(tiles)][0]}"
                    f"&index={tiles[i % len(tiles)][1]}&k=24"
                )
                for i in picks
            ]
        if key == "labels":
            s = self.slide_ids
            return [
                _get(f"{base}/api/cluster-runs/{run}/slides/{s[i % len(s)]}/labels/") for i in picks
            ]
        if key == "baseline":
            return [_get(f"{self.naive}/clusters/{c[i % len(c)].index}/") for i in picks]
        raise KeyError(key)


def measure(work: Workload, token: str, repeats: int) -> tuple[dict, dict]:
    """Every variant at each concurrency: `repeats` requests in ROUNDS interleaved rounds."""
    auth = {"Authorization": f"Token {token}"}
    with requests.Session() as session:
        session.headers.update(auth)
        work.fetch_versions(session)
    first: dict[str, float] = {}
    for key in ENDPOINTS:  # warm-up: per-process caches (run files, similar index), plans
        warm = Timings()
        run_tasks(work.tasks(key, WARMUP), min(WARMUP, 4), warm, auth)
        _check(warm, f"warm-up {key}")
        first[key] = round(max(warm.latencies) * 1000, 1)
    timings = {key: {c: Timings() for c in CONCURRENCIES} for key in ENDPOINTS}
    rounds = max(1, min(ROUNDS, repeats))
    for r in range(rounds):
        share = repeats // rounds + (1 if r < repeats % rounds else 0)
        for c in CONCURRENCIES:
            for key in ENDPOINTS:
                run_tasks(work.tasks(key, share), c, timings[key][c], auth)
    figures = {}
    for key, label in ENDPOINTS.items():
        per_c = {}
        for c in CONCURRENCIES:
            _check(timings[key][c], label)
            per_c[str(c)] = timings[key][c].summary()
            common.log(
                f"  {key:<9} c={c}: p50 {per_c[str(c)]['p50_ms']:8.2f} ms  "
                f"p95 {per_c[str(c)]['p95_ms']:8.2f} ms  p99 {per_c[str(c)]['p99_ms']:8.2f} ms"
            )
        figures[key] = {"what": label, **per_c}
    return figures, first


def _check(timings: Timings, what: str) -> None:
    wrong = {code: n for code, n in timings.statuses.items() if code != "200"}
    if wrong:
        raise RuntimeError(f"{what}: unexpected HTTP statuses {wrong} (expected 200)")


def floors(base: str, naive: str, token: str) -> dict:
    """What a request costs without any gallery work, on the same servers and client."""
    auth = {"Authorization": f"Token {token}"}
    urls = {"trivial": f"{naive}/health", "auth": f"{base}/api/auth/me/"}
    out = {}
    for key, url in urls.items():
        out[key] = {"what": FLOORS[key]}
        for c in CONCURRENCIES:
            timings = Timings()
            run_tasks([_get(url)] * FLOOR_REQUESTS, c, timings, auth)
            _check(timings, FLOORS[key])
            out[key][str(c)] = timings.summary()
    return out


# --- main ----------------------------------------------------------------------------------------


def prepare(spec: dict) -> dict:
    """Everything the measurement needs, created once and reused."""
    written = ensure_tile_files(spec)
    ensure_vocabulary()
    ensure_groups()
    config = ensure_config(spec)
    slide_ids, recreated = ensure_slides(spec, config)
    people = users()
    run, note = ensure_run(spec, config, people["admin"], recreated)
    ensure_votes(run, [people[name] for name in REVIEWERS])
    return {
        "run": run,
        "slide_ids": slide_ids,
        "setup": {"tile_files_written_s": round(written, 1), **note},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run, a quick check")
    args = parser.parse_args()
    # REDIS_URL alone (no embedded services) serves as the cache too, as in the settings.
    if os.environ.get("REDIS_URL"):
        os.environ.setdefault("CACHE_URL", os.environ["REDIS_URL"])
    common.require_services()
    common.stop_on_sigterm()
    common.warn_if_busy()
    spec = QUICK if args.quick else FULL
    repeats = int(REPEATS or spec["repeats"])
    machine = common.machine()
    started = time.monotonic()
    database_url = common.ensure_database(os.environ["DATABASE_URL"], BENCH_DATABASE)
    root = data_root()
    root.mkdir(parents=True, exist_ok=True)
    env = {
        "DATABASE_URL": database_url,
        "DATA_ROOT": str(root),
        "DEBUG": "0",
        "LOG_LEVEL": "WARNING",
    }
    common.setup_django(database_url, **env)
    from webapp.clusters.models import Cluster
    from webapp.clusters.services.runs import run_dir

    prepared = prepare(spec)
    run = prepared["run"]
    clusters = list(Cluster.objects.filter(run=run).order_by("index"))
    data = describe(spec, run, prepared["slide_ids"])
    common.log(
        f"{data['slides']} slides, {data['tiles']:,} tiles, k = {data['k']}, run {run.pk}; "
        f"{repeats} requests per endpoint and concurrency"
    )
    checks = check_against_naive(run, clusters)
    naive_env = {"BASELINE_RUN_DIR": str(run_dir(run)), "BASELINE_DATA_ROOT": str(root)}
    with (
        common.gunicorn(
            "webapp.wsgi:application", name="gallery", env=env, ready_path="/api/health/"
        ) as base,
        common.gunicorn(
            "bench.baseline_gallery:app",
            name="gallery-baseline",
            env=naive_env,
            ready_path="/health",
        ) as naive,
    ):
        token = common.bench_user_token(base)
        work = Workload(base, naive, run, clusters, prepared["slide_ids"])
        figures, first = measure(work, token, repeats)
        floor = floors(base, naive, token)
    queries = sql_statements(token, run, clusters[0], prepared["slide_ids"][0], work.tiles[0])
    report = {
        "machine": machine,
        "quick": args.quick,
        "server": {"workers": common.GUNICORN_WORKERS, "threads": common.GUNICORN_THREADS},
        "database": {"name": BENCH_DATABASE, "where": unquote(database_url.split("@")[-1])},
        "data": data,
        "setup": prepared["setup"],
        "repeats": repeats,
        "rounds": max(1, min(ROUNDS, repeats)),
        "warmup_requests": WARMUP,
        "latency": figures,
        "first_request_ms": first,
        "floors": floor,
        "sql_statements": queries,
        "checks": checks,
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "bench_seconds": round(time.monotonic() - started, 1),
    }
    common.write_json("review_gallery-quick" if args.quick else "review_gallery", report)
    if not all(v for k, v in checks.items() if k != "clusters_compared"):
        common.log(f"CHECK FAILED: precomputed summaries differ from the naive ones: {checks}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
