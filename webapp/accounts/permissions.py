"""Role checks for every endpoint; the API never trusts the client to hide a button."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from webapp.accounts.authentication import READ_ONLY_MESSAGE, token_is_read_only
from webapp.accounts.models import Role


class IsActiveUser(BasePermission):
    """The default and the base of every other class: any logged-in, active user may read.

    A read-scope API token may only use safe methods, whatever the endpoint: checked here
    once, so no endpoint can forget it (the token's authentication refuses too).
    """

    message = "Log in to use the API."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if request.method not in SAFE_METHODS and token_is_read_only(request.auth):
            self.message = READ_ONLY_MESSAGE
            return False
        return True


class IsAdmin(IsActiveUser):
    message = "Only admins may do this."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request.user.role == Role.ADMIN


class IsCurator(IsActiveUser):
    """Pathologists and admins."""

    message = "Only pathologists and admins may do this."

    def has_permission(self, request, view) -> bool:
        return super().has_permission(request, view) and request.user.role in (
            Role.ADMIN,
            Role.PATHOLOGIST,
        )


class ReadOrAdmin(IsActiveUser):
    """Everyone logged in reads; only admins write."""

    message = "Only admins may change this."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or request.user.role == Role.ADMIN


class ReadOrCurator(IsActiveUser):
    """Everyone logged in reads; pathologists and admins write."""

    message = "Only pathologists and admins may change this."

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        return request.method in SAFE_METHODS or request.user.role in (
            Role.ADMIN,
            Role.PATHOLOGIST,
        )
