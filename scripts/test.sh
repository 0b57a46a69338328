#!/usr/bin/env bash
# Set up behavtrack with its test extras in .venv and run the whole test suite.
# On a fresh Debian machine (as root) it first installs the system libraries that napari's
# Qt needs under a virtual screen (Xvfb). Usage: bash scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
# a C compiler builds the classifier's tree walker at install (optional, but tested here)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
for pkg in xvfb libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-image0 libxcb-randr0 \
           libxcb-render-util0 libxcb-shape0 libxkbcommon-x11-0 libgl1 libegl1 libdbus-1-3 \
           libfontconfig1; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing system packages (napari/Qt, C compiler): ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "warning: missing system packages (${need_apt[*]}); napari (or compiled-walker) tests will be skipped" >&2
  fi
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev,napari,distributed]"
# byte-compile the package, as a regular (not editable) install does: where
# PYTHONDONTWRITEBYTECODE is set, every process would otherwise compile it (~0.15 s a start)
.venv/bin/python -m compileall -q behavtrack
.venv/bin/python -m ruff check behavtrack tests benchmarks cli.py
exec .venv/bin/python -m pytest -q "$@"
