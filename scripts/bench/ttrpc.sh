#!/usr/bin/env bash
# ttrpc-ts vs @grpc/grpc-js over a unix socket (scripts/bench/ttrpc-bench.ts). Run after `pnpm install`.
# Options pass through: --rounds N (default 5), --calls N (sequential calls per round, default 5000).
set -euo pipefail
cd "$(dirname "$0")/../.."
exec pnpm exec tsx scripts/bench/ttrpc-bench.ts "$@"
