#!/usr/bin/env bash
# Screenshot an HTML report in headless Chromium, to check that it opens offline and shows its
# figures: docs/screenshot_report.sh REPORT.html OUT.png [WIDTH,HEIGHT]
#
# Needs the Debian package chromium (apt-get update && apt-get install -y chromium). Runs with
# a throw-away profile, no network services, no GPU and no sandbox (containers run as root).
# Example: .venv/bin/behavtrack demo --out /tmp/demo-check
#          docs/screenshot_report.sh /tmp/demo-check/report/report.html docs/report.png
set -euo pipefail

if [[ $# -lt 2 || $# -gt 3 ]]; then
    echo "usage: $0 REPORT.html OUT.png [WIDTH,HEIGHT]" >&2
    exit 2
fi
if ! command -v chromium >/dev/null 2>&1; then
    echo "$0: error: chromium is not on PATH; install it: apt-get install -y chromium" >&2
    exit 2
fi
if [[ ! -f "$1" ]]; then
    echo "$0: error: $1: no such report; give the report.html written by behavtrack" >&2
    exit 2
fi
report=$(realpath "$1")
out=$(realpath -m "$2")
size=${3:-1280,2400}
mkdir -p "$(dirname "$out")"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$out"

timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --hide-scrollbars --user-data-dir="$profile" --window-size="$size" \
    --screenshot="$out" "file://$report" >/dev/null 2>"$profile/chromium.log" || {
    echo "$0: error: chromium failed:" >&2
    tail -n 20 "$profile/chromium.log" >&2
    exit 1
}
if [[ ! -s "$out" ]]; then
    echo "$0: error: chromium wrote no screenshot:" >&2
    tail -n 20 "$profile/chromium.log" >&2
    exit 1
fi
echo "$out"
