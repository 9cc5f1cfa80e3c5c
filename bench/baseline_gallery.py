"""The baseline for the review-gallery benchmark: one cluster's page data computed the naive way.

What a first implementation of `GET /api/clusters/{id}/` does without the summarising phase:
on every request, read the run's slide list and every slide's label file, collect the tiles
of the cluster, sort them by distance for the representative (closest) and boundary
(farthest) exemplars, draw random ones, count tiles per slide for the composition, then read
the exemplar tiles' positions from their slides' tile files. No database, no authentication,
no slide names, no group/lab/scanner/stain composition: nothing our server does on top (which
makes the comparison conservative for ours).

Served by gunicorn with the same workers and threads as the web app:
    BASELINE_RUN_DIR=/data/clusters/run-7 BASELINE_DATA_ROOT=/data \
        python -m gunicorn bench.baseline_gallery:app
URLs: /health (a trivial response: the floor) and /clusters/<index>/.
"""

import json
import os
import re
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curation.cluster_assign import labels_path, read_sources

EXEMPLARS = 12  # per kind, as the web app's runs keep
TOP = 20  # slides in the composition, as the web app's summary keeps
RUN_DIR = Path(os.environ.get("BASELINE_RUN_DIR", "."))
DATA_ROOT = Path(os.environ.get("BASELINE_DATA_ROOT", "."))
CLUSTER_PATH = re.compile(r"/clusters/(?P<index>\d+)/?")


def naive_cluster(run_dir: Path, data_root: Path, index: int, seed: int = 0) -> dict:
    """The cluster's size, per-slide composition and exemplars, from the run's label files."""
    sources = read_sources(run_dir, data_root=data_root)
    slide_index, rows, distances, per_slide = [], [], [], []
    total = 0
    for source in sources:
        labels = pq.read_table(labels_path(run_dir, source.fingerprint))
        mine = np.flatnonzero(labels.column("cluster").to_numpy() == index)
        total += labels.num_rows
        if not len(mine):
            continue
        slide_index.append(np.full(len(mine), source.slide_index, dtype=np.int64))
        rows.append(mine)
        distances.append(labels.column("distance").to_numpy()[mine])
        per_slide.append((source.slide_id, len(mine)))
    size = sum(n for _, n in per_slide)
    if not size:
        return {"index": index, "size": 0, "composition": {"slide": []}, "exemplars": {}}
    slide_index, rows = np.concatenate(slide_index), np.concatenate(rows)
    distances = np.concatenate(distances)
    # Stable sorts over tiles in (slide, row) order: ties go to the earlier tile, as in ours.
    order = np.argsort(distances, kind="stable")
    chosen = {
        "representative": order[:EXEMPLARS],
        "boundary": np.argsort(-distances, kind="stable")[:EXEMPLARS],
        "random": np.random.default_rng(seed + index).choice(
            size, min(EXEMPLARS, size), replace=False
        ),
    }
    by_index = {s.slide_index: s for s in sources}
    positions: dict[int, object] = {}
    exemplars = {}
    for kind, picks in chosen.items():
        tiles = []
        for i in picks.tolist():
            source = by_index[int(slide_index[i])]
            if source.slide_index not in positions:
                positions[source.slide_index] = pq.read_table(
                    source.tile_path, columns=["x", "y", "size"]
                )
            table, row = positions[source.slide_index], int(rows[i])
            tiles.append(
                {
                    "slide": source.slide_id,
                    "row": row,
                    "x": table["x"][row].as_py(),
                    "y": table["y"][row].as_py(),
                    "size": table["size"][row].as_py(),
                    "distance": float(distances[i]),
                }
            )
        exemplars[kind] = tiles
    top = sorted(per_slide, key=lambda pair: (-pair[1], pair[0]))[:TOP]
    return {
        "index": index,
        "size": size,
        "share": size / total,
        "slide_count": len(per_slide),
        "composition": {
            "slide": [{"key": str(sid), "count": n, "share": n / size} for sid, n in top]
        },
        "exemplars": exemplars,
    }


def _reply(start_response, status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]


def app(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path == "/health":
        return _reply(start_response, "200 OK", b"ok", "text/plain")
    match = CLUSTER_PATH.fullmatch(path)
    if match is None:
        return _reply(start_response, "404 Not Found", b"not found", "text/plain")
    data = naive_cluster(RUN_DIR, DATA_ROOT, int(match["index"]))
    return _reply(start_response, "200 OK", json.dumps(data).encode(), "application/json")
