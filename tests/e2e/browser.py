"""Running the frontend's playwright-core scripts (frontend/e2e/*.mjs) against a live server."""

import json
import shutil
import subprocess
from pathlib import Path

from tests.live_services import REPO

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = REPO / "test-artifacts" / "e2e"


def skip_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return "Chromium is not installed (apt-get install -y chromium); .ci/run installs it"
    if not shutil.which("node"):
        return "Node.js is not installed"
    if not (REPO / "frontend" / "node_modules" / "playwright-core").is_dir():
        return "frontend packages are not installed (npm --prefix frontend ci)"
    if not (REPO / "frontend" / "dist" / "index.html").is_file():
        return "the frontend is not built (npm --prefix frontend run build)"
    return None


def run_script(name: str, base_url: str, home: Path, timeout: int = 180, **env: str) -> dict:
    """Run frontend/e2e/NAME against BASE_URL; return its JSON summary (last stdout line)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        ["node", str(REPO / "frontend" / "e2e" / name)],
        env={
            "PATH": "/usr/bin:/bin:/usr/local/bin",
            "HOME": str(home),
            "BASE_URL": base_url,
            "SCREENSHOT_DIR": str(ARTIFACTS),
            "CHROMIUM_PATH": CHROMIUM,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO / "frontend",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])
