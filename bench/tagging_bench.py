"""Bulk tagging of 10,000 slides and group counting over 100,000: the services against the
naive one-query-per-slide way, time and SQL statements, measured in the same run.

In-process Django (no server, no network) against a bench database of its own
(`rudolfv_bench_tagging`) on whatever server DATABASE_URL names; the 100,000 slides and their
~1.3 million tags over 10 categories are created once and kept for later runs.

Run through `scripts/bench`, or:
    rudolfv services -- python -m bench.tagging_bench
"""

import os
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from bench import common

if TYPE_CHECKING:
    from webapp.slides.models import Slide
    from webapp.tagging.models import SlideGroup, Term

BENCH_DATABASE = "rudolfv_bench_tagging"
# Bump the version when the generated data changes: a root of another name is rebuilt.
ROOT = "bench-tagging-v1"
ROWS = 100_000
BATCH = 5_000
TAGGED_SLIDES = 10_000  # every 10th slide: the bulk edit of the issue
UNTAGGED_EVERY = 11  # every 11th slide has no tags yet, so review status has work to do
ROUNDS = int(os.environ.get("BENCH_TAG_ROUNDS", "3"))
# The naive variants are timed on the first N slides when N is smaller (the figure is then
# scaled up, and the report says so). The naive bulk edit commits once per slide, ~5 ms each
# with fsync on: 2,000 slides keep it to ~20 s of the bench's 3 minutes.
NAIVE_TAG_SLIDES = int(os.environ.get("BENCH_TAG_NAIVE_SLIDES", "2000"))
NAIVE_GROUP_SLIDES = int(os.environ.get("BENCH_GROUP_NAIVE_SLIDES", str(ROWS)))

# Three categories beyond the starter vocabulary's seven, and terms for its empty "lab".
EXTRA_CATEGORIES = [
    ("specimen", "Specimen type", False, ["Biopsy", "Resection", "Cytology", "Autopsy"]),
    ("quality", "Quality flags", True, ["Pen marks", "Folds", "Out of focus", "Bubbles", "Tear"]),
    ("project", "Project", True, ["Study A", "Study B", "Study C", "Study D", "Bench batch"]),
]
LAB_TERMS = ["Lab A", "Lab B", "Lab C", "Lab D", "Lab E", "Lab F"]
# The term the bulk edit adds and removes: multi-valued and never generated, so removing it
# restores the starting state exactly.
BULK_TERM = ("project", "Bench batch")

LOWER_GI = "colon, rectum, appendix"
UPPER_GI = 'stomach, esophagus, "small intestine"'
# Groups as in the RudolfV paper (stain × tissue), with IN, OR, NOT and IS SET.
GROUPS = {
    "H&E lower GI": f'stain = "H&E" AND tissue IN ({LOWER_GI})',
    "H&E upper GI": f'stain = "H&E" AND tissue IN ({UPPER_GI})',
    "H&E thorax": 'stain = "H&E" AND tissue IN (lung, pleura)',
    "H&E breast": 'stain = "H&E" AND tissue = breast',
    "H&E other": f'stain = "H&E" AND NOT tissue IN ({LOWER_GI}, {UPPER_GI}, lung, pleura, breast)',
    "IHC immune": 'stain IN ("IHC CD3", "IHC CD8", "IHC CD20", "IHC CD45", "IHC CD68")',
    "IHC breast markers": 'stain IN ("IHC HER2", "IHC ER", "IHC PR") AND tissue = breast',
    "Special stains": (
        'stain IS SET AND NOT stain = "H&E" AND NOT stain IN ("IHC CD3", "IHC CD8", '
        '"IHC CD20", "IHC CD45", "IHC CD68", "IHC HER2", "IHC ER", "IHC PR", "IHC Ki-67")'
    ),
    "Frozen, in focus": 'fixation = frozen AND quality != "Out of focus"',
    "Haematopathology": 'indication IN (lymphoma, metastasis) OR tissue IN ("lymph node", spleen)',
}


# --- counting SQL statements ---------------------------------------------------------------


