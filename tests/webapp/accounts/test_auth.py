"""Login, logout, tokens, the error shape, and user management by role."""

import pytest
from rest_framework.test import APIClient

from webapp.accounts.models import User

pytestmark = pytest.mark.django_db
PASSWORD = "a-Long-test-passw0rd"


def test_session_login_me_logout(make_user):
    make_user("pathologist", username="ana")
    client = APIClient(enforce_csrf_checks=True)
    assert client.get("/api/auth/me/").status_code == 401
    assert client.get("/api/auth/csrf/").status_code == 204
    csrf = client.cookies["csrftoken"].value

    bad = client.post("/api/auth/login/", {"username": "ana", "password": "wrong"}, format="json")
    assert bad.status_code == 400
    assert bad.json() == {"detail": "Invalid username or password.", "code": "invalid_credentials"}

    ok = client.post("/api/auth/login/", {"username": "ana", "password": PASSWORD}, format="json")
    assert ok.status_code == 200 and ok.json()["role"] == "pathologist"
    me = client.get("/api/auth/me/").json()
    assert me["username"] == "ana" and "password" not in me

    # Unsafe requests with a session need the CSRF token (rotated at login).
    assert client.post("/api/auth/logout/").status_code == 403
    csrf = client.cookies["csrftoken"].value or csrf
    assert client.post("/api/auth/logout/", HTTP_X_CSRFTOKEN=csrf).status_code == 204
    assert client.get("/api/auth/me/").status_code == 401


def test_token_auth(make_user):
    make_user("viewer", username="tool")
    client = APIClient()
    token = client.post(
        "/api/auth/token/", {"username": "tool", "password": PASSWORD}, format="json"
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/slides/").status_code == 200
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert client.get("/api/slides/").status_code == 401


def test_inactive_user_is_refused(make_user):
    user = make_user("viewer", username="gone")
    user.is_active = False
    user.save()
    response = APIClient().post(
        "/api/auth/login/", {"username": "gone", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 400


def test_login_validation_errors_are_400_with_fields():
    response = APIClient().post("/api/auth/login/", {"username": ""}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and set(body["fields"]) == {"username", "password"}


@pytest.mark.parametrize(
    ("role", "expected"), [("admin", 200), ("pathologist", 403), ("viewer", 403), (None, 401)]
)
def test_users_api_is_admin_only(api_as, role, expected):
    client = api_as(role)
    assert client.get("/api/users/").status_code == expected
    assert client.post("/api/users/", {}, format="json").status_code == (
        400 if expected == 200 else expected
    )


def test_admin_manages_users(api_as):
    admin = api_as("admin")
    created = admin.post(
        "/api/users/",
        {"username": "newbie", "password": PASSWORD, "role": "pathologist"},
        format="json",
    )
    assert created.status_code == 201
    user_id = created.json()["id"]
    assert User.objects.get(pk=user_id).check_password(PASSWORD)
    duplicate = admin.post(
        "/api/users/", {"username": "newbie", "password": PASSWORD}, format="json"
    )
    assert duplicate.status_code == 400 and "exists" in duplicate.json()["detail"]
    weak = admin.post("/api/users/", {"username": "weak", "password": "123"}, format="json")
    assert weak.status_code == 400
    changed = admin.patch(
        f"/api/users/{user_id}/", {"role": "viewer", "is_active": False}, format="json"
    )
    assert changed.json()["role"] == "viewer" and changed.json()["is_active"] is False
    me = admin.get("/api/auth/me/").json()
    self_demote = admin.patch(f"/api/users/{me['id']}/", {"role": "viewer"}, format="json")
    assert self_demote.status_code == 400


def test_schema_and_docs(api_as):
    client = api_as(None)
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/slides/" in paths and "/api/slides/{id}/dzi.json" in paths
    assert client.get("/api/docs/").status_code == 200


def test_token_revocation_and_deactivation_take_effect_at_once(make_user, api_as):
    user = make_user("viewer", username="tool")
    client = APIClient()
    token = client.post(
        "/api/auth/token/", {"username": "tool", "password": PASSWORD}, format="json"
    ).json()["token"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/slides/").status_code == 200
    assert client.get("/api/slides/").status_code == 200  # now served from the token cache

    admin = api_as("admin")
    assert (
        admin.patch(f"/api/users/{user.pk}/", {"is_active": False}, format="json").status_code
        == 200
    )
    assert client.get("/api/slides/").status_code == 401
    assert (
        admin.patch(f"/api/users/{user.pk}/", {"is_active": True}, format="json").status_code == 200
    )
    assert client.get("/api/slides/").status_code == 200

    assert client.post("/api/auth/token/revoke/").status_code == 204
    assert client.get("/api/slides/").status_code == 401


@pytest.mark.parametrize("path", ["/api/auth/login/", "/api/auth/token/"])
def test_login_is_rate_limited(make_user, path):
    """10 attempts a minute per client (LOGIN_THROTTLE_RATE), right or wrong, then 429."""
    make_user("viewer", username="slow")
    client = APIClient()
    wrong = {"username": "slow", "password": "not-the-password"}
    statuses = [client.post(path, wrong, format="json").status_code for _ in range(10)]
    assert len(set(statuses)) == 1 and statuses[0] in (400, 401, 403)  # refused, not 429
    refused = client.post(path, {"username": "slow", "password": PASSWORD})  # even right
    assert refused.status_code == 429
    assert "Retry-After" in refused
