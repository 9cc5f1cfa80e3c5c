"""The slide list API over 100,000 slide rows: latency of filtered pages and SQL queries per page.

The rows live in a bench database of their own (`rudolfv_bench`) on whatever server
DATABASE_URL names (the embedded one under `scripts/bench`, or the system PostgreSQL when
DATABASE_URL points there); they are created once with bulk_create and kept for later runs.
Latency is measured over loopback HTTP against gunicorn (the web app's process model), the
query count in-process with Django's CaptureQueriesContext.

Run through `scripts/bench`, or:
    rudolfv services -- python -m bench.slide_list_bench --label embedded
"""

import argparse
import os
import re
import sys
import time
from typing import TYPE_CHECKING
from urllib.parse import unquote

from bench import common

if TYPE_CHECKING:
    from webapp.slides.models import Slide

BENCH_DATABASE = "rudolfv_bench"
ROWS = 100_000
BATCH = 5_000
ROOTS = ("bench-list-a", "bench-list-b", "bench-list-c", "bench-list-d")
VENDORS = ("aperio", "hamamatsu", "mirax", "philips", "ventana", "generic-tiff")
PREFIXES = ("lab_", "case-", "biopsy_", "tma-", "lab-")
MPPS = (0.2265, 0.25, 0.46, 0.5, 1.0)
REPEATS = int(os.environ.get("BENCH_LIST_REPEATS", "30"))
FULL = (
    "status=registered&vendor=aperio&mpp_min=0.2&mpp_max=0.6&search=lab_"
    "&ordering=-created_at&page=3&page_size=50"
)
SEARCH = "rare search '012345'"
# What the slide browser asks for, from the plain first page to every filter at once.
QUERIES = {
    "first page, default order": "page=1&page_size=50",
    "status": "status=registered&page=3&page_size=50",
    "vendor + mpp range, newest first": (
        "vendor=aperio&mpp_min=0.2&mpp_max=0.6&ordering=-created_at&page=3&page_size=50"
    ),
    "all filters + search 'lab_'": FULL,
    SEARCH: "search=012345&page=1&page_size=50",
    "page 1000 (offset 49,950)": "ordering=-created_at&page=1000&page_size=50",
    "page_size=200": "status=registered&ordering=-created_at&page=2&page_size=200",
}
PAGE_SIZES = (10, 50, 200)


# --- data ------------------------------------------------------------------------------------