class StatementCounter:
    """Counts every statement sent through Django's cursors. Not CaptureQueriesContext:
    that reads connection.queries, which keeps only the last 9,000, and the naive variants
    send far more. BEGIN and COMMIT are not statements here (Django sends them through the
    driver), so transactions are reported separately."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute: Callable, sql: str, params: Any, many: bool, context: dict):
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def measured() -> Iterator[dict]:
    """Yield a dict that holds `seconds` and `queries` of the block once it ends."""
    from django.db import connection

    counter = StatementCounter()
    result: dict = {}
    with connection.execute_wrapper(counter):
        start = time.perf_counter()
        yield result
        result["seconds"] = round(time.perf_counter() - start, 3)
    result["queries"] = counter.count


# --- data ----------------------------------------------------------------------------------


def ensure_vocabulary() -> dict[str, list["Term"]]:
    """The starter vocabulary (loaded by a migration) plus EXTRA_CATEGORIES and lab terms:
    10 categories; returns active terms by category key."""
    from webapp.tagging.models import Category, Term

    lab = Category.objects.get(key="lab")
    for name in LAB_TERMS:
        Term.objects.get_or_create(category=lab, name=name)
    for order, (key, name, multi, terms) in enumerate(EXTRA_CATEGORIES, start=100):
        category, _ = Category.objects.get_or_create(
            key=key, defaults={"name": name, "multi_valued": multi, "order": order}
        )
        for term in terms:
            Term.objects.get_or_create(category=category, name=term)
    by_category: dict[str, list[Term]] = {}
    for term in Term.objects.select_related("category").filter(active=True).order_by("pk"):
        by_category.setdefault(term.category.key, []).append(term)
    return by_category


def _pick_terms(rng: random.Random, key: str, terms: list["Term"]) -> list["Term"]:
    """Skewed like an archive: mostly H&E, mostly FFPE, a few common tissues; 1–3 terms in
    a multi-valued category. The bulk edit's term is never generated."""
    terms = [t for t in terms if (key, t.name) != BULK_TERM]
    if key == "stain":
        return [terms[0] if rng.random() < 0.6 else rng.choice(terms[1:])]
    if key == "fixation":
        return [terms[0] if rng.random() < 0.9 else terms[1]]
    if terms[0].category.multi_valued:
        weights = [1 / (rank + 1) for rank in range(len(terms))]  # Zipf-like
        return list(dict.fromkeys(rng.choices(terms, weights, k=rng.randint(1, 3))))
    return [rng.choice(terms)]


def _slide(i: int, root_id: int, tagged: bool) -> "Slide":
    from webapp.slides.models import ReviewStatus, Slide

    name = f"tag-{i:06d}.svs"
    return Slide(
        root_id=root_id,
        relative_path=f"site{i % 13:02d}/{name}",
        name=name,
        status="registered",
        fingerprint=f"{i:064x}",
        vendor="aperio",
        review_status=ReviewStatus.TAGGED if tagged else ReviewStatus.UNTAGGED,
    )


def _create_batch(
    first: int, root_id: int, vocabulary: dict[str, list["Term"]], rng: random.Random
) -> int:
    from django.db import transaction

    from webapp.slides.models import Slide
    from webapp.tagging.models import SlideTag, TagSource

    indexes = range(first, min(ROWS, first + BATCH))
    tagged = [i % UNTAGGED_EVERY != 0 for i in indexes]
    with transaction.atomic():
        slides = Slide.objects.bulk_create(
            [_slide(i, root_id, t) for i, t in zip(indexes, tagged, strict=True)]
        )
        tags = [
            SlideTag(
                slide_id=slide.pk,
                term_id=term.pk,
                # The model's rule: set for single-valued categories (one term per slide).
                single_category_id=None if term.category.multi_valued else term.category_id,
                source=TagSource.IMPORT,
            )
            for slide, has_tags in zip(slides, tagged, strict=True)
            if has_tags
            for key, terms in vocabulary.items()
            for term in _pick_terms(rng, key, terms)
        ]
        SlideTag.objects.bulk_create(tags, batch_size=BATCH)
    return len(tags)


