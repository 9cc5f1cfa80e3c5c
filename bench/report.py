"""Write docs/benchmarks.md from the JSON in bench/out/ (the last `scripts/bench` run).

The prose that does not depend on the figures is here too, so that the page and its numbers
always come from the same run.
"""

import json
import sys

from bench.common import OUT, REPO

DOC = REPO / "docs" / "benchmarks.md"
TARGET = 10.0  # warm ÷ baseline throughput the tile cache is meant to reach
CONCURRENCIES = ("1", "8")
TRIVIAL = "trivial WSGI app (client + loopback + gunicorn)"  # a floor's name in deepzoom.json
VARIANTS = (
    ("ours_cold", "ours, cold (first request of each tile)"),
    ("ours_warm", "ours, warm (Redis hits)"),
    ("ours_304", "ours, revalidation (`If-None-Match` → 304)"),
    ("baseline", "**baseline**: slide + generator opened per request"),
    ("baseline_kept_open", "baseline, slide kept open per process"),
)


def _load(name: str) -> dict | None:
    path = OUT / f"{name}.json"
    return json.loads(path.read_text()) if path.is_file() else None


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.1f}×" if b else "–"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.1f}"


# --- deep zoom ---------------------------------------------------------------------------------


def _ratios(slide: dict, c: str) -> tuple[float, float]:
    warm = slide["ours_warm"][c]["per_second"]
    return warm / slide["baseline"][c]["per_second"], warm / slide["baseline_kept_open"][c][
        "per_second"
    ]


def deepzoom_summary(data: dict) -> str:
    rows = []
    for slide in data["slides"]:
        row = [slide["name"]]
        for c in CONCURRENCIES:
            vs_baseline, vs_open = _ratios(slide, c)
            row += [f"**{vs_baseline:.1f}×**", f"{vs_open:.1f}×"]
        cold = [
            _ratio(slide["ours_cold"][c]["per_second"], slide["baseline"][c]["per_second"])
            for c in CONCURRENCIES
        ]
        row += [" / ".join(cold)]
        if TRIVIAL in data.get("floors", {}):
            ceiling = [
                _ratio(data["floors"][TRIVIAL][c]["per_second"], slide["baseline"][c]["per_second"])
                for c in CONCURRENCIES
            ]
            row += [" / ".join(ceiling)]
        rows.append(row)
    header = [
        "slide",
        "warm ÷ baseline, c=1",
        "warm ÷ kept-open, c=1",
        "warm ÷ baseline, c=8",
        "warm ÷ kept-open, c=8",
        "cold ÷ baseline, c=1 / c=8",
    ]
    if TRIVIAL in data.get("floors", {}):
        header.append("ceiling: trivial WSGI ÷ baseline, c=1 / c=8")
    verdicts = []
    for slide in data["slides"]:
        ratios = [_ratios(slide, c)[0] for c in CONCURRENCIES]
        met = "met" if all(r >= TARGET for r in ratios) else "not met"
        figures = " / ".join(f"{r:.1f}×" for r in ratios)
        verdicts.append(f"{slide['name']}: **{met}** ({figures} at c = 1 / 8)")
    verdict = (
        f"Target warm ÷ baseline ≥ {TARGET:.0f}×, per slide: " + "; ".join(verdicts) + "; see "
        "*What the numbers mean*."
    )
    ceiling = (
        " The last column is about the most any server could reach with this client on this "
        "machine: an app that does nothing and answers a few bytes (the first row of *What a "
        "request costs without any tile work*) against the baseline."
        if TRIVIAL in data.get("floors", {})
        else ""
    )
    return _table(header, rows) + "\n\n" + verdict + ceiling


def deepzoom_slide(slide: dict) -> str:
    w, h = slide["dimensions"]
    title = (
        f"#### {slide['name']}: {w:,} × {h:,} px, {slide['mpp']} µm/px, "
        f"{slide['size_mb']} MB, {slide['deepzoom_levels']} deep-zoom levels, "
        f"{slide['tiles']} tiles per session"
    )
    opening = (
        f"Opening the slide and building its `DeepZoomGenerator` (what the baseline repeats on "
        f"every request) took {slide['open_ms']} ms in the bench process."
        if "open_ms" in slide
        else ""
    )
    header = ["variant"] + [
        f"{what}, c={c}" for c in CONCURRENCIES for what in ("tiles/s", "p50 ms", "p95 ms")
    ]
    rows = []
    for key, label in VARIANTS:
        row = [label]
        for c in CONCURRENCIES:
            run = slide[key][c]
            spread = f" ({run['per_second_min']:.0f}–{run['per_second_max']:.0f})"
            row += [f"{run['per_second']:.0f}{spread}", _ms(run["p50_ms"]), _ms(run["p95_ms"])]
        rows.append(row)
    notes = (
        f"Same JPEG bytes from ours and the baseline on a sample of tiles: "
        f"{slide['identical_jpeg_sample']}. Redis keys after each cold round: "
        f"{', '.join(str(k) for c in CONCURRENCIES for k in slide['cache_keys_after_cold'][c])} "
        f"(= {slide['tiles']} tiles: every warm request was a hit)."
    )
    return f"{title}\n\n{_table(header, rows)}\n\n{opening} {notes}"


def deepzoom_floors(data: dict) -> str:
    header = ["request (no tile work)"] + [
        f"{what}, c={c}" for c in CONCURRENCIES for what in ("req/s", "p50 ms")
    ]
    rows = []
    for label, runs in data["floors"].items():
        rows.append(
            [label]
            + [
                v
                for c in CONCURRENCIES
                for v in (f"{runs[c]['per_second']:.0f}", _ms(runs[c]["p50_ms"]))
            ]
        )
    return _table(header, rows)


def deepzoom_section(data: dict | None) -> str:
    if not data:
        return "## Deep-zoom tiles\n\nNot run (no `bench/out/deepzoom.json`).\n"
    server = data["server"]
    geometry = data["tile_geometry"]
    slides = "\n\n".join(deepzoom_slide(s) for s in data["slides"])
    return f"""## Deep-zoom tiles

{deepzoom_summary(data)}

Throughput is tiles per second over the whole session list (tiles/s = requests ÷ wall time),
latency per request as the client saw it; each figure is the median of {data["rounds"]} rounds,
with the range of the rounds' tiles/s in brackets. c = concurrent client connections.
Every server: gunicorn, {server["workers"]} workers × {server["threads"]} threads. \
Tiles: {geometry["tile_size"]} px, overlap {geometry["overlap"]}, \
JPEG quality {geometry["quality"]}.

{slides}

#### What a request costs without any tile work (same servers, same client)

{deepzoom_floors(data)}
"""


# --- slide list --------------------------------------------------------------------------------


def _list_runs() -> list[dict]:
    return [
        d for d in (_load(f"slide_list_{n}") for n in ("embedded", "configured", "system")) if d
    ]


def slide_list_section(runs: list[dict]) -> str:
    if not runs:
        return "## Slide list API\n\nNot run (no `bench/out/slide_list_*.json`).\n"
    servers = _table(
        ["column", "server", "where", "pg_trgm indexes", "search uses them", "rows"],
        [
            [
                r["label"],
                r["database"]["server"],
                f"`{r['database']['where']}`",
                ", ".join(r["database"]["trigram_indexes"]) or "none (no pg_trgm)",
                "yes" if r.get("search_uses_trigram_index") else "no",
                f"{r['rows']:,}",
            ]
            for r in runs
        ],
    )
    header = (
        ["filter (`/api/slides/?…`)"]
        + [f"{r['label']}: p50 / p95 ms" for r in runs]
        + [f"{r['label']}: SQL ms count + page" for r in runs]
    )
    rows = []
    for label, first in runs[0]["latency"].items():
        row = [f"{label}<br>`{first['query']}`"]
        row += [
            f"{_ms(r['latency'][label]['p50_ms'])} / {_ms(r['latency'][label]['p95_ms'])}"
            for r in runs
        ]
        for r in runs:
            plan = r["plans"][label]
            row.append(
                " + ".join(
                    f"{_ms(plan[k]['execution_ms'])} ({', '.join(plan[k]['indexes'])})"
                    for k in ("count", "page")
                    if k in plan
                )
            )
        rows.append(row)
    sizes = list(runs[0]["queries_per_page"])
    queries = _table(
        ["column"] + [f"page_size={s}" for s in sizes],
        [
            [r["label"]]
            + [
                f"{page['queries']} queries, {page['rows']} rows"
                for page in (r["queries_per_page"][s] for s in sizes)
            ]
            for r in runs
        ],
    )
    return f"""## Slide list API

{servers}

Latency of one request at a time over loopback HTTP ({runs[0]["repeats"]} requests per filter
after 3 warm-up requests), and what PostgreSQL spends on the two statements of the request
(`EXPLAIN ANALYZE` of the count and the page query, with the indexes the plan uses):

{_table(header, rows)}

SQL statements per request (count and page; the token's user comes from Redis after the
first request) for the all-filters query, counted
in-process with `CaptureQueriesContext`; they must not grow with the page size:

{queries}
"""


# --- tagging and groups ------------------------------------------------------------------------

TAGGING_COMMAND = ".venv/bin/rudolfv services -- .venv/bin/python -m bench.tagging_bench"


def _seconds(value: float) -> str:
    return f"{value:.2f}" if value < 10 else f"{value:.1f}"


def _scaled(run: dict, key: str, scale: float) -> str:
    """A naive figure for the whole set: measured × scale when timed on a subset."""
    value = run[key] * scale
    text = _seconds(value) if key == "seconds" else f"{value:,.0f}"
    return text if scale == 1 else f"{text} (×{scale:g})"


