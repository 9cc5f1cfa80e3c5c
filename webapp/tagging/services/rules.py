"""Tag rules: regular expressions on a slide's path or name that point at a term."""

import re

from django.db import DatabaseError, connection, transaction
from django.db.models import Exists, OuterRef, QuerySet

from webapp.audit.services import audit_one
from webapp.core.errors import ServiceError
from webapp.slides.models import Slide
from webapp.tagging.models import RuleField, SlideTag, TagRule, TagSource
from webapp.tagging.services.tags import MAX_SLIDES_PER_REQUEST, tags_change

_FIELD = {RuleField.PATH: "relative_path", RuleField.NAME: "name"}


def check_pattern(pattern: str) -> str:
    """Python and PostgreSQL both evaluate rules; accept what both understand."""
    if not pattern:
        raise ServiceError("Give a regular expression.", code="invalid_pattern")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise ServiceError(
            f"Not a valid regular expression: {exc}.", code="invalid_pattern"
        ) from exc
    if re.search(r"\(\?[P<]|\(\?<[=!]", pattern):
        raise ServiceError(
            "Named groups and look-behind are not supported in rules.", code="invalid_pattern"
        )
    try:  # PostgreSQL matches the rules; it refuses some patterns Python takes (a{1,300})
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT '' ~ %s", [pattern])
    except DatabaseError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "refused"
        raise ServiceError(
            f"Not a regular expression the database accepts: {reason}.", code="invalid_pattern"
        ) from exc
    return pattern


def rule_matches(rule: TagRule) -> QuerySet[Slide]:
    slides = Slide.objects.filter(**{f"{_FIELD[rule.field]}__regex": rule.pattern})
    return slides.annotate(
        has_term=Exists(SlideTag.objects.filter(slide=OuterRef("pk"), term_id=rule.term_id))
    )


def rule_snapshot(rule: TagRule) -> dict:
    return {
        "name": rule.name,
        "field": rule.field,
        "pattern": rule.pattern,
        "term": rule.term_id,
        "active": rule.active,
    }


@transaction.atomic
def rule_save(*, actor, rule: TagRule) -> TagRule:
    check_pattern(rule.pattern)
    before = rule_snapshot(TagRule.objects.get(pk=rule.pk)) if rule.pk else None
    if TagRule.objects.filter(name=rule.name).exclude(pk=rule.pk).exists():
        raise ServiceError(f"A rule named {rule.name!r} exists already.", code="duplicate")
    if rule.pk is None:
        rule.created_by = actor
    rule.save()
    audit_one(
        actor=actor,
        action="rule.create" if before is None else "rule.update",
        object_type="tag_rule",
        object_id=rule.pk,
        before=before,
        after=rule_snapshot(rule),
    )
    return rule


@transaction.atomic
def rule_apply(*, actor, rule: TagRule) -> dict:
    """Tag every matching slide that lacks the term (in chunks of the bulk limit)."""
    todo = list(
        rule_matches(rule).filter(has_term=False).order_by("pk").values_list("pk", flat=True)
    )
    added = 0
    for start in range(0, len(todo), MAX_SLIDES_PER_REQUEST):
        added += tags_change(
            actor=actor,
            slide_ids=todo[start : start + MAX_SLIDES_PER_REQUEST],
            add=[rule.term],
            source=TagSource.RULE,
        )["added"]
    matched = rule_matches(rule).count()
    audit_one(
        actor=actor,
        action="rule.apply",
        object_type="tag_rule",
        object_id=rule.pk,
        after={"rule": rule.name, "term": rule.term.name, "matched": matched, "added": added},
    )
    return {"matched": matched, "added": added}
