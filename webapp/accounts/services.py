"""Writes on users."""

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from rest_framework.authtoken.models import Token

from webapp.accounts.authentication import forget_tokens_of
from webapp.accounts.models import Role, User
from webapp.core.errors import ServiceError


@transaction.atomic
def user_create(
    *,
    username: str,
    password: str,
    role: str = Role.VIEWER,
    full_name: str = "",
    validate: bool = True,
) -> User:
    if User.objects.filter(username__iexact=username).exists():
        raise ServiceError(f"A user named {username!r} exists already.", code="duplicate")
    user = User(username=username, role=role, full_name=full_name)
    if validate:
        validate_password(password, user)
    user.set_password(password)
    user.is_staff = role == Role.ADMIN
    user.is_superuser = role == Role.ADMIN
    user.save()
    return user


def user_update(*, user: User, acting: User, **changes) -> User:
    if user.pk == acting.pk and (
        changes.get("role", user.role) != Role.ADMIN or changes.get("is_active") is False
    ):
        raise ServiceError("You cannot remove your own admin role or deactivate yourself.")
    for field in ("role", "is_active", "full_name"):
        if field in changes:
            setattr(user, field, changes[field])
    user.is_staff = user.is_superuser = user.role == Role.ADMIN
    user.save()
    forget_tokens_of(user)
    return user


def user_ensure(
    *, username: str, password: str, role: str, full_name: str = ""
) -> tuple[User, bool]:
    """Create a demo or bootstrap user once; an existing one is left as it is."""
    existing = User.objects.filter(username=username).first()
    if existing:
        return existing, False
    return user_create(
        username=username, password=password, role=role, full_name=full_name, validate=False
    ), True


def token_revoke(*, user: User) -> None:
    """Delete the user's API token, effective at once (its cache entry goes too)."""
    forget_tokens_of(user)
    Token.objects.filter(user=user).delete()