def _wipe() -> None:
    """Slides of an older generation and whatever hangs on them; this database is the
    bench's own. TRUNCATE, because a cascading ORM delete of a million tags takes minutes."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE slides_slideroot, slides_slide CASCADE")


def ensure_rows(vocabulary: dict[str, list["Term"]]) -> dict:
    """100,000 slides with tags in every category, created once; how long creation took."""
    from django.db import connection

    from webapp.slides.models import Slide, SlideRoot

    root = SlideRoot.objects.filter(name=ROOT).first()
    if root and Slide.objects.filter(root=root).count() == ROWS:
        return {"created": 0, "seconds": 0.0}
    common.log(f"creating {ROWS:,} slides and their tags (once)…")
    start = time.monotonic()
    _wipe()
    root = SlideRoot.objects.create(name=ROOT, path=f"/bench/{ROOT}")
    rng = random.Random(20240601)  # the same data on every machine
    tags = sum(_create_batch(first, root.pk, vocabulary, rng) for first in range(0, ROWS, BATCH))
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE slides_slide")
        cursor.execute("VACUUM ANALYZE tagging_slidetag")
    seconds = round(time.monotonic() - start, 1)
    common.log(f"created {tags:,} tags in {seconds} s")
    return {"created": ROWS, "tags": tags, "seconds": seconds}


def server_settings() -> dict:
    """What a commit costs depends on these: the naive variants commit once per slide."""
    from django.db import connection

    names = ("server_version", "fsync", "synchronous_commit", "shared_buffers", "work_mem")
    with connection.cursor() as cursor:
        settings = {}
        for name in names:
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
    return settings


def data_summary() -> dict:
    from webapp.slides.models import ReviewStatus, Slide
    from webapp.tagging.models import Category, SlideTag

    return {
        "slides": Slide.objects.count(),
        "untagged_slides": Slide.objects.filter(review_status=ReviewStatus.UNTAGGED).count(),
        "tags": SlideTag.objects.count(),
        "categories": [
            {"key": c.key, "multi_valued": c.multi_valued, "terms": c.terms.count()}
            for c in Category.objects.all()
        ],
    }


# --- bulk tagging --------------------------------------------------------------------------


def _reset_audit() -> None:
    """Each variant starts with an empty audit log: its rows are the variant's output, and
    a table grown by the previous variant would tax the next. The log refuses DELETE;
    TRUNCATE is its deliberate reset (audit migration 0002), in this bench database only."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE audit_auditevent")


def tag_state(slide_ids: list[int], term: "Term") -> dict:
    """What a bulk edit changes: the term's tags, review statuses and audit rows (without
    the tag ids and times, which differ between variants by nature)."""
    from webapp.audit.models import AuditEvent
    from webapp.slides.models import Slide
    from webapp.tagging.models import SlideTag

    tags = SlideTag.objects.filter(slide_id__in=slide_ids, term=term)
    audit = AuditEvent.objects.filter(slide_id__in=slide_ids)
    return {
        "tags": sorted(tags.values_list("slide_id", "single_category_id", "source", "created_by")),
        "review": sorted(Slide.objects.filter(pk__in=slide_ids).values_list("pk", "review_status")),
        "audit": Counter(
            (a, s, repr(b), repr(f))
            for a, s, b, f in audit.values_list("action", "slide_id", "before", "after")
        ),
    }


def naive_tag_slide(actor, slide_id: int, add: list["Term"], remove: list["Term"]) -> None:
    """One slide the straightforward way: its own transaction, a lookup per term, one row
    written at a time, the review status decided for this slide alone."""
    from django.db import transaction

    from webapp.audit.services import audit_one
    from webapp.slides.models import ReviewStatus, Slide
    from webapp.tagging.models import SlideTag, TagSource
    from webapp.tagging.services.tags import _tag_json  # the same audit payload

    def drop(tag: SlideTag, term: "Term") -> None:
        pk = tag.pk
        tag.delete()
        audit_one(
            actor=actor,
            action="tag.remove",
            object_type="slide_tag",
            object_id=pk,
            slide_id=slide_id,
            before=_tag_json(term, tag.source),
        )

    with transaction.atomic():
        slide = Slide.objects.select_for_update().get(pk=slide_id)
        for term in remove:
            tag = SlideTag.objects.filter(slide=slide, term=term).first()
            if tag:
                drop(tag, term)
        for term in add:
            if SlideTag.objects.filter(slide=slide, term=term).exists():
                continue
            single = None if term.category.multi_valued else term.category
            if single:
                for old in SlideTag.objects.filter(slide=slide, single_category=single):
                    drop(old, old.term)
            tag = SlideTag.objects.create(
                slide=slide,
                term=term,
                single_category=single,
                source=TagSource.MANUAL,
                created_by=actor,
            )
            audit_one(
                actor=actor,
                action="tag.add",
                object_type="slide_tag",
                object_id=tag.pk,
                slide_id=slide_id,
                after=_tag_json(term, TagSource.MANUAL),
            )
        if slide.review_status in (ReviewStatus.UNTAGGED, ReviewStatus.TAGGED):
            wanted = ReviewStatus.TAGGED if slide.tags.exists() else ReviewStatus.UNTAGGED
            if slide.review_status != wanted:
                slide.review_status = wanted
                slide.save(update_fields=["review_status"])


