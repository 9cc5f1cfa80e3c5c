"""Every kind of response carries the security headers the settings configure: API JSON,
the SPA's HTML (with its Content-Security-Policy), a static file, 404s, the 500 handler and
file downloads."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _assert_secure(response, what: str) -> None:
    for name, value in HEADERS.items():
        assert response.get(name) == value, (what, name, response.get(name))


class _Broken:
    def __truediv__(self, other):
        raise RuntimeError("the frontend folder cannot be read")


def test_every_kind_of_response_has_the_security_headers(api_as, aperio_slide, settings, tmp_path):
    viewer = api_as("viewer")
    checked = {
        "api json": viewer.get("/api/auth/me/"),
        "api 401": Client().get("/api/slides/"),
        "api 404 (DRF)": viewer.get("/api/slides/999999/"),
        "404 (handler)": viewer.get("/api/no-such-endpoint/"),
        "thumbnail download": viewer.get(f"/api/slides/{aperio_slide.pk}/thumbnail/"),
        "csv download": viewer.get("/api/slides/export.csv"),
    }
    (tmp_path / "index.html").write_text("<!doctype html><div id=root></div>")
    settings.FRONTEND_DIST = tmp_path
    checked["spa html"] = viewer.get("/slides/1")
    settings.FRONTEND_DIST = tmp_path / "absent"
    checked["spa not built (503)"] = viewer.get("/")
    settings.FRONTEND_DIST = _Broken()
    checked["500 handler"] = Client(raise_request_exception=False).get("/slides")
    assert checked["500 handler"].status_code == 500
    assert checked["500 handler"].json()["code"] == "server_error"
    for what, response in checked.items():
        _assert_secure(response, what)
    for what in ("spa html", "spa not built (503)"):
        policy = checked[what]["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert "'unsafe-eval'" not in policy and "script-src 'self'" in policy


def test_static_files_have_the_security_headers(settings, tmp_path):
    (tmp_path / "probe.css").write_text("body {}")
    settings.STATIC_ROOT = tmp_path
    settings.WHITENOISE_USE_FINDERS = False
    response = Client().get("/static/probe.css")  # a new client: WhiteNoise reads STATIC_ROOT
    assert response.status_code == 200
    _assert_secure(response, "static")
