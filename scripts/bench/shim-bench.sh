#!/usr/bin/env bash
# kata-ts shim benchmark (scripts/bench/shim-bench.ts), as root, after scripts/install.sh:
# `ctr run --rm busybox echo` latency for runc, gVisor and kata-ts through one private containerd,
# the bare VM floor, kata-ts/floor, and host memory (PSS) per running kata-ts pod.
# Options pass through: --runs N (default 5), --pods N (default 2), --json.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec pnpm exec tsx scripts/bench/shim-bench.ts "$@"