def _ours(actor, ids: list[int], term: "Term", inspect: list[int] | None = None) -> dict:
    """tags_change adding `term` to every slide, then removing it; with `inspect`, the state
    of those slides after the add is read (outside the timed blocks)."""
    from webapp.tagging.services.tags import tags_change

    with measured() as add:
        add["changed"] = tags_change(actor=actor, slide_ids=ids, add=[term])["added"]
    state = tag_state(inspect, term) if inspect else None
    with measured() as remove:
        remove["changed"] = tags_change(actor=actor, slide_ids=ids, remove=[term])["removed"]
    return {"add": add, "remove": remove, "transactions": 2, "state": state}


def _naive(actor, ids: list[int], term: "Term", inspect: list[int] | None = None) -> dict:
    """naive_tag_slide for every slide, adding and then removing `term`."""
    with measured() as add:
        for sid in ids:
            naive_tag_slide(actor, sid, [term], [])
        add["changed"] = len(ids)
    state = tag_state(inspect, term) if inspect else None
    with measured() as remove:
        for sid in ids:
            naive_tag_slide(actor, sid, [], [term])
        remove["changed"] = len(ids)
    return {"add": add, "remove": remove, "transactions": 2 * len(ids), "state": state}


def _median_round(rounds: list[dict]) -> dict:
    """The round with the median total time, and the totals of all rounds."""
    totals = [r["add"]["seconds"] + r["remove"]["seconds"] for r in rounds]
    chosen = rounds[totals.index(statistics.median_low(totals))]
    return {**chosen, "rounds": len(rounds), "total_seconds_all_rounds": totals}


def bench_bulk_tagging(actor, by_category: dict[str, list["Term"]]) -> dict:
    """Add a term to 10,000 slides and remove it again: tags_change against the naive loop.
    Every variant starts from the same state (the add + remove pair restores it) and an
    empty audit log."""
    from webapp.slides.models import Slide

    term = next(t for t in by_category[BULK_TERM[0]] if t.name == BULK_TERM[1])
    ids = list(Slide.objects.order_by("pk").values_list("pk", flat=True)[::10])[:TAGGED_SLIDES]
    naive_ids = ids[:NAIVE_TAG_SLIDES]
    before = tag_state(ids, term)

    _ours(actor, ids[:100], term)  # warm-up: connection, plans, imports
    rounds = []
    for number in range(ROUNDS):
        common.log(f"  tags_change, round {number + 1}/{ROUNDS}: add + remove, {len(ids):,} slides")
        _reset_audit()
        rounds.append(_ours(actor, ids, term, inspect=naive_ids if number == 0 else None))
    ours_state = rounds[0].pop("state")
    for r in rounds[1:]:
        r.pop("state")
    after_ours = tag_state(ids, term)

    common.log(f"  naive, a transaction per slide: add + remove, {len(naive_ids):,} slides")
    _reset_audit()
    naive = _naive(actor, naive_ids, term, inspect=naive_ids)
    naive_state = naive.pop("state")
    after_naive = tag_state(ids, term)
    _reset_audit()
    return {
        "slides": len(ids),
        "term": f"{BULK_TERM[0]}: {BULK_TERM[1]}",
        "slides_untagged_before": sum(1 for _, s in before["review"] if s == "untagged"),
        "ours": _median_round(rounds),
        "naive": {**naive, "slides_timed": len(naive_ids), "scale": len(ids) / len(naive_ids)},
        "checks": {
            # Tags, review statuses and audit rows after the add, on the slides both tagged.
            "same_state_after_add": ours_state == naive_state,
            "tags_added": len(ours_state["tags"]),
            "audit_rows_after_add": sum(ours_state["audit"].values()),
            "review_status_changes": sum(
                1
                for (_, a), (_, b) in zip(
                    tag_state(naive_ids, term)["review"], ours_state["review"], strict=True
                )
                if a != b
            ),
            # Removing restores the start (tags and review statuses) after either variant.
            "start_restored": all(
                after["tags"] == before["tags"] and after["review"] == before["review"]
                for after in (after_ours, after_naive)
            ),
        },
    }


