#!/usr/bin/env bash
# Installs a built wheel into a fresh virtualenv, as a user would, and runs
# the package's tests and examples/python there, from outside the source tree
# (so a file missing from the wheel fails), with no STOMPBOX_BIN (so the
# wheel's own binary runs). Then checks that no broker is left running.
# Usage: python/check-wheel.sh WHEEL
set -euo pipefail
wheel=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 -m venv "$work/venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "$wheel" \
  -r "$repo/tests/interop/requirements.txt"
cp -r "$repo/python/tests" "$work/tests"
cp -r "$repo/examples/python" "$work/examples"
installed=$("$work/venv/bin/python" -c 'import os, stompbox; print(os.path.dirname(stompbox.__file__))')
# The doc examples of the installed modules, then the tests.
(cd "$work" && env -u STOMPBOX_BIN venv/bin/python -m pytest -q -p no:cacheprovider \
  --doctest-modules "$installed" tests examples)

left=$(pgrep -f "^$work/venv/bin/stompbox" || true)
if [ -n "$left" ]; then
  echo "brokers left running after the tests: $left" >&2
  kill $left
  exit 1
fi
echo "no broker left running"
