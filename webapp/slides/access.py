"""Who may see which slides: the one place the restricted-root rule lives.

A slide root marked `restricted` is seen only by admins and the root's `allowed_users`;
every other root by everyone logged in. A slide of a root a user may not see is absent
from every list and count, and its direct URLs answer 404 (as if it did not exist). Views
call these helpers; nothing else decides.
"""

from collections.abc import Iterable

from django.core.cache import cache
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save

from webapp.accounts.models import Role
from webapp.core.errors import NotFound, ServiceError
from webapp.slides.models import Slide, SlideRoot


def _sees_everything(user) -> bool:
    return bool(user and user.is_authenticated and user.role == Role.ADMIN)


# Every tile asks, so the answer is cached (Redis, shared by all processes) under a
# generation that any change to a root's access bumps (the signals below).
GENERATION_KEY = "slides:access:generation"
CACHE_SECONDS = 300


def _generation() -> int:
    return cache.get(GENERATION_KEY) or 0


def access_changed(**kwargs) -> None:
    """Forget every cached answer: now, and again when the transaction commits (a request
    in between may have cached the state before it)."""

    def bump():
        try:
            cache.incr(GENERATION_KEY)
        except ValueError:  # no generation yet (or evicted)
            cache.set(GENERATION_KEY, _generation() + 1, None)

    bump()
    transaction.on_commit(bump)


def hidden_root_ids(user) -> set[int]:
    """The roots `user` may not see (none for an admin)."""
    if _sees_everything(user):
        return set()
    user_id = user.pk if user and user.is_authenticated else 0
    key = f"slides:access:{_generation()}:hidden:{user_id}"
    hidden = cache.get(key)
    if hidden is None:
        roots = SlideRoot.objects.filter(restricted=True)
        if user_id:
            roots = roots.exclude(allowed_users=user)
        hidden = set(roots.values_list("pk", flat=True))
        cache.set(key, hidden, CACHE_SECONDS)
    return hidden


def visible_slides(user, queryset: QuerySet[Slide] | None = None) -> QuerySet[Slide]:
    """`queryset` (default: all slides) without the slides of roots hidden from `user`."""
    queryset = Slide.objects.all() if queryset is None else queryset
    hidden = hidden_root_ids(user)
    return queryset.exclude(root_id__in=hidden) if hidden else queryset


def visible_related(user, queryset: QuerySet, field: str = "slide") -> QuerySet:
    """Rows of another model (tilings, tags…) less those whose slide `field` is hidden."""
    hidden = hidden_root_ids(user)
    return queryset.exclude(**{f"{field}__root_id__in": hidden}) if hidden else queryset


def slide_visible(user, slide_id: int) -> bool:
    hidden = hidden_root_ids(user)
    return not hidden or not Slide.objects.filter(pk=slide_id, root_id__in=hidden).exists()


def visible_slide_or_404(user, pk: int, queryset: QuerySet[Slide] | None = None) -> Slide:
    slide = visible_slides(user, queryset).filter(pk=pk).first()
    if slide is None:
        raise NotFound("No slide with that id.")
    return slide


def require_slide_visible(user, slide_id: int) -> None:
    """404 (not 403: existence must not leak) for a slide `user` may not see."""
    if not slide_visible(user, slide_id):
        raise NotFound("No slide with that id.")


def hidden_slide_ids(user, slide_ids: Iterable[int]) -> set[int]:
    """Which of `slide_ids` are hidden from `user` (for filtering lists of tiles)."""
    hidden = hidden_root_ids(user)
    if not hidden:
        return set()
    ids = {int(i) for i in slide_ids if 0 < int(i) < 2**63}  # ids a bigint can hold
    if not ids:
        return set()
    return set(Slide.objects.filter(pk__in=ids, root_id__in=hidden).values_list("pk", flat=True))


def without_hidden(user, rows: list[dict], key: str = "slide") -> list[dict]:
    """`rows` (tiles, entries) less those whose `key` is a slide (an id, or its digits as a
    string) hidden from `user`."""

    def slide_id(row) -> int | None:
        value = row.get(key)
        return int(value) if str(value).isdigit() else None

    hidden = hidden_slide_ids(user, (i for i in map(slide_id, rows) if i is not None))
    return [r for r in rows if slide_id(r) not in hidden] if hidden else rows


def require_all_visible(user, slide_ids: Iterable[int], what: str) -> None:
    """403 when any of `slide_ids` is hidden from `user` (for a dataset containing them)."""
    if hidden_slide_ids(user, slide_ids):
        raise ServiceError(
            f"{what} contains slides of a restricted slide root you have no access to; "
            "ask an admin for access.",
            code="restricted_root",
            status_code=403,
        )


def require_known_ids(user, slide_ids: Iterable[int]) -> None:
    """For writes naming many slides: hidden ids are refused exactly like ids that do not
    exist (400 unknown_slide), so the answer tells nothing about them."""
    hidden = sorted(hidden_slide_ids(user, slide_ids))
    if hidden:
        shown = ", ".join(str(i) for i in hidden[:10]) + (" …" if len(hidden) > 10 else "")
        raise ServiceError(f"Unknown slide ids: {shown}.", code="unknown_slide")


post_save.connect(access_changed, sender=SlideRoot, dispatch_uid="slide-root-access-saved")
post_delete.connect(access_changed, sender=SlideRoot, dispatch_uid="slide-root-access-deleted")
m2m_changed.connect(
    access_changed, sender=SlideRoot.allowed_users.through, dispatch_uid="slide-root-allowed"
)
