#!/usr/bin/env bash
# Packs the npm package with a built binary and installs the tarball into a
# fresh temporary project, as a user would (the project is a copy of
# examples/js: its package.json and lockfile, its tests), then runs the
# package's own tests (js/test) and the examples there with `node --test`,
# with no STOMPBOX_BIN (so the packaged binary runs). Then checks that no
# broker is left running.
# Usage: js/check-package.sh STOMPBOX_BINARY
set -euo pipefail
binary=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work" "$repo/js/native"' EXIT

(cd "$repo/js" && node scripts/stage-binary.cjs "$binary" && npm pack --silent --pack-destination "$work" >/dev/null)
tarball=$(ls "$work"/stompbox-*.tgz)
echo "packed $(basename "$tarball"): $(tar -tzf "$tarball" | tr '\n' ' ')"

mkdir "$work/project"
cp "$repo"/examples/js/package.json "$repo"/examples/js/package-lock.json \
  "$repo"/examples/js/*.test.js "$repo"/examples/js/types.check.ts "$work/project/"
cp -r "$repo/examples/js/browser" "$work/project/"
mkdir "$work/project/package-tests"
cp "$repo"/js/test/*.test.mjs "$work/project/package-tests/"
cd "$work/project"
npm ci --no-audit --no-fund --loglevel=error
npm install --no-save --no-audit --no-fund --loglevel=error "$tarball"
npm run --silent typecheck
# The browser test's screenshot goes to the checkout's target/ci-artifacts.
export STOMPBOX_ARTIFACTS=${STOMPBOX_ARTIFACTS:-$repo/target/ci-artifacts}
env -u STOMPBOX_BIN node --test

left=$(pgrep -f "^$work/project/node_modules/stompbox/native/" || true)
if [ -n "$left" ]; then
  echo "brokers left running after the tests: $left" >&2
  kill $left
  exit 1
fi
echo "no broker left running"
