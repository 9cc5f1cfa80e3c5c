"""Tagging slides: one code path for one slide and for 10,000, in one transaction.

The slides are locked (SELECT … FOR UPDATE, in id order so two bulk edits cannot deadlock)
before their tags are read, so concurrent edits of the same slide serialise instead of losing
an update. Work is done in a constant number of queries, whatever the number of slides.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Exists, OuterRef, Q

from webapp.audit.services import Change, audit_record
from webapp.core.errors import ServiceError
from webapp.slides.models import ReviewStatus, Slide
from webapp.tagging.models import SlideTag, TagSource, Term

MAX_SLIDES_PER_REQUEST = 10_000


def _tag_json(term: Term, source: str | None = None) -> dict:
    data = {"term": term.pk, "name": term.name, "category": term.category.key}
    if source:
        data["source"] = source
    return data


def lock_slides(slide_ids: Iterable[int]) -> list[int]:
    """Lock the slides (id order); a ServiceError names ids that do not exist."""
    wanted = sorted(set(slide_ids))
    if not wanted:
        raise ServiceError("Give at least one slide.", code="no_slides")
    if len(wanted) > MAX_SLIDES_PER_REQUEST:
        raise ServiceError(
            f"At most {MAX_SLIDES_PER_REQUEST:,} slides per request ({len(wanted):,} given).",
            code="too_many_slides",
        )
    found = list(
        Slide.objects.select_for_update()
        .filter(pk__in=wanted)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    if len(found) != len(wanted):
        unknown = sorted(set(wanted) - set(found))
        shown = ", ".join(str(i) for i in unknown[:10]) + (" …" if len(unknown) > 10 else "")
        raise ServiceError(f"Unknown slide ids: {shown}.", code="unknown_slide")
    return found


def _check_terms(add: list[Term], remove: list[Term]) -> None:
    both = {t.pk for t in add} & {t.pk for t in remove}
    if both:
        raise ServiceError("A term cannot be added and removed at once.", code="conflict")
    per_category: dict[str, list[str]] = defaultdict(list)
    for term in add:
        if not term.category.multi_valued:
            per_category[term.category.key].append(term.name)
    for key, names in per_category.items():
        if len(names) > 1:
            raise ServiceError(
                f"{key!r} holds one term per slide; {', '.join(names)} given.", code="single_valued"
            )
    inactive = [t.name for t in add if not t.active]
    if inactive:
        raise ServiceError(
            f"Inactive terms cannot be added: {', '.join(inactive)}.", code="inactive_term"
        )


def sync_review_status(slide_ids: list[int]) -> None:
    """untagged ↔ tagged follow the tags; reviewed and excluded stay as a person set them."""
    automatic = Slide.objects.filter(
        pk__in=slide_ids, review_status__in=[ReviewStatus.UNTAGGED, ReviewStatus.TAGGED]
    )
    tagged = Exists(SlideTag.objects.filter(slide=OuterRef("pk")))
    automatic.filter(tagged).exclude(review_status=ReviewStatus.TAGGED).update(
        review_status=ReviewStatus.TAGGED
    )
    automatic.filter(~tagged).exclude(review_status=ReviewStatus.UNTAGGED).update(
        review_status=ReviewStatus.UNTAGGED
    )


@transaction.atomic
def tags_change(
    *,
    actor,
    slide_ids: Iterable[int],
    add: list[Term] = (),
    remove: list[Term] = (),
    source: str = TagSource.MANUAL,
) -> dict:
    """Add and remove terms on many slides. Adding a term of a single-valued category
    replaces the slide's other term of that category. Returns counts of what changed."""
    add, remove = list(add), list(remove)
    _check_terms(add, remove)
    ids = lock_slides(slide_ids)
    single = {t.category_id: t for t in add if not t.category.multi_valued}
    touched_terms = {t.pk for t in (*add, *remove)}
    existing = list(
        SlideTag.objects.filter(
            Q(term_id__in=touched_terms) | Q(single_category_id__in=list(single)), slide_id__in=ids
        )
    )
    have = {(tag.slide_id, tag.term_id) for tag in existing}
    removing = [
        tag
        for tag in existing
        if tag.term_id in {t.pk for t in remove}
        or (tag.single_category_id in single and tag.term_id != single[tag.single_category_id].pk)
    ]
    terms_by_id = {
        t.pk: t
        for t in Term.objects.select_related("category").filter(
            pk__in={tag.term_id for tag in removing} | touched_terms
        )
    }

    SlideTag.objects.filter(pk__in=[tag.pk for tag in removing]).delete()
    new = [
        SlideTag(
            slide_id=sid,
            term=term,
            source=source,
            created_by=actor,
            single_category=None if term.category.multi_valued else term.category,
        )
        for sid in ids
        for term in add
        if (sid, term.pk) not in have
    ]
    SlideTag.objects.bulk_create(new, batch_size=2000)
    sync_review_status(ids)

    changes = [
        Change(
            "tag.remove",
            "slide_tag",
            tag.pk,
            tag.slide_id,
            before=_tag_json(terms_by_id[tag.term_id], tag.source),
        )
        for tag in removing
    ]
    changes += [
        Change("tag.add", "slide_tag", tag.pk, tag.slide_id, after=_tag_json(tag.term, source))
        for tag in new
    ]
    audit_record(actor=actor, changes=changes)
    return {"slides": len(ids), "added": len(new), "removed": len(removing)}


@transaction.atomic
def review_set(*, actor, slide_ids: Iterable[int], status: str, reason: str = "") -> int:
    """Mark slides reviewed or excluded (with a reason), or reopen them (tagged/untagged:
    the status then follows the tags again). Returns how many slides changed."""
    if status not in ReviewStatus.values:
        raise ServiceError(f"Unknown review status {status!r}.", code="invalid")
    if status == ReviewStatus.EXCLUDED and not reason.strip():
        raise ServiceError("Say why the slides are excluded (reason).", code="reason_required")
    ids = lock_slides(slide_ids)
    before = dict(Slide.objects.filter(pk__in=ids).values_list("pk", "review_status"))
    if status in (ReviewStatus.REVIEWED, ReviewStatus.EXCLUDED):
        Slide.objects.filter(pk__in=ids).update(review_status=status, review_reason=reason.strip())
    else:
        Slide.objects.filter(pk__in=ids).update(
            review_status=ReviewStatus.UNTAGGED, review_reason=""
        )
        sync_review_status(ids)
    after = dict(Slide.objects.filter(pk__in=ids).values_list("pk", "review_status"))
    changed = [sid for sid in ids if before[sid] != after[sid]]
    audit_record(
        actor=actor,
        changes=[
            Change(
                "review.set",
                "slide",
                sid,
                sid,
                before={"status": before[sid]},
                after={"status": after[sid], "reason": reason.strip()},
            )
            for sid in changed
        ],
    )
    return len(changed)
