# Sourced by scripts/run and scripts/test: a local virtual environment with the project
# installed, and the frontend built. Re-running is cheap: each step is skipped when its
# inputs have not changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1)); set PYTHON=..." >&2
  exit 1
fi
command -v node >/dev/null || { echo "Node.js 20 or newer is needed to build the frontend." >&2; exit 1; }

[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
stamp=".venv/.installed-$(cat pyproject.toml | sha1sum | cut -c1-12)"
if [ ! -f "$stamp" ]; then
  echo "Installing Python packages into .venv (first run: a few minutes)…"
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".[cpu,dev]"
  rm -f .venv/.installed-* && touch "$stamp"
fi

if [ ! -f frontend/node_modules/.package-lock.json ] \
   || [ frontend/package-lock.json -nt frontend/node_modules/.package-lock.json ]; then
  echo "Installing frontend packages…"
  npm --prefix frontend ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f frontend/dist/index.html ] || [ -n "$(find frontend/src frontend/index.html \
     frontend/package.json frontend/vite.config.ts -newer frontend/dist/index.html 2>/dev/null | head -1)" ]; then
  echo "Building the frontend…"
  npm --prefix frontend run build --silent
fi