# --- group counting ------------------------------------------------------------------------


def ensure_groups() -> list["SlideGroup"]:
    """GROUPS as rule groups, and no others (slides_by_group_count counts against all)."""
    from webapp.tagging.models import GroupKind, SlideGroup

    SlideGroup.objects.exclude(name__in=GROUPS).delete()
    for name, rule in GROUPS.items():
        SlideGroup.objects.update_or_create(
            name=name, defaults={"rule": rule, "kind": GroupKind.RULE}
        )
    return list(SlideGroup.objects.filter(name__in=GROUPS))


def evaluate(tree, term_ids: set[int], resolve: Callable[[str, str | None], list[int]]) -> bool:
    """A parsed rule (rule_language.parse) against one slide's term ids, in Python."""
    kind = tree[0]
    if kind == "and":
        return all(evaluate(child, term_ids, resolve) for child in tree[1])
    if kind == "or":
        return any(evaluate(child, term_ids, resolve) for child in tree[1])
    if kind == "not":
        return not evaluate(tree[1], term_ids, resolve)
    if kind == "has":
        return any(tid in term_ids for name in tree[2] for tid in resolve(tree[1], name))
    return any(tid in term_ids for tid in resolve(tree[1], None))  # IS SET


def _counts(per_group: dict[str, int], slides: int, none: int, multiple: int) -> dict:
    return {"slides": slides, "in_no_group": none, "in_multiple_groups": multiple, **per_group}


def ours_groups(groups: list["SlideGroup"]) -> dict:
    from webapp.tagging.services.groups import groups_summary

    summary = groups_summary(groups)
    per_group = {g["name"]: g["slide_count"] for g in summary["groups"]}
    return _counts(
        per_group, summary["slides"], summary["in_no_group"], summary["in_multiple_groups"]
    )


def _aggregate_query(groups: list["SlideGroup"]):
    """The design `groups_summary` replaced: every count in one aggregate query, each group's
    condition as a CASE per slide (kept here, for the comparison)."""
    import operator
    from functools import reduce

    from django.db.models import Case, Count, IntegerField, Sum, Value, When
    from django.db.models.lookups import Exact, GreaterThan

    from webapp.slides.models import Slide
    from webapp.tagging.services.groups import group_condition
    from webapp.tagging.services.vocabulary import TermIndex

    def hit(condition):
        return Case(When(condition, then=1), default=0, output_field=IntegerField())

    index = TermIndex()
    hits = {f"g{g.pk}": hit(group_condition(g, index)) for g in groups}
    n_groups = reduce(operator.add, hits.values(), Value(0))
    return Slide.objects.all(), dict(
        slides=Count("pk"),
        in_no_group=Sum(hit(Exact(n_groups, 0))),
        in_multiple_groups=Sum(hit(GreaterThan(n_groups, 1))),
        **{alias: Sum(h) for alias, h in hits.items()},
    )


def aggregate_counts(groups: list["SlideGroup"]) -> dict:
    queryset, aggregates = _aggregate_query(groups)
    totals = queryset.aggregate(**aggregates)
    per_group = {g.name: totals[f"g{g.pk}"] or 0 for g in groups}
    return _counts(
        per_group, totals["slides"], totals["in_no_group"] or 0, totals["in_multiple_groups"] or 0
    )


def naive_groups(groups: list["SlideGroup"], limit: int) -> dict:
    """One query per slide for its tags, every rule evaluated in Python (the first `limit`
    slides by id)."""
    from webapp.slides.models import Slide
    from webapp.tagging.models import SlideTag
    from webapp.tagging.rule_language import parse
    from webapp.tagging.services.vocabulary import TermIndex

    index = TermIndex()
    trees = {g.name: parse(g.rule) for g in groups}
    per_group = dict.fromkeys(trees, 0)
    none = multiple = 0
    ids = Slide.objects.order_by("pk").values_list("pk", flat=True)[:limit]
    for sid in ids:
        terms = set(SlideTag.objects.filter(slide_id=sid).values_list("term_id", flat=True))
        hits = [name for name, tree in trees.items() if evaluate(tree, terms, index.resolve)]
        for name in hits:
            per_group[name] += 1
        none += not hits
        multiple += len(hits) > 1
    return _counts(per_group, len(ids), none, multiple)


