"""Serves the built single-page app's index.html for every client-side route."""

from django.conf import settings
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie

_MISSING = """<!doctype html><title>RudolfV</title>
<p>The frontend is not built yet. Run <code>make run</code> (or <code>npm --prefix frontend
run build</code>) and reload.</p>"""


@never_cache
@ensure_csrf_cookie
def index(request, path: str = ""):
    index_file = settings.FRONTEND_DIST / "index.html"
    if not index_file.is_file():
        return HttpResponse(_MISSING, status=503)
    return HttpResponse(index_file.read_bytes(), content_type="text/html; charset=utf-8")
