"""Serves the built single-page app's index.html for every client-side route."""

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

_MISSING = """<!doctype html><title>RudolfV</title>
<p>The frontend is not built yet. Run <code>make run</code> (or <code>npm --prefix frontend
run build</code>) and reload.</p>"""


# The built app loads only its own scripts; OpenSeadragon draws tiles (same origin) on a
# canvas, and uPlot and the components set inline styles.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


@never_cache
@ensure_csrf_cookie
def index(request, path: str = ""):
    index_file = settings.FRONTEND_DIST / "index.html"
    if not index_file.is_file():
        response = HttpResponse(_MISSING, status=503)
    else:
        response = HttpResponse(index_file.read_bytes(), content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response
