"""Token authentication that keeps a token's user in Redis for a short while.

Every API request with a token costs a query otherwise; for a viewer pulling dozens of
deep-zoom tiles a second that query is most of a warm tile's time. A token and its user are
cached for `TOKEN_CACHE_SECONDS`; the services that change a user or its tokens drop the
entry at once, so only changes made around them (the Django admin, a shell) wait out the TTL.
"""

import hashlib

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication
from rest_framework.authtoken.models import Token


def token_cache_key(key: str) -> str:
    # A digest, so raw tokens never appear as Redis keys.
    return "auth-token:" + hashlib.sha256(key.encode()).hexdigest()


def forget_tokens_of(user) -> None:
    """Drop the cached entries of a user's tokens (after a role, activity or token change)."""
    cache.delete_many(
        [token_cache_key(k) for k in Token.objects.filter(user=user).values_list("key", flat=True)]
    )


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
