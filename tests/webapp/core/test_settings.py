"""Production settings are safe by default; the deploy checklist is clean."""

import os
import secrets
import subprocess
import sys

from tests.live_services import REPO


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "SECRET_KEY")}
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-c", code],
        env=clean,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


SETUP = (
    "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'webapp.settings'; django.setup()"
)


def test_production_refuses_to_start_without_secret_key():
    result = run_django(SETUP)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_defaults_are_secure():
    result = run_django(
        SETUP + "; from django.conf import settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS > 0)",
        SECRET_KEY=secrets.token_urlsafe(50),
    )
    assert result.stdout.split() == ["False", "True", "True", "True"], result.stderr


def test_deploy_check_is_clean():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        env={
            **{k: v for k, v in os.environ.items() if k != "DEBUG"},
            "SECRET_KEY": secrets.token_urlsafe(50),
            "SECURE_SSL_REDIRECT": "1",
        },
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_bad_boolean_setting_is_a_clear_error():
    result = run_django(SETUP, DEBUG="maybe")
    assert result.returncode != 0 and "DEBUG must be a boolean" in result.stderr
