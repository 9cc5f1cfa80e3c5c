"""Writes on users and their API tokens."""

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from webapp.accounts.authentication import (
    API_TOKEN_PREFIX,
    api_token_cache_key,
    api_token_digest,
    forget_tokens_of,
)
from webapp.accounts.models import ApiToken, Role, TokenScope, User
from webapp.audit.services import audit_one
from webapp.core.errors import NotFound, ServiceError

MAX_TOKENS = 50
PREFIX_LENGTH = len(API_TOKEN_PREFIX) + 4


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


def api_tokens_of(user: User):
    """The user's tokens that still work, newest first."""
    return ApiToken.objects.filter(user=user, revoked_at__isnull=True).order_by(
        "-created_at", "-id"
    )


@transaction.atomic
def api_token_create(
    *, user: User, name: str, scope: str = TokenScope.READ
) -> tuple[ApiToken, str]:
    """A new personal token; returns it and its key, which is not stored and never shown
    again (only its SHA-256 digest and a short prefix are kept)."""
    name = name.strip()
    if not name:
        raise ServiceError("Give the token a name (what will use it).", code="invalid")
    if scope not in TokenScope.values:
        raise ServiceError("scope must be 'read' or 'full'.", code="invalid")
    if api_tokens_of(user).count() >= MAX_TOKENS:
        raise ServiceError(
            f"You have {MAX_TOKENS} tokens already; revoke one first.", code="too_many_tokens"
        )
    key = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        scope=scope,
        digest=api_token_digest(key),
        prefix=key[:PREFIX_LENGTH],
    )
    audit_one(
        actor=user,
        action="api_token.create",
        object_type="api_token",
        object_id=token.pk,
        after={"name": name, "scope": scope, "prefix": token.prefix},
    )
    return token, key


@transaction.atomic
def api_token_revoke(*, user: User, token_id: int) -> None:
    """Revoke one of the user's own tokens, effective at once (its cache entry goes too)."""
    token = api_tokens_of(user).select_for_update().filter(pk=token_id).first()
    if token is None:
        raise NotFound("You have no token with that id.")
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    cache.delete(api_token_cache_key(token.digest))
    audit_one(
        actor=user,
        action="api_token.revoke",
        object_type="api_token",
        object_id=token.pk,
        before={"name": token.name, "scope": token.scope, "prefix": token.prefix},
    )