def tagging_bulk_table(bulk: dict) -> str:
    ours, naive = bulk["ours"], bulk["naive"]
    scale = naive["scale"]
    total = {
        "ours": ours["add"]["seconds"] + ours["remove"]["seconds"],
        "naive": (naive["add"]["seconds"] + naive["remove"]["seconds"]) * scale,
    }
    rows = [
        [
            "`tags_change` (one transaction per call)",
            _seconds(ours["add"]["seconds"]),
            f"{ours['add']['queries']}",
            _seconds(ours["remove"]["seconds"]),
            f"{ours['remove']['queries']}",
            f"{ours['transactions']}",
            f"**{_seconds(total['ours'])}**",
            "1×",
        ],
        [
            "naive: a transaction and a few queries per slide",
            _scaled(naive["add"], "seconds", scale),
            _scaled(naive["add"], "queries", scale),
            _scaled(naive["remove"], "seconds", scale),
            _scaled(naive["remove"], "queries", scale),
            f"{naive['transactions'] * scale:,.0f}",
            f"**{_seconds(total['naive'])}**",
            f"**{_ratio(total['naive'], total['ours'])}**",
        ],
    ]
    header = [
        f"variant ({bulk['slides']:,} slides)",
        "add: s",
        "add: SQL statements",
        "remove: s",
        "remove: SQL statements",
        "transactions",
        "add + remove: s",
        "÷ ours",
    ]
    return _table(header, rows)


def tagging_groups_table(groups: dict) -> str:
    ours = groups["ours"]
    scale = groups["slides"] / groups["naive"]["slides_timed"]
    variants = [
        ("`groups_summary`: one `COUNT` per group, + 2 for in none / in several", ours, 1.0),
        (
            "one aggregate query (a `CASE` per group and slide; the design it replaced)",
            groups["per_group"],
            1.0,
        ),
        ("naive: the tags of one slide per query, rules in Python", groups["naive"], scale),
    ]
    rows = [
        [
            label,
            f"**{_scaled(run, 'seconds', factor)}**",
            _scaled(run, "queries", factor),
            _ratio(run["seconds"] * factor, ours["seconds"]),
        ]
        for label, run, factor in variants
    ]
    header = [f"variant ({groups['slides']:,} slides)", "s", "SQL statements", "s ÷ ours"]
    return _table(header, rows)


def tagging_counts_table(groups: dict) -> str:
    counts = groups["ours"]["counts"]
    rows = [[name, f"`{rule}`", f"{counts[name]:,}"] for name, rule in groups["rules"].items()]
    rows.append(["*in no group*", "", f"{counts['in_no_group']:,}"])
    rows.append(["*in several groups*", "", f"{counts['in_multiple_groups']:,}"])
    return _table(["group", "rule", "slides"], rows)


def _yes(value: bool) -> str:
    return "yes" if value else "**NO**"


def tagging_notes(bulk: dict, groups: dict) -> str:
    notes = []
    naive = bulk["naive"]
    if naive["scale"] != 1:
        notes.append(
            f"The naive bulk edit was timed on the first {naive['slides_timed']:,} of the "
            f"{bulk['slides']:,} slides and its figures multiplied by {naive['scale']:g} "
            "(marked ×): it does the same work for every slide, so it grows linearly."
        )
    if groups["naive"]["slides_timed"] < groups["slides"]:
        notes.append(
            f"The naive group count was timed on the first "
            f"{groups['naive']['slides_timed']:,} slides and scaled the same way."
        )
    shape = groups.get("aggregate_query", {})
    if shape:
        notes.append(
            f"Why one `COUNT` per group beats a single aggregate query: that query's SQL "
            f"holds {shape['exists_in_sql']} `EXISTS` subqueries (each group's condition "
            "appears three times: in its own sum, in *in no group* and in *in several "
            f"groups*), and its plan runs {shape['subplans_in_plan']} correlated subplans, "
            "evaluated slide by slide, while in a filtered `COUNT` PostgreSQL reads each "
            "term's tags once (hash joins, hashed subplans), and *in no group* is an anti-join. "
            "The number of queries grows with the number of groups (tens), never with slides."
        )
    return " ".join(notes)


def tagging_section(data: dict | None) -> str:
    if not data:
        return "## Tagging and groups\n\nNot run (no `bench/out/tagging.json`).\n"
    bulk, groups, db = data["bulk_tagging"], data["groups"], data["database"]
    categories = ", ".join(
        f"{c['key']} ({c['terms']}{', multi' if c['multi_valued'] else ''})"
        for c in data["data"]["categories"]
    )
    checks, group_checks = bulk["checks"], groups["checks"]
    return f"""## Tagging and groups

{data["data"]["slides"]:,} slides with {data["data"]["tags"]:,} tags in \
{len(data["data"]["categories"])} categories (terms per category; *multi* = multi-valued):
{categories}. {data["data"]["untagged_slides"]:,} slides have no tags. PostgreSQL \
{db["server_version"]} (embedded), `fsync={db["fsync"]}`, \
`synchronous_commit={db["synchronous_commit"]}`, `shared_buffers={db["shared_buffers"]}`; \
run on {data["machine"]["date"]}, load average \
{", ".join(str(x) for x in data["machine"]["loadavg_at_start"])} at its start.

**Bulk tagging**: add the term *{bulk["term"]}* to {bulk["slides"]:,} slides, then remove it \
({bulk["slides_untagged_before"]:,} of them had no tags, so their review status changes both \
ways). `tags_change`: median of {bulk["ours"]["rounds"]} rounds (totals \
{", ".join(_seconds(t) for t in bulk["ours"]["total_seconds_all_rounds"])} s).

{tagging_bulk_table(bulk)}

Same tags, review statuses and audit rows after the add, on the slides both variants \
tagged: {_yes(checks["same_state_after_add"])} ({checks["tags_added"]:,} tags, \
{checks["audit_rows_after_add"]:,} audit rows, {checks["review_status_changes"]:,} review \
statuses changed). The remove restored the starting tags and review statuses after both: \
{_yes(checks["start_restored"])}.

**Group counting**: the {len(groups["rules"])} groups below over all \
{groups["slides"]:,} slides, with the slides in no group and in several; median of \
{len(groups["ours"]["seconds_all_rounds"])} rounds for the first two rows, one run of the \
naive way.

{tagging_groups_table(groups)}

Same counts as `groups_summary`: the one aggregate query \
{_yes(group_checks["per_group_same_counts"])}, naive {_yes(group_checks["naive_same_counts"])} \
(compared on {group_checks["naive_compared_on"]}).

{tagging_counts_table(groups)}

{tagging_notes(bulk, groups)}

How: in-process Django against a bench database of its own (`{db["name"]}`), built once with
`bulk_create` (single-valued categories: one term per slide, skewed like an archive: 60 % H&E,
90 % FFPE; multi-valued: 1–3 terms, Zipf-like) and kept for later runs. Time is wall time
around the call, SQL statements are counted with a `connection.execute_wrapper` (BEGIN and
COMMIT not included, hence the transactions column). The naive bulk edit (`naive_tag_slide` in
`bench/tagging_bench.py`) is what a per-slide implementation does: per slide a transaction,
`SELECT … FOR UPDATE` of the slide, a lookup of the tag, an `INSERT` (or `DELETE`), an audit
row, and a review-status check and update; every variant starts from the same tags and an
empty audit log. The naive group count fetches each slide's term ids with one query and
evaluates the parsed rules in Python. Reproduce:

```sh
{TAGGING_COMMAND}
.venv/bin/python -m bench.report
```
"""


# --- tiling ------------------------------------------------------------------------------------

TILING_COMMAND = ".venv/bin/python -m bench.tiling_bench"
TILING_ROWS = (
    ("raw", "(a) raw OpenSlide `read_region`, 1 process: the limit"),
    ("ours_w1", "(b) `tile_slide`, workers=1 (everything)"),
    ("ours_w2", "(b) `tile_slide`, workers=2"),
    ("ours_slides_w1", "(b) `tile_slides` over copies of the slide, workers=1"),
    ("ours_slides_w2", "(b) `tile_slides` over copies of the slide, workers=2"),
    ("ours_parts", "(b) `tile_slide`'s steps timed one by one, 1 process"),
    ("naive", "(c) per-tile PIL + scikit-image + numpy, 1 process"),
)


