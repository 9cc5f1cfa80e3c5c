"""Slide roots: the folders an admin allows the platform to read."""

import os
from pathlib import Path

from django.conf import settings
from django.db import transaction

from webapp.accounts.models import User
from webapp.audit.services import audit_one
from webapp.core.db import save_unique
from webapp.core.errors import ServiceError
from webapp.slides.models import SlideRoot


def _within(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def check_root_path(raw: str) -> Path:
    """The resolved folder for `raw`, or a ServiceError saying why it cannot be a root."""
    if not raw or "\x00" in raw:
        raise ServiceError("Give the absolute path of a folder.", code="invalid_path")
    given = Path(raw).expanduser()
    if not given.is_absolute():
        raise ServiceError(f"{raw!r} is not an absolute path.", code="invalid_path")
    path = Path(os.path.realpath(given))
    allowed = settings.SLIDE_ROOTS
    if allowed and not any(_within(path, parent) for parent in allowed):
        listing = ", ".join(str(p) for p in allowed)
        raise ServiceError(
            f"{path} is outside the folders this server allows for slides ({listing}).",
            code="path_not_allowed",
            status_code=403,
        )
    if not path.is_dir():
        raise ServiceError(f"{path} is not an existing folder.", code="invalid_path")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ServiceError(f"{path} cannot be read by the server.", code="invalid_path")
    return path


@transaction.atomic
def root_create(*, name: str, path: str, created_by: User | None = None) -> SlideRoot:
    resolved = check_root_path(path)
    for other in SlideRoot.objects.select_for_update().all():
        other_path = Path(other.path)
        if _within(resolved, other_path) or _within(other_path, resolved):
            raise ServiceError(
                f"{resolved} overlaps the slide root {other.name!r} ({other.path}); "
                "a slide must belong to one root only.",
                code="overlapping_root",
            )
    return save_unique(
        SlideRoot(name=name, path=str(resolved), created_by=created_by),
        f"A slide root named {name!r} exists already.",
    )


def root_for_path(path: str) -> SlideRoot | None:
    """The root with this exact (resolved) path, if any."""
    return SlideRoot.objects.filter(path=os.path.realpath(Path(path).expanduser())).first()


@transaction.atomic
def root_access_set(
    *, actor: User, root: SlideRoot, restricted: bool | None = None, allowed_users=None
) -> SlideRoot:
    """Restrict a root to admins and `allowed_users` (ids), or open it; audited."""
    root = SlideRoot.objects.select_for_update().get(pk=root.pk)
    before = {"restricted": root.restricted, "allowed_users": _user_ids(root)}
    if allowed_users is not None:
        users = list(User.objects.filter(pk__in=set(allowed_users)))
        missing = sorted(set(allowed_users) - {u.pk for u in users})
        if missing:
            raise ServiceError(
                f"Unknown user ids: {', '.join(str(i) for i in missing[:10])}.",
                code="unknown_user",
            )
        root.allowed_users.set(users)
    if restricted is not None:
        root.restricted = restricted
        root.save(update_fields=["restricted"])
    after = {"restricted": root.restricted, "allowed_users": _user_ids(root)}
    if after != before:
        audit_one(
            actor=actor,
            action="slide_root.access",
            object_type="slide_root",
            object_id=root.pk,
            before=before,
            after=after,
        )
    return root


def _user_ids(root: SlideRoot) -> list[int]:
    return sorted(root.allowed_users.values_list("pk", flat=True))
