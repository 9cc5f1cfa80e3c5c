"""Many reviewers at once against the live server (gunicorn, real HTTP, one database
connection per server thread): decisions on the same clusters, retried on 409 stale with the
fresh version as the gallery does, and tags on the same slides, interleaved.

Nothing may be lost or recorded twice: every successful decision is in the audit log exactly
once, versions advance by one per decision, each cluster ends as its highest-version decision
and each reviewer's vote as their own last successful decision; every tag edit lands, and a
term that several reviewers add and remove at once ends as its last audited edit says.
"""

import random
import threading
from collections import Counter

import pytest
import requests
from django.db import connection
from rest_framework.authtoken.models import Token

from tests.live_services import web_server
from tests.webapp.clusters.conftest import admin, categories, review_run  # noqa: F401 - fixtures
from webapp.audit.models import AuditEvent
from webapp.clusters.models import Cluster, ClusterVote
from webapp.slides.models import Slide, SlideRoot, SlideStatus
from webapp.tagging import starter_vocabulary
from webapp.tagging.models import Category, SlideTag, Term

REVIEWERS = 8
ROUNDS = 3  # decisions per reviewer and cluster
SHARED_ROUNDS = 3  # add/remove cycles of the shared term per reviewer and slide
MAX_RETRIES = 50
TISSUES = ["Colon", "Rectum", "Stomach", "Liver", "Lung", "Breast", "Kidney", "Skin"]
SHARED = "Lymph node"
STAINS = ["H&E", "PAS", "Giemsa", "IHC Ki-67", "IHC CD3", "IHC CD8", "IHC CD20", "IHC HER2"]
REASONS = ["background", "artefact", "out_of_focus", "pen", "other"]


def _decision(rng: random.Random, category_ids: list[int], note: str) -> dict:
    kind = rng.choice(["accepted", "accepted", "rejected", "unreviewed"])
    body = {"status": kind, "note": note}
    if kind == "accepted":
        body["category"] = rng.choice(category_ids)
    elif kind == "rejected":
        body["reject_reason"] = rng.choice(REASONS)
    return body


class Reviewer:
    """One pathologist's session: a token of their own, their actions in a shuffled order."""

    def __init__(self, i: int, base: str, token: str, plan: dict):
        self.i, self.base, self.plan = i, base, plan
        self.name = f"reviewer-{i}"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.versions: dict[int, int] = {}
        self.decided: list[dict] = []  # successful decisions: cluster, version, body
        self.statuses: Counter = Counter()
        self.unexpected: list[tuple] = []
        self.added: Counter = Counter()  # term id → tags the bulk edits report as added
        self.removed: Counter = Counter()

    def call(self, method: str, path: str, ok: tuple[int, ...], **kwargs) -> requests.Response:
        reply = self.session.request(method, self.base + path, timeout=60, **kwargs)
        self.statuses[reply.status_code] += 1
        if reply.status_code not in ok:
            self.unexpected.append((method, path, reply.status_code, reply.text[:300]))
        return reply

    def actions(self) -> list:
        rng = random.Random(1000 + self.i)
        plan, acts = self.plan, []
        for r in range(ROUNDS):
            for cluster in plan["clusters"]:
                note = f"{self.name} round {r} cluster {cluster}"
                acts.append(("decide", cluster, _decision(rng, plan["categories"], note)))
        own = plan["own_terms"][self.i]
        # The reviewer's own term on every slide: added, removed, added again (bulk edits).
        tag_steps = [("bulk", "add", own), ("bulk", "remove", own), ("bulk", "add", own)]
        for _ in range(SHARED_ROUNDS):
            for slide in plan["slides"]:
                tag_steps += [("shared_add", slide), ("shared_remove", slide)]
        for slide in plan["slides"]:
            tag_steps.append(("stain", slide, plan["stains"][self.i]))
        acts += tag_steps
        rng.shuffle(acts)
        # Shuffled, but the own-term edits keep their order (their end state is then known).
        order = iter([s for s in tag_steps if s[0] == "bulk"])
        return [next(order) if a[0] == "bulk" else a for a in acts]

    def run(self, barrier: threading.Barrier) -> None:
        listing = self.call("GET", f"/api/clusters/?run={self.plan['run']}&page_size=200", (200,))
        self.versions = {c["id"]: c["version"] for c in listing.json()["results"]}
        barrier.wait()
        for act in self.actions():
            getattr(self, f"do_{act[0]}")(*act[1:])

    def do_decide(self, cluster: int, body: dict) -> None:
        for _ in range(MAX_RETRIES):
            reply = self.call(
                "POST",
                f"/api/clusters/{cluster}/review/",
                (200, 409),
                json={"version": self.versions[cluster], **body},
            )
            if reply.status_code == 200:
                data = reply.json()
                self.versions[cluster] = data["version"]
                self.decided.append({"cluster": cluster, "version": data["version"], **body})
                return
            if reply.status_code != 409:
                return
            conflict = reply.json()
            assert conflict["code"] == "stale", conflict
            self.versions[cluster] = conflict["current"]["version"]  # look again, decide again
        self.unexpected.append(("decide", cluster, "no success after retries"))

    def do_bulk(self, verb: str, term: int) -> None:
        reply = self.call(
            "POST", "/api/tags/bulk/", (200,), json={"slides": self.plan["slides"], verb: [term]}
        )
        if reply.ok:
            self.added[term] += reply.json()["added"]
            self.removed[term] += reply.json()["removed"]

    def do_shared_add(self, slide: int) -> None:
        self.call("POST", f"/api/slides/{slide}/tags/", (201,), json={"term": self.plan["shared"]})

    def do_shared_remove(self, slide: int) -> None:
        # 404: someone else removed it first (or nobody added it yet); no change either way.
        self.call("DELETE", f"/api/slides/{slide}/tags/{self.plan['shared']}/", (204, 404))

    def do_stain(self, slide: int, term: int) -> None:
        self.call("POST", f"/api/slides/{slide}/tags/", (201,), json={"term": term})


