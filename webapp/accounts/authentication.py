"""Token authentication that keeps a token's user in Redis for a short while.

Every API request with a token costs a query otherwise; for a viewer pulling dozens of
deep-zoom tiles a second that query is most of a warm tile's time. A token and its user are
cached for `TOKEN_CACHE_SECONDS`; the services that change a user or its tokens drop the
entry at once, so only changes made around them (the Django admin, a shell) wait out the TTL.

Two kinds of token: the one DRF token per user (`POST /api/auth/token/`), and named personal
`ApiToken`s (`rv_…`, scope read or full, `/api/tokens/`) stored as SHA-256 digests. A read
token is refused any unsafe method here (403), and again in `IsActiveUser`, so no view can
forget it.
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.authtoken.models import Token
from rest_framework.permissions import SAFE_METHODS

API_TOKEN_PREFIX = "rv_"
READ_ONLY_MESSAGE = "This token is read-only."
LAST_USED_EVERY = timedelta(minutes=1)


def token_cache_key(key: str) -> str:
    # A digest, so raw tokens never appear as Redis keys.
    return "auth-token:" + hashlib.sha256(key.encode()).hexdigest()


def api_token_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_token_cache_key(digest: str) -> str:
    return "api-token:" + digest


def forget_tokens_of(user) -> None:
    """Drop the cached entries of a user's tokens (after a role, activity or token change)."""
    from webapp.accounts.models import ApiToken

    cache.delete_many(
        [token_cache_key(k) for k in Token.objects.filter(user=user).values_list("key", flat=True)]
        + [
            api_token_cache_key(d)
            for d in ApiToken.objects.filter(user=user).values_list("digest", flat=True)
        ]
    )


def token_is_read_only(auth) -> bool:
    return bool(getattr(auth, "read_only", False))


class CachedTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        cache_key = token_cache_key(key)
        try:
            token = cache.get(cache_key)
        except Exception:  # noqa: BLE001 - an entry pickled by an older release: ask the database
            token = None
        if token is None:
            user, token = super().authenticate_credentials(key)
            cache.set(cache_key, token, settings.TOKEN_CACHE_SECONDS)
            return user, token
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        return token.user, token


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token rv_<key>` or `Bearer rv_<key>`: a personal ApiToken.

    Other keys are left to the next class (the DRF token, the session). The token and its
    user are cached like DRF tokens; `last_used_at` is written at most once a minute.
    """

    keywords = ("token", "bearer")

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if len(auth) != 2 or auth[0].lower().decode(errors="replace") not in self.keywords:
            return None
        try:
            key = auth[1].decode()
        except UnicodeError:
            return None
        if not key.startswith(API_TOKEN_PREFIX):
            return None
        user, token = self.authenticate_credentials(key)
        if token.read_only and request.method not in SAFE_METHODS:
            raise exceptions.PermissionDenied(READ_ONLY_MESSAGE)
        return user, token

    def authenticate_credentials(self, key):
        from webapp.accounts.models import ApiToken

        digest = api_token_digest(key)
        cache_key = api_token_cache_key(digest)
        try:
            token = cache.get(cache_key)
        except Exception:  # noqa: BLE001 - an unreadable entry: ask the database
            token = None
        if token is None:
            token = (
                ApiToken.objects.select_related("user")
                .filter(digest=digest, revoked_at__isnull=True)
                .first()
            )
            if token is None:
                raise exceptions.AuthenticationFailed("Invalid or revoked token.")
            cache.set(cache_key, token, settings.TOKEN_CACHE_SECONDS)
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        self._touch(token)
        return token.user, token

    @staticmethod
    def _touch(token) -> None:
        from webapp.accounts.models import ApiToken

        # One write a minute at most, whatever the request rate (cache.add is atomic).
        if cache.add(f"api-token-used:{token.pk}", 1, int(LAST_USED_EVERY.total_seconds())):
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())

    def authenticate_header(self, request):
        return "Token"