def _slide(i: int, roots: list) -> "Slide":
    from webapp.slides.models import Slide, SlideStatus

    # Deterministic but mixed: 90 % registered, 7 % failed, 3 % missing; six vendors.
    status = (
        SlideStatus.FAILED if i % 100 < 7 else SlideStatus.MISSING if i % 100 < 10 else "registered"
    )
    prefix = PREFIXES[i % len(PREFIXES)]
    name = f"{prefix}{i:06d}.svs"
    mpp = MPPS[(i // 7) % len(MPPS)]
    return Slide(
        root=roots[i % len(roots)],
        relative_path=f"site{i % 13:02d}/{2015 + i % 10}/{name}",
        name=name,
        status=status,
        failure_reason="The file cannot be read." if status == SlideStatus.FAILED else "",
        size_bytes=200_000_000 + (i * 7919) % 3_000_000_000,
        fingerprint=f"{i:064x}",
        vendor=VENDORS[(i // 3) % len(VENDORS)],
        level_count=4,
        width=40_000 + i % 60_000,
        height=30_000 + i % 40_000,
        mpp_x=mpp,
        mpp_y=mpp,
        objective_power=40.0 if mpp < 0.3 else 20.0,
        properties={"openslide.vendor": "bench", "bench.index": str(i)},
    )


def ensure_rows() -> dict:
    """100,000 slides across four roots, created once; returns how long creation took."""
    from django.db import connection, transaction

    from webapp.slides.models import Slide, SlideRoot

    roots = [
        SlideRoot.objects.get_or_create(name=name, defaults={"path": f"/bench/{name}"})[0]
        for name in ROOTS
    ]
    existing = Slide.objects.filter(root__in=roots).count()
    if existing == ROWS:
        return {"created": 0, "seconds": 0.0}
    common.log(f"creating {ROWS:,} slide rows (once; {existing:,} found)…")
    start = time.monotonic()
    Slide.objects.filter(root__in=roots).delete()
    for first in range(0, ROWS, BATCH):
        with transaction.atomic():
            Slide.objects.bulk_create(
                [_slide(i, roots) for i in range(first, min(ROWS, first + BATCH))]
            )
    with connection.cursor() as cursor:
        # auto_now_add gave every row the same instant; spread them over ~2 years for ordering.
        cursor.execute(
            "UPDATE slides_slide SET created_at = now() - id * interval '10 minutes', "
            "updated_at = now() - id * interval '5 minutes' WHERE root_id = ANY(%s)",
            [[r.pk for r in roots]],
        )
        cursor.execute("VACUUM ANALYZE slides_slide")
    seconds = round(time.monotonic() - start, 1)
    common.log(f"created in {seconds} s")
    return {"created": ROWS, "seconds": seconds}


def trigram_indexes() -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname FROM pg_indexes WHERE tablename = 'slides_slide' "
            "AND indexdef ILIKE '%%gin_trgm_ops%%' ORDER BY indexname"
        )
        return [row[0] for row in cursor.fetchall()]


def server_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return cursor.fetchone()[0]


# --- in-process: queries per page and the plan ------------------------------------------


def client(token: str):
    from django.test import Client

    return Client(HTTP_HOST=common.LOOPBACK, HTTP_AUTHORIZATION=f"Token {token}")


def queries_per_page(token: str) -> dict[int, dict]:
    """SQL statements of one request (token lookup included) at each page size."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    web = client(token)
    counts = {}
    for size in PAGE_SIZES:
        query = FULL.replace("page_size=50", f"page_size={size}")
        with CaptureQueriesContext(connection) as captured:
            reply = web.get(f"/api/slides/?{query}")
        if reply.status_code != 200:
            raise RuntimeError(f"/api/slides/?{query}: HTTP {reply.status_code}")
        counts[size] = {
            "queries": len(captured),
            "rows": len(reply.json()["results"]),
            "sql": [q["sql"][:120] for q in captured.captured_queries],
        }
    return counts


def _explain(sql: str) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN ANALYZE {sql}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    used = re.findall(
        r"Index (?:Only )?Scan (?:Backward )?using (\w+)|Bitmap Index Scan on (\w+)", plan
    )
    names = sorted({a or b for a, b in used}) or ["seq scan"]
    total = re.search(r"Execution Time: ([\d.]+) ms", plan)
    return {
        "indexes": names,
        "execution_ms": float(total[1]) if total else None,
        "distinct": "SELECT DISTINCT" in sql,
    }


def plans(token: str, query: str) -> dict[str, dict]:
    """Per SQL statement of the request (count, page): indexes used and execution time, from
    EXPLAIN ANALYZE: where the time of a slow filter goes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        client(token).get(f"/api/slides/?{query}")
    statements = [q["sql"] for q in captured.captured_queries if "slides_slide" in q["sql"]]
    return {
        ("count" if sql.startswith("SELECT COUNT") else "page"): _explain(sql) for sql in statements
    }


# --- over HTTP: latency -------------------------------------------------------------------


def latencies(base: str, token: str) -> dict[str, dict]:
    auth = {"Authorization": f"Token {token}"}
    figures = {}
    for label, query in QUERIES.items():
        url = f"{base}/api/slides/?{query}"
        common.run_load([url] * 3, concurrency=1, headers=auth)  # connections, plan cache
        result = common.run_load([url] * REPEATS, concurrency=1, headers=auth)
        common.check_statuses(result, 200, label)
        figures[label] = {"query": query, **result.as_dict()}
        common.log(f"  {label:<36} p50 {result.p50_ms:7.2f} ms  p95 {result.p95_ms:7.2f} ms")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", default="embedded", help="names the output file and column")
    args = parser.parse_args()
    common.require_services()
    common.stop_on_sigterm()
    common.warn_if_busy()
    database_url = common.ensure_database(os.environ["DATABASE_URL"], BENCH_DATABASE)
    env = {"DATABASE_URL": database_url, "DEBUG": "0", "LOG_LEVEL": "WARNING"}
    common.setup_django(database_url, **env)
    common.log(f"slide list on {args.label} PostgreSQL {server_version()}")
    creation = ensure_rows()
    with common.gunicorn(
        "webapp.wsgi:application", name=f"list-{args.label}", env=env, ready_path="/api/health/"
    ) as base:
        token = common.bench_user_token(base)
        figures = latencies(base, token)
    explained = {label: plans(token, q) for label, q in QUERIES.items()}
    report = {
        "machine": common.machine(),
        "label": args.label,
        "database": {
            "server": f"PostgreSQL {server_version()}",
            "where": unquote(database_url.split("@")[-1]),
            "trigram_indexes": trigram_indexes(),
        },
        "rows": ROWS,
        "creation": creation,
        "repeats": REPEATS,
        "latency": figures,
        "queries_per_page": queries_per_page(token),
        "plans": explained,
        # Indexes that exist but that the search filter's SQL cannot use help nobody.
        "search_uses_trigram_index": any(
            "trgm" in index
            for statement in explained[SEARCH].values()
            for index in statement["indexes"]
        ),
    }
    common.write_json(f"slide_list_{args.label}", report)


if __name__ == "__main__":
    sys.exit(main())