def subset_counts(groups: list["SlideGroup"], limit: int) -> dict:
    """The services' conditions on the naive variant's subset, for the check when the naive
    variant is timed on fewer slides; untimed."""
    from webapp.slides.models import Slide
    from webapp.tagging.services.groups import group_slides, slides_by_group_count

    last = Slide.objects.order_by("pk").values_list("pk", flat=True)[limit - 1]
    slides = Slide.objects.filter(pk__lte=last)
    per_group = {g.name: group_slides(g).filter(pk__lte=last).count() for g in groups}
    return _counts(
        per_group,
        slides.count(),
        slides_by_group_count(slides, "none").count(),
        slides_by_group_count(slides, "multiple").count(),
    )


def aggregate_shape(groups: list["SlideGroup"]) -> dict:
    """How the one aggregate query looks to PostgreSQL: EXISTS subqueries in its SQL and
    subplans in its plan (EXPLAIN without ANALYZE: cheap). Explains its time; untimed."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        aggregate_counts(groups)
    sql = captured.captured_queries[-1]["sql"]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        plan = [row[0] for row in cursor.fetchall()]
    return {
        "exists_in_sql": sql.count("EXISTS"),
        "subplans_in_plan": sum(1 for line in plan if line.strip().startswith("SubPlan")),
    }


def _timed(function: Callable[[], dict], rounds: int) -> dict:
    """The median of `rounds` timed calls (after one untimed warm-up call)."""
    function()
    runs = []
    for _ in range(rounds):
        with measured() as figures:
            figures["counts"] = function()
        runs.append(figures)
    seconds = [r["seconds"] for r in runs]
    return {**runs[seconds.index(statistics.median_low(seconds))], "seconds_all_rounds": seconds}


def bench_groups() -> dict:
    groups = ensure_groups()
    common.log(f"  groups_summary over {ROWS:,} slides, {len(groups)} groups")
    ours = _timed(lambda: ours_groups(groups), ROUNDS)
    common.log("  one COUNT per group")
    middle = _timed(lambda: aggregate_counts(groups), ROUNDS)
    common.log(f"  naive, one query per slide: {NAIVE_GROUP_SLIDES:,} slides")
    with measured() as naive:
        naive["counts"] = naive_groups(groups, NAIVE_GROUP_SLIDES)
    full = NAIVE_GROUP_SLIDES >= ROWS
    expected = ours["counts"] if full else subset_counts(groups, NAIVE_GROUP_SLIDES)
    return {
        "slides": ROWS,
        "rules": GROUPS,
        "ours": ours,
        "per_group": middle,
        "naive": {**naive, "slides_timed": naive["counts"]["slides"]},
        "aggregate_query": aggregate_shape(groups),
        "checks": {
            "per_group_same_counts": middle["counts"] == ours["counts"],
            "naive_same_counts": naive["counts"] == expected,
            "naive_compared_on": "all slides" if full else f"the first {NAIVE_GROUP_SLIDES:,}",
        },
    }


# --- main ----------------------------------------------------------------------------------


def main() -> int:
    common.require_services()
    common.stop_on_sigterm()
    common.warn_if_busy()
    machine = common.machine()  # now: its load average is the one before the run
    database_url = common.ensure_database(os.environ["DATABASE_URL"], BENCH_DATABASE)
    common.setup_django(database_url, DEBUG="0", LOG_LEVEL="WARNING")
    from webapp.accounts.services import user_ensure

    vocabulary = ensure_vocabulary()
    creation = ensure_rows(vocabulary)
    actor, _ = user_ensure(
        username="bench", password="bench-password-not-secret", role="pathologist"
    )
    common.log("bulk tagging")
    bulk = bench_bulk_tagging(actor, vocabulary)
    common.log("group counting")
    groups = bench_groups()
    report = {
        "machine": machine,
        "database": {"name": BENCH_DATABASE, **server_settings()},
        "data": {**data_summary(), "creation": creation},
        "bulk_tagging": bulk,
        "groups": groups,
    }
    common.write_json("tagging", report)
    failed = [
        f"{part}: {name}"
        for part in ("bulk_tagging", "groups")
        for name, ok in report[part]["checks"].items()
        if ok is False
    ]
    if failed:
        common.log("CHECKS FAILED: " + "; ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
