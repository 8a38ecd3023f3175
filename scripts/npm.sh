#!/usr/bin/env bash
# Installs the npm test tools (independent readers and the S3 server) into tests/node_modules.
# Idempotent: does nothing when package-lock and node_modules agree.
set -euo pipefail
cd "$(dirname "$0")/../tests"
[ -f package.json ] || exit 0
if [ -d node_modules ] && [ node_modules/.package-lock.json -nt package.json ]; then exit 0; fi
echo "npm: installing test tools" >&2
npm install --no-audit --no-fund --loglevel=error >/dev/null
touch node_modules/.package-lock.json
