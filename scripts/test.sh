#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine (as root) and runs every test:
# generated-code drift, typecheck, lint, unit, integration and end-to-end tiers.
# Idempotent; safe to run again. Prints a closing "N passed, N failed" line.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
./scripts/build.sh
# The e2e tier drives the installed shim through containerd: install it (and the guest image) first.
KATA_TS_SKIP_DEPS=1 KATA_TS_SKIP_BUILD=1 ./scripts/install.sh

echo "== generated code drift"
node scripts/check-gen-drift.mjs
echo "== typecheck"
pnpm -s typecheck
echo "== lint"
pnpm -s lint

echo "== tests (unit, integration, e2e)"
results=$(mktemp)
set +e
npx jest --selectProjects unit integration e2e --runInBand --json --outputFile="$results" "$@"
rc=$?
set -e
node -e '
  const r = JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests} skipped`);
' "$results"
rm -f "$results"
exit $rc
