"""The controlled vocabulary: lookups by name or synonym, and audited edits."""

from django.db import transaction
from django.db.models import Count
from django.db.models.functions import Upper

from webapp.audit.services import audit_one
from webapp.core.db import save_unique
from webapp.core.errors import ServiceError
from webapp.tagging.models import Category, SlideTag, Term


def term_snapshot(term: Term) -> dict:
    return {
        "id": term.pk,
        "category": term.category.key,
        "name": term.name,
        "code": term.code,
        "synonyms": list(term.synonyms),
        "active": term.active,
    }


class TermIndex:
    """Case-insensitive lookup of terms by category key and name or synonym, loaded once."""

    def __init__(self):
        self.categories = {c.key: c for c in Category.objects.all()}
        self._by_name: dict[tuple[str, str], Term] = {}
        self._by_category: dict[str, list[Term]] = {}
        for term in Term.objects.select_related("category"):
            key = term.category.key
            self._by_category.setdefault(key, []).append(term)
            for name in (term.name, *term.synonyms):
                self._by_name.setdefault((key, name.casefold()), term)

    def category(self, key: str) -> Category:
        category = self.categories.get(key.lower())
        if category is None:
            known = ", ".join(sorted(self.categories))
            raise ServiceError(
                f"Unknown category {key!r} (known: {known}).", code="unknown_category"
            )
        return category

    def term(self, category_key: str, name: str) -> Term:
        category = self.category(category_key)
        term = self._by_name.get((category.key, name.strip().casefold()))
        if term is None:
            raise ServiceError(
                f"No term {name!r} in category {category.key!r}.", code="unknown_term"
            )
        return term

    def terms_of(self, category_key: str) -> list[Term]:
        return self._by_category.get(self.category(category_key).key, [])

    def resolve(self, category_key: str, name: str | None) -> list[int]:
        """For the rule language: term ids by name, or all of a category's for None."""
        if name is None:
            return [t.pk for t in self.terms_of(category_key)]
        return [self.term(category_key, name).pk]


@transaction.atomic
def term_create(
    *, actor, category: Category, name: str, code: str = "", synonyms: list[str] | None = None
) -> Term:
    clash = (
        Term.objects.filter(category=category)
        .annotate(n=Upper("name"))
        .filter(n=name.strip().upper())
    )
    if clash.exists():
        raise ServiceError(f"{category.key!r} has a term {name!r} already.", code="duplicate")
    term = Term.objects.create(
        category=category,
        name=name.strip(),
        code=code,
        synonyms=[s.strip() for s in synonyms or [] if s.strip()],
    )
    audit_one(
        actor=actor,
        action="vocabulary.term_create",
        object_type="term",
        object_id=term.pk,
        after=term_snapshot(term),
    )
    return term


@transaction.atomic
def term_update(*, actor, term: Term, **changes) -> Term:
    before = term_snapshot(term)
    old_name = term.name
    for field in ("name", "code", "synonyms", "active"):
        if field in changes:
            setattr(term, field, changes[field])
    if term.name != old_name and old_name.casefold() not in {x.casefold() for x in term.synonyms}:
        # Group rules name terms: the old name stays a synonym, so they keep their meaning.
        term.synonyms = [*term.synonyms, old_name]
    save_unique(term, f"{term.category.key!r} has a term {term.name!r} already.")
    audit_one(
        actor=actor,
        action="vocabulary.term_update",
        object_type="term",
        object_id=term.pk,
        before=before,
        after=term_snapshot(term),
    )
    return term


def groups_naming(term: Term) -> list[str]:
    """Names of the rule groups whose rule names the term (by name or synonym)."""
    from webapp.tagging.models import GroupKind, SlideGroup
    from webapp.tagging.rule_language import RuleError, parse

    names = {n.casefold() for n in (term.name, *term.synonyms)}
    key = term.category.key

    def mentions(tree) -> bool:
        if tree[0] in ("and", "or"):
            return any(mentions(child) for child in tree[1])
        if tree[0] == "not":
            return mentions(tree[1])
        return tree[0] == "has" and tree[1] == key and any(n.casefold() in names for n in tree[2])

    found = []
    for group in SlideGroup.objects.filter(kind=GroupKind.RULE, rule__icontains=key):
        try:
            if mentions(parse(group.rule)):
                found.append(group.name)
        except RuleError:
            continue
    return found


@transaction.atomic
def term_delete(*, actor, term: Term) -> None:
    used = SlideTag.objects.filter(term=term).count()
    groups = groups_naming(term)
    if used or term.rules.exists() or groups:
        raise ServiceError(
            f"{term.name!r} is used by {used} slide tags, by tag rules or by the group rules of "
            f"{', '.join(groups) or 'no group'}; deactivate it instead.",
            code="in_use",
            status_code=409,
        )
    audit_one(
        actor=actor,
        action="vocabulary.term_delete",
        object_type="term",
        object_id=term.pk,
        before=term_snapshot(term),
    )
    term.delete()


@transaction.atomic
def category_create(
    *, actor, key: str, name: str, multi_valued: bool = False, description: str = ""
) -> Category:
    if Category.objects.filter(key=key).exists():
        raise ServiceError(f"A category {key!r} exists already.", code="duplicate")
    order = (Category.objects.order_by("-order").values_list("order", flat=True).first() or 0) + 1
    category = Category.objects.create(
        key=key, name=name, multi_valued=multi_valued, description=description, order=order
    )
    audit_one(
        actor=actor,
        action="vocabulary.category_create",
        object_type="category",
        object_id=category.pk,
        after={"key": key, "name": name, "multi_valued": multi_valued},
    )
    return category


@transaction.atomic
def category_update(*, actor, category: Category, **changes) -> Category:
    before = {
        "key": category.key,
        "name": category.name,
        "multi_valued": category.multi_valued,
        "description": category.description,
    }
    if changes.get("multi_valued") is False and category.multi_valued:
        crowded = (
            SlideTag.objects.filter(term__category=category)
            .values("slide")
            .annotate(n=Count("id"))
            .filter(n__gt=1)
            .count()
        )
        if crowded:
            raise ServiceError(
                f"{crowded} slides hold several {category.key!r} terms; "
                "untag them before making the category single-valued."
            )
    for field in ("name", "description", "multi_valued"):
        if field in changes:
            setattr(category, field, changes[field])
    category.save()
    # The single-value constraint lives on the tag rows: keep their marker in step.
    SlideTag.objects.filter(term__category=category).update(
        single_category=None if category.multi_valued else category
    )
    audit_one(
        actor=actor,
        action="vocabulary.category_update",
        object_type="category",
        object_id=category.pk,
        before=before,
        after={**before, **{k: changes[k] for k in changes if k in before}},
    )
    return category
