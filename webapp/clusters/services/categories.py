"""The semantic vocabulary clusters are named with: audited edits, clear refusals."""

import math
import re

from django.db import transaction
from django.db.models import Count, Max, ProtectedError, QuerySet

from webapp.audit.services import audit_one
from webapp.clusters.models import Cluster, SemanticCategory
from webapp.core.db import save_unique
from webapp.core.errors import ServiceError

COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
SHORTCUTS = "0123456789"
FIELDS = ("name", "colour", "default_weight", "shortcut", "description", "position")


def categories_list() -> QuerySet[SemanticCategory]:
    return SemanticCategory.objects.annotate(cluster_count=Count("clusters")).order_by(
        "position", "name"
    )


def snapshot(category: SemanticCategory) -> dict:
    return {field: getattr(category, field) for field in FIELDS}


def _validate(category: SemanticCategory) -> None:
    category.name = (category.name or "").strip()
    if not category.name:
        raise ServiceError("A category needs a name.", code="invalid")
    if not COLOUR.match(category.colour or ""):
        raise ServiceError(
            f"The colour must be a hex colour like #d62728, not {category.colour!r}.",
            code="invalid",
        )
    category.colour = category.colour.lower()
    weight = category.default_weight
    if weight is None or not (math.isfinite(weight) and weight >= 0):
        raise ServiceError("The default weight must be a number ≥ 0.", code="invalid")
    if category.shortcut and category.shortcut not in SHORTCUTS:
        raise ServiceError(
            "The shortcut must be a single digit 0-9 (or empty for none).", code="invalid"
        )
    others = SemanticCategory.objects.exclude(pk=category.pk)
    clash = others.filter(name__iexact=category.name).first()
    if clash:
        raise ServiceError(f"A category named {clash.name!r} exists already.", code="duplicate")
    if category.shortcut:
        clash = others.filter(shortcut=category.shortcut).first()
        if clash:
            raise ServiceError(
                f"The shortcut {category.shortcut!r} belongs to {clash.name!r} already.",
                code="duplicate",
            )


def _save(category: SemanticCategory) -> SemanticCategory:
    _validate(category)
    # The database constraints settle a race between two requests the checks above missed.
    return save_unique(category, "The name or shortcut is taken by another category.")


@transaction.atomic
def category_create(*, actor, **fields) -> SemanticCategory:
    if fields.get("position") is None:
        last = SemanticCategory.objects.aggregate(m=Max("position"))["m"]
        fields["position"] = (last or 0) + 1
    category = _save(SemanticCategory(**{k: v for k, v in fields.items() if k in FIELDS}))
    audit_one(
        actor=actor,
        action="semantic_category.create",
        object_type="semantic_category",
        object_id=category.pk,
        after=snapshot(category),
    )
    return category


@transaction.atomic
def category_update(*, actor, category: SemanticCategory, **changes) -> SemanticCategory:
    category = SemanticCategory.objects.select_for_update().get(pk=category.pk)
    before = snapshot(category)
    for field in FIELDS:
        if field in changes:
            setattr(category, field, changes[field])
    _save(category)
    audit_one(
        actor=actor,
        action="semantic_category.update",
        object_type="semantic_category",
        object_id=category.pk,
        before=before,
        after=snapshot(category),
    )
    return category


@transaction.atomic
def category_delete(*, actor, category: SemanticCategory) -> None:
    category = SemanticCategory.objects.select_for_update().get(pk=category.pk)
    used = Cluster.objects.filter(category=category).count()
    if used:
        raise _in_use(category, used)
    audit_one(
        actor=actor,
        action="semantic_category.delete",
        object_type="semantic_category",
        object_id=category.pk,
        before=snapshot(category),
    )
    try:
        category.delete()
    except ProtectedError as exc:  # a decision naming it committed since the count
        raise _in_use(category, len(exc.protected_objects)) from exc


def _in_use(category: SemanticCategory, used: int) -> ServiceError:
    return ServiceError(
        f"{category.name!r} names {used} cluster(s); reassign them before deleting it.",
        code="in_use",
        status_code=409,
    )
