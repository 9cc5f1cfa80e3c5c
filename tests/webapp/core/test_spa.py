"""Django serves the built single-page app for client-side routes, never for the API."""

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/slides", "/slides/12", "/slide-roots", "/login"])
def test_client_routes_serve_index(client, path, settings, tmp_path):
    (tmp_path / "index.html").write_text("<!doctype html><div id=root></div>")
    settings.FRONTEND_DIST = tmp_path
    response = client.get(path)
    assert response.status_code == 200
    assert b"id=root" in response.content
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_unknown_api_path_is_json_404_not_the_app(client):
    response = client.get("/api/nothing-here/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_health(client):
    assert client.get("/api/health/").json() == {"status": "ok"}
