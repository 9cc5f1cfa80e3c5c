from django.urls import path
from rest_framework.routers import SimpleRouter

from webapp.accounts import apis

router = SimpleRouter()
router.register("users", apis.UserViewSet, basename="user")
router.register("tokens", apis.ApiTokenViewSet, basename="api-token")

urlpatterns = [
    path("auth/csrf/", apis.CsrfApi.as_view(), name="auth-csrf"),
    path("auth/login/", apis.LoginApi.as_view(), name="auth-login"),
    path("auth/logout/", apis.LogoutApi.as_view(), name="auth-logout"),
    path("auth/me/", apis.MeApi.as_view(), name="auth-me"),
    path("auth/token/", apis.TokenApi.as_view(), name="auth-token"),
    path("auth/token/revoke/", apis.TokenRevokeApi.as_view(), name="auth-token-revoke"),
    *router.urls,
]