def _term_events(slide: int, term: int) -> list[str]:
    """tag.add / tag.remove of `term` on `slide`, in commit order (the slide row was locked
    while each was written, so id order is that order)."""
    events = AuditEvent.objects.filter(slide_id=slide, action__in=["tag.add", "tag.remove"])
    return [
        e.action
        for e in events.order_by("id")
        if (e.after if e.action == "tag.add" else e.before)["term"] == term
    ]


def _same_decision(cluster_or_vote, decision: dict) -> bool:
    return (
        cluster_or_vote.status == decision["status"]
        and cluster_or_vote.category_id == decision.get("category")
        and cluster_or_vote.reject_reason == decision.get("reject_reason", "")
        and cluster_or_vote.note == decision["note"]
    )


@pytest.mark.django_db(transaction=True)
def test_many_reviewers_at_once_lose_nothing(request, settings, tmp_path, make_user):
    # The clusters app's fixtures (imported above): a finished run's rows and the vocabulary.
    run, semantic = (request.getfixturevalue(n) for n in ("review_run", "categories"))
    starter_vocabulary.load(Category, Term)  # a transactional test's flush removed it
    root = SlideRoot.objects.create(name="archive", path=str(tmp_path))
    slides = [
        Slide.objects.create(
            root=root,
            relative_path=f"lab/s{i}.svs",
            name=f"s{i}.svs",
            status=SlideStatus.REGISTERED,
        ).pk
        for i in range(4)
    ]
    term = {t.name: t.pk for t in Term.objects.filter(category__key__in=["tissue", "stain"])}
    clusters = list(Cluster.objects.filter(run=run).order_by("index"))
    users = [make_user("pathologist", username=f"reviewer-{i}") for i in range(REVIEWERS)]
    tokens = [Token.objects.create(user=u).key for u in users]
    plan = {
        "run": run.pk,
        "clusters": [c.pk for c in clusters],
        "categories": [c.pk for c in semantic.values()][:6],
        "slides": slides,
        "own_terms": [term[t] for t in TISSUES],
        "shared": term[SHARED],
        "stains": [term[s] for s in STAINS],
    }
    connection.close()  # the server's threads use their own connections; ours is idle

    with web_server(settings.DATA_ROOT, tmp_path / "web.log") as base:
        reviewers = [Reviewer(i, base, tokens[i], plan) for i in range(REVIEWERS)]
        barrier = threading.Barrier(REVIEWERS)
        crashed = []

        def work(reviewer: Reviewer) -> None:
            try:
                reviewer.run(barrier)
            except Exception as exc:  # noqa: BLE001 - reported below
                crashed.append((reviewer.name, repr(exc)))
                barrier.abort()

        threads = [threading.Thread(target=work, args=(r,)) for r in reviewers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads), "a reviewer hung"
    log = (tmp_path / "web.log").read_text()
    assert not crashed, crashed
    statuses = sum((r.statuses for r in reviewers), Counter())
    print(f"HTTP statuses: {dict(sorted(statuses.items()))}")  # shown with -s
    assert not [r.unexpected for r in reviewers if r.unexpected], (statuses, log[-3000:])
    assert not any(code >= 500 for code in statuses), statuses
    assert statuses[409] > 0, "no decision ever met a stale version: no contention"

    # Decisions: each success audited exactly once, versions contiguous, last one wins.
    decided = [d | {"user": r.name} for r in reviewers for d in r.decided]
    assert len(decided) == REVIEWERS * ROUNDS * len(clusters)
    events = list(AuditEvent.objects.filter(action="cluster.review"))
    assert len(events) == len(decided)
    by_key = Counter((int(e.object_id), e.after["version"]) for e in events)
    assert max(by_key.values()) == 1, "a version was recorded twice"
    for d in decided:
        event = next(
            e
            for e in events
            if int(e.object_id) == d["cluster"] and e.after["version"] == d["version"]
        )
        assert event.actor_name == d["user"] and event.after["note"] == d["note"]
        assert event.after["status"] == d["status"]
        assert event.before["version"] == d["version"] - 1
    for cluster in clusters:
        mine = sorted(
            (d for d in decided if d["cluster"] == cluster.pk), key=lambda d: d["version"]
        )
        assert [d["version"] for d in mine] == list(range(2, len(mine) + 2))
        cluster.refresh_from_db()
        assert cluster.version == len(mine) + 1
        assert _same_decision(cluster, mine[-1]), (cluster.note, mine[-1])
    # Votes: one per reviewer and cluster, their own last successful decision.
    assert ClusterVote.objects.count() == REVIEWERS * len(clusters)
    for vote in ClusterVote.objects.select_related("user"):
        own = [
            d
            for d in decided
            if d["cluster"] == vote.cluster_id and d["user"] == vote.user.username
        ]
        assert _same_decision(vote, max(own, key=lambda d: d["version"]))

    # Tags. Each reviewer's own term (bulk add, remove, add): on every slide, every change
    # the replies reported is audited once, and nothing else.
    for r in reviewers:
        own = plan["own_terms"][r.i]
        assert r.added[own] == 2 * len(slides) and r.removed[own] == len(slides)
        for slide in slides:
            assert _term_events(slide, own) == ["tag.add", "tag.remove", "tag.add"]
            assert SlideTag.objects.filter(slide_id=slide, term_id=own).exists()
    # The shared term, added and removed by everyone at once: the audited edits alternate
    # (no add of a present term, no remove of an absent one) and the end state is the last.
    for slide in slides:
        history = _term_events(slide, plan["shared"])
        assert history, "the shared term was never added"
        assert history[::2] == ["tag.add"] * len(history[::2]), history
        assert history[1::2] == ["tag.remove"] * len(history[1::2]), history
        present = SlideTag.objects.filter(slide_id=slide, term_id=plan["shared"]).exists()
        assert present == (history[-1] == "tag.add"), history
    # The single-valued stain, set by everyone: one stain per slide, the last audited one.
    for slide in slides:
        stains = list(SlideTag.objects.filter(slide_id=slide, term__category__key="stain"))
        assert len(stains) == 1
        adds = AuditEvent.objects.filter(
            slide_id=slide, action="tag.add", after__category="stain"
        ).order_by("id")
        assert adds.last().after["term"] == stains[0].term_id
        assert (
            adds.count() - 1
            == AuditEvent.objects.filter(
                slide_id=slide, action="tag.remove", before__category="stain"
            ).count()
        )
    # Nothing else was recorded.
    tag_events = AuditEvent.objects.filter(action__in=["tag.add", "tag.remove"]).count()
    reported = sum(sum(r.added.values()) + sum(r.removed.values()) for r in reviewers)
    shared = sum(len(_term_events(s, plan["shared"])) for s in slides)
    stain_events = (
        AuditEvent.objects.filter(action__in=["tag.add", "tag.remove"], object_type="slide_tag")
        .filter(after__category="stain")
        .count()
        + AuditEvent.objects.filter(action="tag.remove", before__category="stain").count()
    )
    assert tag_events == reported + shared + stain_events
