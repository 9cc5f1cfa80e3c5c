"""Personal API tokens: created with the key shown once, stored as a digest, listed and
revoked by their owner only, read scope refused unsafe methods anywhere, revoked → 401,
last use recorded at most once a minute, DRF tokens still work."""

import hashlib

import pytest
from rest_framework.test import APIClient

from webapp.accounts.models import ApiToken
from webapp.audit.models import AuditEvent

pytestmark = pytest.mark.django_db


def _with(key: str, keyword: str = "Token") -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {key}")
    return client


def test_create_list_use_and_revoke(api_as, make_user):
    session = api_as("pathologist")
    assert session.post("/api/tokens/", {"name": ""}, format="json").status_code == 400
    assert (
        session.post("/api/tokens/", {"name": "x", "scope": "all"}, format="json").status_code
        == 400
    )
    created = session.post(
        "/api/tokens/", {"name": "export script", "scope": "read"}, format="json"
    )
    assert created.status_code == 201, created.json()
    data = created.json()
    key = data["key"]
    assert key.startswith("rv_") and data["prefix"] == key[:7] and data["scope"] == "read"
    stored = ApiToken.objects.get(pk=data["id"])
    assert stored.digest == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(ApiToken.objects.filter(pk=data["id"]).values().get())
    listed = session.get("/api/tokens/").json()
    assert listed == [
        {k: data[k] for k in ("id", "name", "scope", "prefix", "created_at", "last_used_at")}
    ]  # no key
    assert AuditEvent.objects.filter(action="api_token.create").count() == 1

    reader = _with(key)
    assert reader.get("/api/auth/me/").json()["username"] == "pathologist-user"
    assert ApiToken.objects.get(pk=data["id"]).last_used_at is not None
    first_use = ApiToken.objects.get(pk=data["id"]).last_used_at
    assert _with(key, "Bearer").get("/api/slides/").status_code == 200
    assert ApiToken.objects.get(pk=data["id"]).last_used_at == first_use  # once a minute
    refused = reader.post("/api/groups/", {"name": "g", "rule": "stain IS SET"}, format="json")
    assert refused.status_code == 403 and refused.json()["detail"] == "This token is read-only."
    assert reader.patch("/api/auth/me/", {}, format="json").status_code == 403
    assert reader.options("/api/slides/").status_code == 200

    full = session.post("/api/tokens/", {"name": "curation", "scope": "full"}, format="json")
    writer = _with(full.json()["key"])
    made = writer.post("/api/groups/", {"name": "g", "rule": "stain IS SET"}, format="json")
    assert made.status_code == 201  # a full token acts with the user's role

    # Own tokens only; revoked tokens stop at once.
    other = api_as("viewer")
    assert other.get("/api/tokens/").json() == []
    assert other.delete(f"/api/tokens/{data['id']}/").status_code == 404
    assert session.delete(f"/api/tokens/{data['id']}/").status_code == 204
    assert session.delete(f"/api/tokens/{data['id']}/").status_code == 404
    assert reader.get("/api/slides/").status_code == 401
    assert [t["name"] for t in session.get("/api/tokens/").json()] == ["curation"]
    assert AuditEvent.objects.filter(action="api_token.revoke").count() == 1
    assert _with("rv_not-a-token").get("/api/slides/").status_code == 401
    assert session.delete("/api/tokens/abc/").status_code == 404


def test_drf_tokens_still_work_and_inactive_users_are_refused(make_user):
    user = make_user("viewer", username="tool")
    client = APIClient()
    token = client.post(
        "/api/auth/token/", {"username": "tool", "password": "a-Long-test-passw0rd"}, format="json"
    ).json()["token"]
    assert _with(token).get("/api/slides/").status_code == 200
    from webapp.accounts.services import api_token_create, user_update

    _, key = api_token_create(user=user, name="t", scope="full")
    assert _with(key).get("/api/slides/").status_code == 200
    admin = make_user("admin", username="boss")
    user_update(user=user, acting=admin, is_active=False)
    assert _with(key).get("/api/slides/").status_code == 401