def _met(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def tiling_table(slide: dict) -> str:
    v = slide["variants"]
    raw, raw_cpu = v["raw"]["tiles_per_s"], v["raw"]["tiles_per_cpu_s"]
    rows = []
    for key, label in TILING_ROWS:
        run = v[key]
        memory = f"{run['total_peak_mb']:.0f}"
        if run.get("worker_peak_mb") and key.endswith("_w2"):
            memory += f" ({run['peak_mb']:.0f} + 2 × {run['worker_peak_mb']:.0f})"
        rows.append(
            [
                label,
                f"{run['tiles']:,}",
                f"{run['seconds']:.2f}",
                f"**{run['tiles_per_s']:.0f}**",
                f"{run['tiles_per_s'] / raw:.2f}×",
                f"{run['tiles_per_cpu_s']:.0f}",
                f"{run['tiles_per_cpu_s'] / raw_cpu:.2f}×",
                memory,
            ]
        )
    header = [
        "variant",
        "tiles",
        "wall s",
        "tiles/s",
        "÷ (a)",
        "tiles per CPU-s",
        "÷ (a), CPU",
        "peak MB",
    ]
    return _table(header, rows)


def tiling_parts(slide: dict) -> str:
    parts = slide["variants"]["ours_parts"]["parts"]
    tiles = slide["variants"]["ours_parts"]["tiles"]
    total = sum(parts.values())
    raw = slide["variants"]["raw"]["seconds"]
    shares = ", ".join(
        f"{name} {seconds:.2f} s ({seconds / total:.0%}, {1000 * seconds / tiles:.1f} ms/tile)"
        for name, seconds in parts.items()
    )
    return (
        f"Where `tile_slide`'s time goes (one process, {tiles:,} tiles): {shares}. The raw "
        f"reads of (a) took {raw:.2f} s ({1000 * raw / tiles:.1f} ms/tile): the rest of *read + "
        "resample* is the reader's own work (RGBA → RGB on white, resampling to 256 px)."
    )


def tiling_slide(slide: dict, data: dict) -> str:
    w, h = slide["dimensions"]
    copies = slide["variants"]["ours_slides_w1"].get("slides")
    serial = (
        f" With {slide['tiles']} tiles, `tile_slide` does not start a pool (it needs more than "
        "batch size × workers = 128 tiles), so workers=2 runs as workers=1."
        if slide["tiles"] <= 128
        else ""
    )
    naive = slide["variants"]["naive"]["tiles"]
    subset = (
        f" (c) was timed on the first {naive:,} tiles; its rate holds for all (every tile costs "
        "the same)."
        if naive < slide["tiles"]
        else ""
    )
    return f"""#### {slide["name"]}: {w:,} × {h:,} px, {slide["mpp"]} µm/px, levels \
{", ".join(f"{d:g}" for d in slide["levels"])}, {slide["size_mb"]:.0f} MB

{slide["tiles"]:,} tissue tiles of 256 px at 0.5 µm/px = {slide["tile_size_level0"]:.1f} \
level-0 px, read from level {slide["read_level"]}; `tile_slides` ran over {copies} copies of \
the slide. Load average after this slide's runs: \
{", ".join(str(x) for x in slide["loadavg_after"])}.{serial}{subset}

{tiling_table(slide)}

{tiling_parts(slide)}
"""


def tiling_verdicts(data: dict) -> str:
    goals = data["goals"]
    lines = []
    for slide in data["slides"]:
        c = slide["checks"]
        lines.append(
            f"- *{slide['name']}*: (b) single process ÷ (a) ≥ {goals['vs_raw']:g}×: "
            f"{_met(c['ours_vs_raw'] >= goals['vs_raw'])} ({c['ours_vs_raw']:.2f}× wall, "
            f"{c['ours_vs_raw_cpu']:.2f}× per CPU second). Near-linear scaling (≥ "
            f"{2 * goals['scaling']:.1f}× on 2 cores): `tile_slides` "
            f"{_met(c['scaling_tile_slides'] >= 2 * goals['scaling'])} "
            f"({c['scaling_tile_slides']:.2f}×), `tile_slide` "
            f"{_met(c['scaling_tile_slide'] >= 2 * goals['scaling'])} "
            f"({c['scaling_tile_slide']:.2f}×); CPU seconds per tile, workers=2 ÷ workers=1 "
            f"(the pool's own overhead): {c['cpu_overhead_tile_slides']:.2f} / "
            f"{c['cpu_overhead_tile_slide']:.2f}. "
            f"Clearly faster than (c) (≥ {goals['vs_naive']:g}×): "
            f"{_met(c['ours_vs_naive'] >= goals['vs_naive'])} ({c['ours_vs_naive']:.1f}×). "
            f"Same tile set written as planned: {_yes(c['same_tiles'])}."
        )
    load = data["machine"]["loadavg_at_start"][0]
    lines.append(
        f"- Wall-time scaling needs idle cores: the load average was {load} at the start "
        f"on {data['machine']['nproc']} cores (other work on the machine), so the 2-worker "
        "wall figures understate scaling; the CPU-seconds ratio above is what the pool itself "
        "costs."
    )
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    days = seconds / 86_400
    return f"{days:.1f} days" if days >= 1 else f"{seconds / 3600:.1f} hours"


def tiling_projection(p: dict) -> str:
    return (
        f"**Projection**: {p['tiles']:,} tiles (134,000 slides × 9,000 tiles) at "
        f"{p['tiles_per_s_per_core']:.0f} tiles per CPU second ((b), one process, "
        f"*{p['slide']}*; {p['tiles_per_s_per_core_wall']:.0f} tiles/s wall here) on "
        f"{p['cores']} cores: **{_duration(p['linear_seconds'])}** assuming linear scaling, "
        f"{_duration(p['efficiency_seconds'])} if every core keeps the "
        f"{p['measured_efficiency']:.0%} per-core efficiency `tile_slides` showed from 1 to 2 "
        "cores here. The assumption: slides are independent jobs (a process pool over slides, "
        "nothing shared but the disk), so cores add up until storage or memory bandwidth "
        "runs out; two cores cannot show where that happens on a 64-core machine. Reading "
        "the slides is not modelled: here they came from the page cache."
    )


def tiling_section(data: dict | None) -> str:
    if not data:
        return "## Tiling\n\nNot run (no `bench/out/tiling.json`).\n"
    m, peer = data["machine"], data["peer"]
    peer_line = (
        f"(c) The peer tool, {peer['tool']}, was not installed: {peer['reason']}. The "
        "straightforward per-tile pipeline stands in for it."
        if not peer["installed"]
        else f"(c) {peer['tool']}."
    )
    slides = "\n".join(tiling_slide(s, data) for s in data["slides"])
    return f"""## Tiling

The paper's recipe (256 px tiles at 0.5 µm/px, tissue only, 36 colour features and 4 quality
signals per tile) on the same slide and the same tile set, every variant in one run, each in
a fresh process; {m["nproc"]} cores ({m["cpu"]}), run on {m["date"]}, load average \
{", ".join(str(x) for x in m["loadavg_at_start"])} at its start. The whole run took \
{data["bench_seconds"]:.0f} s.

{tiling_verdicts(data)}

{tiling_projection(data["projection"])}

{slides}
{peer_line}

How: the tissue grid is planned once with `plan_slide` and every variant uses it. (a) reads
every tile's region with `openslide.OpenSlide.read_region` at the level `SlideReader` would
read 0.5 µm/px from (on the 0.25 µm/px slide: level 0, 512 px regions that (b) then reduces
2×), and keeps nothing. (b) is `tile_slide` end to end: overview and tissue detection, reads,
resampling, `colour_features`, `quality_signals`, the Parquet write; its tiles are compared
with the plan. `tile_slides` is the same per slide, with a pool over slides, which is how an
archive is tiled. (c) reads each tile at level 0 with PIL, `.resize()`s it to 256 px, then
runs scikit-image's `rgb2lab`, `rgb2hsv`, `rgb2hed` and `rgb2gray`, numpy moments per channel
and a Laplacian per tile (no tissue detection, no file written: that favours it). tiles/s is
tiles ÷ wall time; *tiles per CPU-s* divides by the CPU time of the process and its workers
instead, which other work on a shared machine does not inflate. Peak memory is the process's
VmHWM; with workers it adds each worker's peak (`RUSAGE_CHILDREN`), an upper bound since the
forked workers count pages shared with the parent and peaks need not coincide. One round per
variant (`BENCH_TILING_ROUNDS` for more; the median is kept). Reproduce:

```sh
{TILING_COMMAND}
.venv/bin/python -m bench.report
```
"""


# --- clustering ----------------------------------------------------------------------------------

CLUSTERING_COMMAND = ".venv/bin/python -m bench.clustering_bench"
KMEANS_ROWS = (
    ("ours", "ours: `curation.kmeans.train` (FAISS; k-means++ starts, 256 points per centroid)"),
    ("ours_all_points", "ours, trained on all points"),
    ("sklearn_kmeans", "**scikit-learn `KMeans`** (lloyd, k-means++, n_init=1, tol=0)"),
    ("sklearn_minibatch", "scikit-learn `MiniBatchKMeans` (n_init=1)"),
)
ARCHIVE_TILES = 1_250_000_000


def _signed_percent(value: float) -> str:
    return f"{100 * value:+.1f} %"


def kmeans_table(kmeans: dict) -> str:
    rows = []
    for key, label in KMEANS_ROWS:
        run = kmeans["variants"][key]
        points = run.get("training_points", kmeans["points"])
        epochs = run.get("epochs_run")
        ran = (
            f", stopped after {epochs} epoch{'s' if epochs != 1 else ''} "
            f"({run['steps_run']:,} mini-batches)"
            if epochs is not None
            else ""
        )
        rows.append(
            [
                label + ran,
                f"{points:,}",
                f"{run['seconds']:.2f}",
                f"{run['cpu_seconds']:.2f}",
                f"**{run['speedup_vs_kmeans']:.1f}×**",
                f"{run['inertia']:,.0f}",
                _signed_percent(run["inertia_vs_kmeans"]),
                f"{run['peak_mb']:.0f}",
            ]
        )
    header = [
        "variant",
        "points trained on",
        "wall s",
        "CPU s",
        "KMeans s ÷ variant s",
        "inertia (all points)",
        "vs KMeans",
        "peak MB",
    ]
    return _table(header, rows)


def assignment_table(assignment: dict) -> str:
    runs = assignment["runs"]
    rows = []
    for count in (assignment["subset_files"], assignment["files"]):
        for variant, label in (("ours", "ours: `assign_sources`"), ("baseline", "baseline")):
            run = runs[f"{variant}_{count}"]
            rows.append(
                [
                    label,
                    f"{run['slides']:,} × {assignment['rows_per_file']:,} = {run['tiles']:,}",
                    f"{run['seconds']:.1f}",
                    f"**{run['tiles_per_s']:,.0f}**",
                    f"{run['cpu_seconds']:.1f}",
                    f"**{run['peak_mb']:,.0f}**",
                ]
            )
    header = ["variant", "slides × tiles", "wall s", "tiles/s", "CPU s", "peak MB"]
    return _table(header, rows)


def clustering_section(data: dict | None) -> str:
    if not data:
        return "## Clustering\n\nNot run (no `bench/out/clustering.json`).\n"
    m, kmeans, assignment = data["machine"], data["kmeans"], data["assignment"]
    checks, goals = kmeans["checks"], data["goals"]
    full = kmeans["variants"]["ours_all_points"]
    model = assignment["model"]
    big = assignment["runs"][f"ours_{assignment['files']}"]
    base = assignment["runs"][f"baseline_{assignment['files']}"]
    small = assignment["runs"][f"ours_{assignment['subset_files']}"]
    same = all(v for k, v in assignment["runs"].items() if k.startswith("same_labels"))
    hours = ARCHIVE_TILES / big["tiles_per_s"] / 3600
    versions = ", ".join(f"{k} {v}" for k, v in data["versions"].items() if v)
    written_s = assignment.get("tile_files_written_s", 0)
    written = f" ({written_s:.0f} s of it writing the tile files, done once)" if written_s else ""
    return f"""## Clustering

k-means and the assignment of every tile to its cluster, in one run on {m["nproc"]} cores \
({m["cpu"]}), run on {m["date"]}, load average \
{", ".join(str(x) for x in m["loadavg_at_start"])} at its start and \
{", ".join(str(x) for x in data["loadavg_after"])} at its end (other work on the machine: \
wall times are noisy, CPU seconds less so). The whole run took \
{data["bench_seconds"]:.0f} s{written}. {versions}.

- Goal: ours ≥ {goals["speedup"]:g}× faster than scikit-learn's `KMeans` at an inertia within \
{100 * goals["inertia_gap"]:g} %: {_met(checks["met"])} ({checks["speedup"]:.1f}× faster, \
inertia {_signed_percent(checks["inertia_gap"])}). Trained on all {kmeans["points"]:,} points \
instead of a sample: {full["speedup_vs_kmeans"]:.1f}× faster, inertia \
{_signed_percent(full["inertia_vs_kmeans"])}.
- Assignment: {big["tiles_per_s"]:,.0f} tiles/s over {big["tiles"]:,} tiles in one process, \
with a peak of {big["peak_mb"]:,.0f} MB ({small["peak_mb"]:,.0f} MB for \
{small["tiles"]:,} tiles: memory does not grow with the archive), against \
{base["peak_mb"]:,.0f} MB for the in-memory baseline ({base["tiles_per_s"]:,.0f} tiles/s). \
Same labels as the baseline on every slide: {_yes(same)}. At this rate one process assigns \
the archive's {ARCHIVE_TILES / 1e9:.2f} billion tiles in {hours:.1f} hours, \
{hours / 64 * 60:.1f} minutes on 64 processes (slides are independent; storage not modelled).

**k-means**: {kmeans["points"]:,} × {kmeans["dim"]} points, k = {kmeans["k"]}, \
{kmeans["iterations"]} iterations, one initialisation each, each variant in a fresh process; \
the inertia of every variant's centroids is computed afterwards the same way (exact squared \
distance of all {kmeans["points"]:,} points to their nearest centroid, float64).

{kmeans_table(kmeans)}

**Assignment**: {assignment["files"]} tile-store files × {assignment["rows_per_file"]:,} \
tiles, the model trained on a 500-tile-per-slide sample ({model["sample_tiles"]:,} tiles, \
read by `sample_features` in {model["sample_seconds"]:.1f} s; trained in \
{model["train_seconds"]:.1f} s).

{assignment_table(assignment)}

How: the k-means points are drawn from a mixture of {kmeans["components"]} anisotropic \
Gaussians (random rotations, axis scales 0.1–1.5, centres with standard deviation 4, weights \
from a Dirichlet(0.5), so a few components hold most points, as the commonest tissues do in \
an archive) and standardised. Ours starts from greedy k-means++ seeds and runs FAISS's Lloyd \
iterations on a seeded sample of 256 points per centroid (FAISS's default cap); `KMeans` runs \
25 full Lloyd iterations over all points after its own greedy k-means++; `MiniBatchKMeans` \
stops by its own convergence test. The tile files carry the same mixture's features at \
per-feature scales and offsets (raw colour features are on very different scales) and \
random quality columns; they are written once under `BENCH_DIR` and reused. `assign_sources` \
reads each file in record batches of 65,536 rows, writes each slide's label file \
atomically (fsync + rename) and keeps sizes, quality sums, composition and 12 exemplars of \
each kind per cluster. The baseline reads every file's features into one array, assigns \
them with one search (same `Assigner`) and writes the label files without fsync (which \
favours it). Peak memory is each process's VmHWM. Every process waits passively for \
OpenMP work (`OMP_WAIT_POLICY=PASSIVE`, set by `curation.kmeans`): with spinning waits FAISS \
ran several times slower on this 2-core machine (nearest-centroid search over 1M points: \
1.16 s instead of 0.24 s). Reproduce:

```sh
{CLUSTERING_COMMAND}
.venv/bin/python -m bench.report
```
"""


# --- review gallery ----------------------------------------------------------------------------

GALLERY_COMMAND = ".venv/bin/rudolfv services -- .venv/bin/python -m bench.review_gallery_bench"
GALLERY_ROWS = (
    ("detail", "`GET /api/clusters/{id}/` (exemplars + composition)"),
    ("votes", "`GET /api/clusters/{id}/votes/`"),
    ("page", "**one cluster page**: detail + votes, in sequence"),
    ("list", "`GET /api/clusters/?run=R&page_size=200`"),
    ("map", "`GET /api/cluster-runs/R/map/`"),
    ("review", "`POST /api/clusters/{id}/review/` (a decision)"),
    ("similar", "`GET /api/cluster-runs/R/similar/?slide=&index=&k=24`"),
    ("labels", "`GET /api/cluster-runs/R/slides/{slide}/labels/`"),
    ("baseline", "**naive**: the cluster's data from every label file, per request"),
)
GALLERY_FLOORS = (
    ("trivial", "floor: trivial WSGI app (client + loopback + gunicorn)"),
    ("auth", "floor: DRF + token auth (`/api/auth/me/`)"),
)


def _gallery_row(label: str, run: dict, sql: str = "") -> list[str]:
    row = [label, sql, f"{run['1']['mean_bytes'] / 1000:.1f}"]
    for c in CONCURRENCIES:
        row += [_ms(run[c][q]) for q in ("p50_ms", "p95_ms", "p99_ms")]
    return row


def gallery_table(data: dict) -> str:
    sql = data.get("sql_statements", {})
    rows = [
        _gallery_row(label, data["latency"][key], str(sql.get(key, "–")))
        for key, label in GALLERY_ROWS
    ]
    rows += [_gallery_row(label, data["floors"][key], "–") for key, label in GALLERY_FLOORS]
    header = ["request", "SQL", "KB"] + [
        f"{q}, c={c}" for c in CONCURRENCIES for q in ("p50 ms", "p95 ms", "p99 ms")
    ]
    return _table(header, rows)


def gallery_ratios(data: dict) -> str:
    latency = data["latency"]
    naive = latency["baseline"]
    rows = []
    pairs = (("detail", "naive ÷ detail"), ("page", "naive ÷ one cluster page (+ votes)"))
    for key, label in pairs:
        row = [label]
        for c in CONCURRENCIES:
            row += [f"**{_ratio(naive[c][q], latency[key][c][q])}**" for q in ("p50_ms", "p95_ms")]
        rows.append(row)
    auth = data["floors"]["auth"]
    row = ["one cluster page ÷ DRF + token auth floor"]
    for c in CONCURRENCIES:
        row += [_ratio(latency["page"][c][q], auth[c][q]) for q in ("p50_ms", "p95_ms")]
    rows.append(row)
    header = ["ratio"] + [f"{q}, c={c}" for c in CONCURRENCIES for q in ("p50", "p95")]
    return _table(header, rows)


def review_gallery_section(data: dict | None) -> str:
    if not data:
        return "## Review gallery API\n\nNot run (no `bench/out/review_gallery.json`).\n"
    m, d, setup, checks = data["machine"], data["data"], data["setup"], data["checks"]
    sizes = d["cluster_sizes"]
    same = all(v for k, v in checks.items() if k != "clusters_compared")
    p99 = (
        f" With {data['repeats']} requests, p99 is the slowest request or close to it."
        if data["repeats"] < 200
        else ""
    )
    return f"""## Review gallery API

What the review gallery fetches per cluster, over loopback HTTP against the web app under \
gunicorn ({data["server"]["workers"]} workers × {data["server"]["threads"]} threads), with a \
pathologist's API token; {m["nproc"]} cores ({m["cpu"]}), run on {m["date"]}, load average \
{", ".join(str(x) for x in m["loadavg_at_start"])} at its start and \
{", ".join(str(x) for x in data["loadavg_after"])} at its end (other work on the machine: \
absolute figures are noisy, ratios measured side by side less so). The whole run took \
{data["bench_seconds"]:.0f} s.

**Data**: one colour cluster run, k = {d["k"]}, over {d["slides"]} slides with \
{d["tiles"]:,} tiles ({d["tiles_per_slide"][0]:,}–{d["tiles_per_slide"][1]:,} per slide; \
cluster sizes {sizes["min"]:,} / {sizes["median"]:,} / {sizes["max"]:,} tiles, min / median / \
max), sampled {d["per_slide_sample"]} tiles per slide, similar-tile index over \
{d["indexed_tiles"]:,} tiles. The slides carry {d["tags"]:,} tags (lab, scanner, stain, \
tissue) and fall into {d["groups"]} rule groups, so each cluster's composition has five \
non-trivial dimensions. The run was executed in-process through the web app's own service \
(`run_execute`: sampling, training, map, assignment, summaries, Cluster rows, index) in \
{setup["execute_seconds"]:.0f} s, once; its rows and files are reused by later runs. Two \
other pathologists have voted on every cluster.

{gallery_table(data)}

{data["repeats"]} requests per row and concurrency (c = concurrent clients), in \
{data["rounds"]} interleaved rounds after {data["warmup_requests"]} warm-up requests each \
(every worker process has then loaded the run's slide list, model and similar-tile \
index).{p99} *SQL*: statements of one request, counted in-process (the token comes from \
Redis); *KB*: mean response body. The floors are the same client against a trivial WSGI app \
and against a DRF view that only authenticates.

{gallery_ratios(data)}

Same exemplar tiles (representative and boundary, in rank order) and same per-slide counts \
in the composition from the naive computation as in the Cluster rows, on the first \
{checks["clusters_compared"]} clusters: {_yes(same)}.

How: the slides are rows only (`bulk_create`, a fake root, no image files: nothing here \
reads pixels); each has a tile-store file written with `curation.tile_store` whose 36 colour \
features come from the clustering bench's Gaussian mixture, with component weights that \
depend on the slide's stain and a colour shift per lab. *One cluster page* is what the \
gallery waits for when moving to the next cluster: the detail, then the votes, one after \
the other on one connection. The review posts alternately an acceptance, a rejection and \
a reset, each with the version the gallery holds (from the list, then from each answer), \
cycling over clusters so no two clients write the same one. Similar tiles cycle over each \
cluster's first representative tile, labels over the run's slides. The naive baseline \
(`bench/baseline_gallery.py`, its own gunicorn with the same workers and threads) reads \
every slide's label file of the run per request, collects the cluster's tiles, sorts them \
by distance for the representative and boundary tiles, draws random ones, counts per slide \
and reads the exemplars' positions from their tile files; it has no database, no \
authentication, no slide names and no group, lab, scanner or stain composition, which \
favours it. Reproduce:

```sh
{GALLERY_COMMAND}
.venv/bin/python -m bench.report
```
"""


# --- dataset export ------------------------------------------------------------------------------

DATASET_COMMAND = ".venv/bin/rudolfv services -- .venv/bin/python -m bench.dataset_export_bench"
DATASET_FORMATS = (
    ("parquet", "`GET /api/datasets/{id}/manifest.parquet`"),
    ("csv", "`GET /api/datasets/{id}/manifest.csv`"),
    ("jsonl", "`GET /api/datasets/{id}/manifest.jsonl`"),
)


def _mb(value: float) -> str:
    return f"{value:,.1f}"


def dataset_export_table(data: dict) -> str:
    export, drf, ratios = data["export"], data["drf_list"], data["ratios"]
    rows = []
    for fmt, label in DATASET_FORMATS:
        e = export[fmt]
        rows.append(
            [
                label,
                f"{e['bytes'] / 1e6:,.1f}",
                f"{e['seconds']:.2f}",
                f"{e['rows_per_s']:,.0f}",
                f"{e['mb_per_s']:,.0f}",
                f"+{_mb(e['server_peak_growth_mb'])} (of {_mb(e['server_rss_before_mb'])})",
                f"{e.get('server_cpu_s', 0):.2f}",
                f"**{ratios[fmt]:,.0f}×**",
            ]
        )
    rows.append(
        [
            f"**DRF list**, page_size {drf['page_size']:,}, following `next` "
            f"(extrapolated from {drf['pages_timed']} of {drf['pages']:,} pages)",
            f"{drf['mean_page_bytes'] * drf['pages'] / 1e6:,.0f}",
            f"{drf['extrapolated_seconds']:,.0f}",
            f"{drf['rows_per_s']:,.0f}",
            f"{drf['mean_page_bytes'] * drf['pages'] / drf['extrapolated_seconds'] / 1e6:,.1f}",
            f"+{_mb(drf['server_peak_growth_mb'])} (of {_mb(drf['server_rss_before_mb'])})",
            f"{drf.get('server_cpu_s_per_page', 0) * drf['pages']:,.0f} (extrapolated)",
            "1×",
        ]
    )
    header = [
        "download",
        "MB",
        "seconds",
        "rows/s",
        "MB/s",
        "server RSS growth, MB (of)",
        "server CPU s",
        "ours ÷ DRF list",
    ]
    return _table(header, rows)


def dataset_build_table(data: dict) -> str:
    built = data["build"]
    b = built["build"]
    rows = [
        [
            "`build_manifest` (eligibility, allocation, draw, write, stats)",
            f"{b['seconds']:.1f}",
            f"{b['rows_per_s']:,.0f}",
            f"{b['peak_mb']:,.0f}",
            f"{built['sizes']['parquet'] / 1e6:,.0f} (Parquet)",
        ]
    ]
    for fmt in ("csv", "jsonl"):
        w = built[f"write_{fmt}"]
        rows.append(
            [
                f"`write_{fmt}`",
                f"{w['seconds']:.1f}",
                f"{w['rows_per_s']:,.0f}",
                f"{w['peak_mb']:,.0f}",
                f"{built['sizes'][fmt] / 1e6:,.0f}",
            ]
        )
    return _table(["step", "seconds", "rows/s", "peak RSS, MB", "file, MB"], rows)


def dataset_export_section(data: dict | None) -> str:
    if not data:
        return "## Dataset export\n\nNot run (no `bench/out/dataset_export.json`).\n"
    m, d, built, export = data["machine"], data["data"], data["build"], data["export"]
    drf, wds, checks = data["drf_list"], data["webdataset"], data["checks"]
    b = built["build"]
    resume = export["resume"]
    ratios = data["ratios"]
    goal = data["goal_ratio"]
    met = all(ratios[f] >= goal for f in ("parquet", "jsonl"))
    first = data["ratios_vs_first_pages"]
    page_ms = drf["page_ms"]
    pages = sorted(page_ms, key=int)
    spread = ", ".join(f"page {int(p):,}: {page_ms[p]:,.0f} ms" for p in (pages[0], pages[-1]))
    groups = " : ".join(f"{w:g}" for w in d["groups"].values())
    fmts = ("parquet", "csv", "jsonl")
    growth = max(export[f]["server_peak_growth_mb"] for f in fmts)
    biggest = max(export[f]["bytes"] for f in fmts) / 1e9
    downloads_ok = all(v for k, v in checks.items() if k.startswith(fmts))
    categories = " : ".join(f"{w:g}" for w in d["categories"].values())
    written = d.get("tile_files_written_s", 0)
    fresh = f" (this run wrote them in {written:.0f} s)" if written else ""
    filled = drf["table"]["filled_s"]
    filled_text = f"filled in {filled:.0f} s this run" if filled else "filled by an earlier run"
    return f"""## Dataset export

A dataset version's manifest built by the real sampler, then downloaded over loopback HTTP \
from the web app under gunicorn ({data["server"]["workers"]} workers × \
{data["server"]["threads"]} threads) with a read-scope API token, side by side with a DRF \
paginated JSON list of the same rows under its own gunicorn; {m["nproc"]} cores \
({m["cpu"]}), run on {m["date"]}, load average \
{", ".join(str(x) for x in m["loadavg_at_start"])} at its start and \
{", ".join(str(x) for x in data["loadavg_after"])} at its end. The whole run took \
{data["bench_seconds"]:.0f} s (the build below is done once and reused).

- Goal: Parquet and JSON Lines downloads ≥ {goal:g}× the rows/s of the DRF list at bounded \
memory: {_met(met)} (Parquet {ratios["parquet"]:,.0f}×, JSON Lines \
{ratios["jsonl"]:,.0f}×, CSV {ratios["csv"]:,.0f}×; the server's workers grew by at most \
{growth:.1f} MB while sending files of up to {biggest:.1f} GB). \
Against the DRF list's best case (its first pages, where OFFSET costs nothing): Parquet \
{first["parquet"]:,.0f}×, JSON Lines {first["jsonl"]:,.0f}×, CSV {first["csv"]:,.0f}×.
- Build: {b["rows"]:,} rows from {d["slides"]:,} slides ({d["tiles"]:,} tiles) in \
{b["seconds"]:.0f} s, {b["rows_per_s"]:,.0f} rows/s, peak {b["peak_mb"]:,.0f} MB.
- WebDataset: `write_shards` {wds["shards_tiles_per_s"]:,.0f} tiles/s against \
{wds["raw_tiles_per_s"]:,.0f} tiles/s reading the same tiles raw \
({wds["shards_vs_raw"]:.2f} of the raw rate).

**Build** (`curation.dataset_sampling.build_manifest`, each step in a fresh process, peak RSS \
= its VmHWM; built {built["built_at"]}):

{dataset_build_table(data)}

{d["slides"]:,} synthetic slides with {d["tiles_per_slide"][0]:,}–{d["tiles_per_slide"][1]:,} \
tiles each: tile-store files (x, y, size, mpp, tissue fraction, sharpness, pen score) and \
label files of a k = {d["k"]} run in `cluster_assign`'s schema, written once under \
`BENCH_DIR`{fresh}. Recipe: {len(d["groups"])} slide groups weighted {groups}, \
{len(d["categories"])} categories over {d["k"] - d["excluded_clusters"]} of the \
{d["k"]} clusters weighted {categories} (the other {d["excluded_clusters"]} clusters \
excluded), min tissue fraction {d["min_tissue_fraction"]}, max pen score \
{d["max_pen_score"]}, at most {d["per_slide_cap"]:,} tiles per slide, split by slide (10 % \
validation), budget {d["budget"]:,} (shortfall {b["shortfall"]:,}).

**Export** (`GET /api/datasets/{{id}}/manifest.*`, one download each, streamed and \
discarded by the client):

{dataset_export_table(data)}

*rows/s*: manifest rows ÷ download seconds (request to last byte). *Server RSS growth*: \
the largest growth of a gunicorn worker's RSS over its value just before the download, \
sampled from `/proc` every 10 ms (in parentheses: the worker's RSS before). *Server CPU \
s*: user + system CPU seconds of the workers during the download (the body goes out by \
sendfile(2): the kernel copies the file, so the client, one Python process reading 1 MiB \
chunks on the same 2 cores, is the limit). Every download \
had the file's size, the CSV and JSON Lines one line per row (plus the header), the Parquet \
file the manifest's SHA-256: {_yes(downloads_ok)}. \
Resume: the first half of the Parquet file with `Range`, then the rest with \
`Range: bytes={resume["content_range"].split(" ")[1].split("-")[0]}-` and `If-Range` (the \
ETag) → {resume["status"]} `Content-Range: {resume["content_range"]}`; the two halves hash \
to the checksum: {_yes(resume["joined_matches_checksum"])}; a stale `If-Range` gets the whole \
file: {_yes(resume["stale_if_range_gives_whole_file"])}.

The DRF list (`bench/baseline_manifest_list.py`): the same rows in a PostgreSQL table \
(`bench_manifest_row`, COPY from the CSV, {drf["table"]["bytes"] / 1e9:.1f} GB, \
{filled_text}), a `ModelSerializer` and a `ListAPIView` with `PageNumberPagination` \
(page_size {drf["page_size"]:,}), no authentication (which favours it). Paging through all \
{drf["pages"]:,} pages would take {_duration(drf["extrapolated_seconds"])} (`COUNT(*)` and an \
OFFSET scan on every page), so \
runs of {drf["follow"]} pages (following `next`) from {len(drf["starts"])} evenly spread \
start pages, first to last, were timed: {spread}, mean {drf["mean_page_ms"]:,.0f} ms; the \
total is the mean × pages. Its first pages alone run at \
{drf["first_pages_rows_per_s"]:,.0f} rows/s.

**WebDataset**: a manifest of {wds["tiles"]:,} tiles built by `build_manifest` over a tile \
file of {wds["slide"]} ({wds["tile_size"]}-px tiles at {wds["target_mpp"]} µm/px on a 32-px \
grid, overlapping; slide at {wds["mpp"]:.3f} µm/px). `write_shards` (JPEG quality 90 + the \
row as JSON, tar shards of 1,000, atomic writes): {wds["shards_seconds"]:.1f} s, \
{wds["shards_tiles_per_s"]:,.0f} tiles/s, {wds["shards"]} shards, \
{wds["shard_bytes"] / 1e6:,.0f} MB. `SlideReader.read` of the same tiles in a loop (one open \
reader, no JPEG, no tar, after 50 warm-up reads; timed before and after the shards, the \
faster counts): {wds["raw_seconds"]:.1f} s, {wds["raw_tiles_per_s"]:,.0f} tiles/s. One \
process, one after the other. Reproduce:

```sh
{DATASET_COMMAND}
.venv/bin/python -m bench.report
```
"""


# --- training ----------------------------------------------------------------------------------

TRAINING_COMMAND = ".venv/bin/python -m bench.training_bench"
GPU_TRAINING_COMMAND = ".venv/bin/python -m bench.gpu_training_bench"
PHOTOMETRIC = ("ColorJitter", "RandomGrayscale", "GaussianBlur")


def training_pipeline_table(p: dict) -> str:
    raw = p["variants"]["raw"]["tiles_per_s"]
    rows = []
    for key, v in p["variants"].items():
        per_worker = v.get("tiles_per_s_per_worker")
        ratio = "1×" if key == "raw" else f"{v['tiles_per_s'] / raw:.2f}×"
        rounds = ", ".join(f"{x:,.1f}" for x in v["tiles_per_s_rounds"])
        if key == "ours_w1":
            ratio = f"**{ratio}**"
        rows.append(
            [
                v["label"],
                f"{v['tiles_per_s']:,.1f} ({rounds})",
                "–" if per_worker is None else f"{per_worker:,.1f}",
                ratio,
                f"{v['tiles_per_cpu_s']:,.1f}",
            ]
        )
    header = ["variant", "tiles/s, best (rounds)", "per worker", "÷ raw", "tiles per CPU s"]
    return _table(header, rows)


def training_profile_table(profile: dict) -> str:
    stages = {s["stage"]: s for s in profile["stages"]}
    order = [k for k in stages if not k.startswith(("global crops", "local crops", "rest"))]
    rows = []
    for key in order:
        rows.append([key, f"{stages[key]['ms_per_tile']:.2f}", f"{stages[key]['share']:.0%}"])
    for kind in ("global", "local"):
        total = stages.get(f"{kind} crops (all)")
        if total:
            rows.append(
                [f"**{kind} crops, all**", f"{total['ms_per_tile']:.2f}", f"{total['share']:.0%}"]
            )
        for key, s in stages.items():
            if key.startswith(f"{kind} crops: "):
                rows.append([f"  {key}", f"{s['ms_per_tile']:.2f}", f"{s['share']:.0%}"])
    rest = next(s for k, s in stages.items() if k.startswith("rest"))
    rows.append([rest["stage"], f"{rest['ms_per_tile']:.2f}", f"{rest['share']:.0%}"])
    return _table(["stage (in-process, 1 torch thread)", "ms per tile", "share"], rows)


def _photometric_ms(profile: dict) -> float:
    return sum(
        s["ms_per_tile"]
        for s in profile["stages"]
        if ": " in s["stage"] and s["stage"].split(": ", 1)[1].startswith(PHOTOMETRIC)
    )


def training_steps_table(steps: dict) -> str:
    rows = []
    for c in steps["configs"]:
        plain, ckpt = c["plain"], c["grad_checkpointing"]
        rows.append(
            [
                c["label"],
                f"{c['global_crops']} / {c['local_crops']}",
                str(c["batch"]),
                f"{c['student_params_m']:.1f}",
                f"{plain['step_s_median']:.3f}",
                f"{plain['steps_per_s']:.2f}",
                f"{plain['images_per_s']:.1f}",
                f"{ckpt['step_s_median']:.3f}",
                f"{ckpt['images_per_s']:.1f}",
                f"{c['checkpointing_slowdown']:.2f}×",
            ]
        )
    header = [
        "model",
        "crops (global / local)",
        "batch",
        "student params, M",
        "step s",
        "steps/s",
        "images/s",
        "grad checkpointing: step s",
        "images/s",
        "slowdown",
    ]
    return _table(header, rows)


def training_gpu(gpu: dict | None) -> str:
    if not gpu or gpu.get("tiny"):
        return f"""**One GPU** (`bench/gpu_training_bench.py`): not run: no GPU in the sessions \
so far. It measures images/s and peak memory of `Trainer.train_step` with bf16 autocast for \
ViT-S/14 (`vit_s_single_gpu`, batch 64 and 128) and ViT-L/14 (`paper_vit_l14` heads, random \
init, batch 32 and 64) at 224 px global and 8 × 98 px local crops on synthetic tiles (random \
uint8 256 px tiles with the worker-side draws, so each step includes the augmentation on the \
GPU; no slide I/O), catches out-of-memory, and sets the figures beside \
the DINOv2 README/paper reference (about 70 images/s per A100-80GB for ViT-L/14, derived from \
the README's 3.3-day ImageNet-22k run on 96 GPUs; the README gives no ViT-S figure). Meant \
to take under 5 minutes on an H100 (not timed yet); `--compile`, `--grad-checkpointing`, \
`--steps N`, `--json OUT`. Checked here only with `--device cpu --tiny` (a tiny model, \
2 steps). On a GPU machine:

```sh
{GPU_TRAINING_COMMAND}          # writes bench/out/gpu_training.json
.venv/bin/python -m bench.report
```
"""
    rows = []
    for r in gpu["runs"]:
        ref = r.get("reference_images_per_s")
        if r["status"] != "ok":
            rows.append([r["name"], str(r["batch"]), r["status"], "–", "–", "–", "–"])
            continue
        rows.append(
            [
                r["name"],
                str(r["batch"]),
                f"{r['images_per_s']:,.1f}",
                f"{r['step_s_median']:.3f}",
                f"{r['peak_allocated_gib']:.1f} ({r['peak_reserved_gib']:.1f})"
                if "peak_allocated_gib" in r
                else "–",
                "–" if ref is None else f"{ref:g}",
                "–" if ref is None else f"{r['images_per_s'] / ref:.2f}×",
            ]
        )
    header = [
        "model",
        "batch",
        "images/s",
        "step s",
        "peak GiB allocated (reserved)",
        "DINOv2 README/paper, images/s per GPU",
        "ours ÷ reference",
    ]
    name = gpu["gpu"]["name"] if gpu.get("gpu") else gpu["device"]
    flags = (
        ", ".join(
            f
            for f, on in (
                ("compile", gpu["compile"]),
                ("grad checkpointing", gpu["grad_checkpointing"]),
            )
            if on
        )
        or "no compile, no grad checkpointing"
    )
    return f"""**One GPU** (`bench/gpu_training_bench.py`, {name}, {gpu["precision"]}, \
{flags}, {gpu["warmup_steps"]} warm-up and {gpu["timed_steps"]} timed steps, synthetic \
collated batches on the GPU, run on {gpu["machine"]["date"]}):

{_table(header, rows)}

{gpu["reference_note"]} Reproduce: `{GPU_TRAINING_COMMAND}`.
"""


def training_section(data: dict | None, gpu: dict | None = None) -> str:
    if not data:
        return "## Training\n\nNot run (no `bench/out/training.json`).\n\n" + training_gpu(gpu)
    m, d, p, profile = data["machine"], data["data"], data["pipeline"], data["profile"]
    v, ratios = p["variants"], p["ratios"]
    raw_ms = 1000 / v["raw"]["tiles_per_s"]
    ours_ms = 1000 / v["ours_w1"]["tiles_per_s"]
    device_ms = 1000 / v["device_cpu"]["tiles_per_s"]
    workers_ms = 1000 / v["workers_aug_w1"]["tiles_per_s"]
    photometric = _photometric_ms(profile)
    slides = ", ".join(
        f"{name} ({s['mpp']:g} µm/px, {s['tissue_tiles']:,} tissue tiles)"
        for name, s in d["slides"].items()
    )
    steps = data.get("steps")
    steps_text = training_steps_table(steps) if steps else "Not run this time (`--skip-steps`)."
    threads = steps["torch_threads"] if steps else "–"
    top = "; ".join(f"`{f['function']}` {f['share']:.0%}" for f in profile["cprofile_top"][:5])
    return f"""## Training

The trainer's manifest data source and its loop on CPU (`bench/training_bench.py`, no GPU, \
no server): {m["nproc"]} cores ({m["cpu"]}), torch {data["torch"]}, run on {m["date"]}, load \
average {", ".join(str(x) for x in m["loadavg_at_start"])} at its start and \
{", ".join(str(x) for x in data["loadavg_after"])} at its end (other work shared the \
machine: compare the ratios, measured side by side, rather than the absolute figures). The \
whole run took {data["bench_seconds"]:.0f} s.

- Goal: the data pipeline with multi-crop and augmentations ≥ {p["goal"]:g}× the tiles/s of \
raw reads of the same tiles, per worker: {_met(p["goal_met"])} (1 worker \
{v["ours_w1"]["tiles_per_s"]:,.1f} tiles/s against {v["raw"]["tiles_per_s"]:,.1f} tiles/s \
raw: **{ratios["ours_w1"]:.2f}×**; per CPU second {p["ratio_per_cpu_s_w1"]:.2f}×; 2 workers \
{ratios["w2_per_worker"]:.2f}× per worker). A worker spends {ours_ms:.1f} ms on a tile that \
takes {raw_ms:.1f} ms to read: the crops are made on the training device \
(`trainer.data.device_augment`).
- The design this replaced, every crop made by torchvision transforms in the worker, reached \
{ratios["workers_aug_w1"]:.2f}× ({workers_ms:.0f} ms a tile; where the time went is below).
- The device half on this CPU (one thread, no GPU): {device_ms:.0f} ms a tile, \
{v["device_cpu"]["tiles_per_s"]:,.1f} tiles/s, \
{v["device_cpu"]["tiles_per_s"] / v["workers_aug_w1"]["tiles_per_s"]:.1f}× the old worker's \
rate for the same crops (batched over the whole batch), and the part a CPU-only run pays in its \
step time; on a GPU it is a few batched kernels, counted in the step time by \
`bench/gpu_training_bench.py` (which feeds uint8 tiles through it).
- Steps: see the table below; `grad_checkpointing` costs \
{", ".join(f"{c['checkpointing_slowdown']:.2f}×" for c in steps["configs"]) if steps else "–"} \
in step time on CPU (it saves activation memory, which matters on a GPU, not here).

**Data pipeline** (`trainer.data.manifest_source`: `StepSampler`, `StepBatches`, \
`batch_iterator`, with the collate `trainer.cli._collate` builds for `vit_s_single_gpu`: 2 × \
224 px global and 8 × 98 px local crops, Reinhard stain transfer with per-slide statistics \
precomputed by `precompute_stain_stats` ({d["stain_stats_s"]:.1f} s), rot90/flip, colour \
jitter, grey, Gaussian blur, iBOT block masks; batch {p["batch"]}, weighted sampling). As \
trained, a worker reads the tiles and draws every random choice of the batch (crop boxes, \
dihedral transforms, jitter factors and order, grey, blur sigmas, stain donors, masks) and \
hands over uint8 tiles (192 KiB a tile instead of 2.0 MiB of float crops); `augment_batch` \
makes the crops on the device. The manifest: {d["tiles"]:,} of the {d["tissue_tiles"]:,} \
tissue tiles ({d["tile_size"]} px at {d["target_mpp"]} µm/px on a {d["stride"]}-px grid, \
planned by `plan_slide`), evenly spread, from three generated pyramidal slides made once under \
`BENCH_DIR`: {slides}. Each variant reads the tiles of the same {p["steps_timed"]} steps \
({p["steps_timed"] * p["batch"]} tiles) after an untimed first batch per worker; \
{p["rounds"]} rounds, interleaved, the best counts:

{training_pipeline_table(p)}

*raw*: `curation.tile_loader.ReaderCache.read` of the same rows in a loop (one process, one \
open reader per slide, the same resampling from the 0.25 µm/px slide). *tiles per CPU s*: \
tiles ÷ CPU seconds of the process and its DataLoader workers over the whole variant \
(warm-up included): less sensitive to other work on the machine than wall time. *2 workers* \
share the 2 cores with the main process and the other work on the machine, so their wall \
rate says little here.

**Where the time went with everything in the worker** ({profile["batches"]} batches of \
{p["batch"]} tiles in-process, {profile["ms_per_tile"]:.1f} ms per tile; each part timed by a \
wrapper; cProfile over one more batch, by own time: {top}):

{training_profile_table(profile)}

The photometric transforms alone (colour jitter, grey, blur) took {photometric:.1f} ms a tile, \
many times a read: per-pixel work on ten crops that a CPU worker cannot keep up with, and \
that a GPU does for a whole batch in a few kernels (one `roi_align` for all crops, the jitter \
of each crop as one 3 × 3 colour matrix, the blur as one grouped separable convolution, the \
Reinhard transfer in LAB).

**Steps** (`Trainer.train_step` on pre-built batches of the manifest's tiles through each \
recipe's collate, the device augmentation included, two batches in turn; torch on {threads} \
thread(s); one untimed step, then plain and checkpointed steps interleaved; the median counts; \
images = tiles, each with its global and local crops):

{steps_text}

ViT-S/14 runs the `vit_s_single_gpu` heads (65,536 prototypes, shared DINO / iBOT head) at \
reduced crops so that a step fits a CPU; its figures say what a CPU can do (smoke runs, \
tests), not what training needs.

{training_gpu(gpu)}
Reproduce (about 4 minutes on 2 cores, plus about 30 s the first time for the slides):

```sh
{TRAINING_COMMAND}
.venv/bin/python -m bench.report
```
"""


# --- load ----------------------------------------------------------------------------------------

LOAD_COMMAND = ".venv/bin/rudolfv services -- .venv/bin/python -m bench.load_bench"
LOAD_ENDPOINTS = ("slide list", "deep-zoom tile", "cluster detail", "cluster votes")


def load_table(data: dict) -> str:
    rows = [
        [
            str(level["users"]),
            f"{level['requests']:,}",
            f"{level['per_second']:.1f}",
            _ms(level["p50_ms"]),
            _ms(level["p95_ms"]),
            _ms(level["p99_ms"]),
            str(level["errors"]),
            f"{level['loadavg_1min_before']:.1f}",
        ]
        for level in data["levels"]
    ]
    header = ["users", "requests", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "load before"]
    return _table(header, rows)


def load_endpoint_table(data: dict) -> str:
    rows = []
    for name in LOAD_ENDPOINTS:
        row = [name]
        for level in data["levels"]:
            e = level["endpoints"].get(name)
            row += [f"{e['per_second']:.1f}", _ms(e["p95_ms"])] if e else ["–", "–"]
        rows.append(row)
    header = ["endpoint"] + [
        f"{q}, u={level['users']}" for level in data["levels"] for q in ("req/s", "p95 ms")
    ]
    return _table(header, rows)


def load_section(data: dict | None) -> str:
    if not data:
        return "## Load\n\nNot run (no `bench/out/load.json`).\n"
    m, d = data["machine"], data["data"]
    run = d["cluster_run"]
    start = ", ".join(str(x) for x in m["loadavg_at_start"])
    end = ", ".join(str(x) for x in data["loadavg_at_end"])
    clusters = data.get("gallery_clusters", min(40, run["clusters"]))
    message = run["message"].rstrip(".")
    errors = (
        "No request failed."
        if not data["errors"]
        else f"**{data['errors']} requests failed** (see `levels[].failures` in the JSON)."
    )
    return f"""## Load

The web app under concurrent browsing: {data["tool"]} on the same machine drives one gunicorn \
({data["server"]["workers"]} workers × {data["server"]["threads"]} threads) over loopback; \
{m["nproc"]} cores ({m["cpu"]}), run on {m["date"]}. **The machine was shared with other \
work** (test runs of other sessions): load average {start} at the start, {end} at the \
end, and the 1-minute \
load average before each level is in the table. On 2 cores the load generator, gunicorn, \
PostgreSQL and Redis compete for the same CPUs, so these are a floor, not the app's capacity; \
the whole run took {data["bench_seconds"]:.0f} s.

**Data** (database `{data["database"]["name"]}`, built once with the other benches' builders): \
{d["slides"]:,} slide rows (the slide list bench's 100,000, the gallery's tagged slides, \
the generated slide), a colour cluster run of {run["clusters"]} clusters ({message}) \
with {run["votes"]} votes, and the deep-zoom bench's generated \
{d["deepzoom_slide"]["dimensions"][0]:,} × {d["deepzoom_slide"]["dimensions"][1]:,} px slide.

{load_table(data)}

{errors} Each simulated user loops without think time (a closed loop: *users* is the number \
of requests in flight) over, by weight 2 : 3 : 2, a slide-list page (one of the slide list \
bench's filter sets: plain, status, vendor + mpp range, all filters + search, rare search, \
page 1000, page_size=200), a viewer viewport (4 deep-zoom tiles in sequence, from four \
viewer sessions over {d["distinct_tiles"]} distinct tiles, every one requested once before \
timing: Redis hits) and a gallery page (cluster detail, then its votes, over \
{clusters} clusters). {data["seconds_per_level"]} s per level, \
statistics reset once all users are started. Latencies are locust's (percentiles rounded to \
two significant digits above 100 ms).

{load_endpoint_table(data)}

Reproduce (`BENCH_LOAD_SECONDS` sets the seconds per level; `--quick` uses the gallery's small \
run and 15 s per level):

```sh
{LOAD_COMMAND}
.venv/bin/python -m bench.report
```
"""


# --- the page ------------------------------------------------------------------------------------


def machine_line(data: dict) -> str:
    m = data["machine"]
    load = ", ".join(str(x) for x in m.get("loadavg_at_start", [])) or "?"
    return (
        f"{m['nproc']} cores ({m['cpu']}), Python {m['python']}; run on {m['date']}, "
        f"load average {load} when the deep-zoom run started"
    )


METHOD = """## Method

- **Deep-zoom tiles.** A viewer session's tile list per slide, the same for every variant:
  every level whose tile grid has at most 48 tiles (what opening a slide loads), then one
  1920 × 1080 viewport, centred on tissue, at each deeper level down to full resolution, then
  two half-screen pans at full resolution. The load generator (`bench/common.py`: threads,
  one keep-alive `requests.Session` each, each URL requested once, in order) runs on the same
  machine. *Ours* is the web app (`webapp.wsgi`, `DEBUG=0`, token authentication, a database
  lookup of the slide per request) on a bench database (`rudolfv_bench_tiles`) and a Redis
  database of its own; *cold* rounds start fresh gunicorn processes after flushing that Redis
  database, so every request is the first for its tile and each process opens the slide once.
  The *baseline* (`bench/baseline_deepzoom.py`) is the plain approach of openslide-python's
  deep-zoom example: open the slide and build a `DeepZoomGenerator` on every request, render,
  encode; no cache, no database, no authentication. *Baseline, kept open* keeps one open
  generator per process (the LRU idea of openslide's multi-slide example): the difference to
  it is what the Redis tile cache adds on its own. Both servers render the same tiles (same
  geometry and JPEG quality; the bytes are compared on a sample). The slide files are read
  once before the runs so every variant finds them in the OS page cache.
- **Slide list.** 100,000 slide rows (4 roots, 6 vendors, 90 % registered, 5 mpp values,
  names like `lab_000123.svs`, creation times spread over two years) are bulk-created once
  in a bench database `rudolfv_bench` on the server under test and kept for later runs; the
  web app runs under gunicorn against it.
"""

LIMITS = """## What the numbers mean, and their limits

- **Ratios, not absolute figures.** Client and servers share one small machine (see above),
  so the client's own CPU time is part of every latency and caps every throughput; ratios
  between variants measured side by side in the same run are what carry over to other
  machines. The variants run interleaved, round by round, so that other work on the machine
  (see the load average above) slows them alike; the bracketed ranges show how much the
  rounds still differ. Loopback only: no network latency, no TLS, no proxy.
- **Where a warm tile's time goes.** A warm tile is a Redis read, but the request still runs
  Django, DRF and the token check (a Redis read; the slide comes from a per-process cache
  that lives `DEEPZOOM_SLIDE_TTL` seconds). The table of requests without tile work shows that
  floor: a warm tile can be at most about as fast as `/api/auth/me/`. The baseline pays
  OpenSlide work instead: opening the slide (cheap for a file with few directories, more for a
  scanner file with many levels and associated images), reading and decoding the source JPEG
  tiles, resampling, encoding. The warm ÷ baseline ratio is therefore highest where tiles are
  expensive to render (low deep-zoom levels of a slide without a matching pyramid level, as in
  the single-level CMU excerpt, whose overview tiles are downsampled from the full image on
  every request) and lowest where they are cheap (full-resolution tiles read straight from a
  stored level). The generated slide is laid out as scanners store slides (Aperio layout, a
  level every 4×: 1, 4, 16, 64, as in CMU-1.svs), so half its deep-zoom levels are rendered
  from four times the pixels; a file with a level at every halving would be cheaper for the
  baseline.
  Where the warm path is slower than *baseline, kept open*, the web app's per-request
  overhead costs more than rendering the tile does. What a single client cannot show: the
  cache's saving grows with many viewers on the same slides (each tile rendered once for all
  of them), while the baseline renders every request again.
- **Cold** is the baseline's rendering plus the web app's request overhead (the table of
  requests without tile work) plus a Redis write, minus the per-request open of the slide: it
  is slower than the baseline where opening a slide is cheap and faster where it is not.
- **304 revalidation** skips the Redis read and the body but not the authentication, so it
  costs about what a warm hit costs.
"""


def slide_list_notes(runs: list[dict]) -> str:
    """What the slide-list figures show, from the plans of this run."""
    if not runs:
        return ""
    notes = [
        "- **Slide list.** `PageNumberPagination` counts the matching rows on every page, so "
        "the count query is often the larger part of a request; deep pages also pay for their "
        "`OFFSET`. One client at a time, with the server's caches warm (the query repeats)."
    ]
    distinct = sorted(
        {
            label
            for r in runs
            for label, plan in r["plans"].items()
            if any(s.get("distinct") for s in plan.values())
        }
    )
    if distinct:
        notes.append(
            "- The SQL of these filters is `SELECT DISTINCT` (django-filter's "
            "`MultipleChoiceFilter`, used for `status`, adds `.distinct()` by default), so the "
            "count runs over a `SELECT DISTINCT` of every listed column: "
            + ", ".join(f"*{label}*" for label in distinct)
            + "."
        )
    for r in runs:
        if r["database"]["trigram_indexes"] and not r.get("search_uses_trigram_index"):
            notes.append(
                f"- On the {r['label']} server the pg_trgm indexes exist but the search filter "
                "did not use them: Django's `icontains` compiles to `UPPER(col::text) LIKE "
                "UPPER(…)`, which a trigram index on the bare column cannot serve (`ILIKE`, or "
                "an index on `UPPER(col)`, can)."
            )
    if not any(r["database"]["trigram_indexes"] for r in runs):
        notes.append("- No server here had pg_trgm: substring search scans the table.")
    return "\n".join(notes) + "\n"


def render() -> str:
    deepzoom = _load("deepzoom")
    lists = _list_runs()
    tagging = _load("tagging")
    tiling = _load("tiling")
    clustering = _load("clustering")
    gallery = _load("review_gallery")
    dataset = _load("dataset_export")
    training = _load("training")
    any_run = (
        deepzoom
        or (lists[0] if lists else None)
        or tagging
        or tiling
        or clustering
        or gallery
        or dataset
        or training
    )
    if any_run is None:
        sys.exit("No results in bench/out/: run scripts/bench first.")
    return f"""# Benchmarks

Figures from `make bench` (`./scripts/bench`): {machine_line(any_run)}.

Every request went over loopback (127.0.0.1) to servers started by the bench; the raw
figures are in `bench/out/*.json` (not in git). To reproduce:

```sh
make bench            # or ./scripts/bench; about 16 minutes on 2 cores (+10 minutes the first time)
```

`scripts/bench` runs `.venv/bin/rudolfv services -- .venv/bin/python -m bench.deepzoom_bench`,
then `… -m bench.slide_list_bench --label embedded` (embedded PostgreSQL and Redis), then the
slide list again with `DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres` when a
PostgreSQL answers there (`BENCH_SYSTEM_DATABASE_URL` picks another, empty skips it), then
`… -m bench.tagging_bench` (in-process, no server), then `… -m bench.tiling_bench`
(subprocesses, no server), then `… -m bench.clustering_bench` (subprocesses, no server),
then `… -m bench.review_gallery_bench` (the review gallery's API over loopback),
then `… -m bench.dataset_export_bench` (manifest build and export over loopback),
then `.venv/bin/python -m bench.training_bench` (the trainer's data pipeline and steps on CPU),
and finally `python -m bench.report`,
which writes this page. The embedded servers are the
bench's own (`RUDOLFV_HOME=.data/bench/services`), beside the generated slide in
`.data/bench/slides/`, so a test run or a development server on the machine shares neither.

{deepzoom_section(deepzoom)}
{slide_list_section(lists)}
{tagging_section(tagging)}
{tiling_section(tiling)}
{clustering_section(clustering)}
{review_gallery_section(gallery)}
{dataset_export_section(dataset)}
{training_section(training, _load("gpu_training"))}
{load_section(_load("load"))}
{METHOD}
{LIMITS}{slide_list_notes(lists)}"""


def main() -> None:
    DOC.write_text(render())
    print(f"wrote {DOC.relative_to(REPO)}", file=sys.stderr)


if __name__ == "__main__":
    main()
