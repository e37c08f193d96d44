#!/usr/bin/env bash
# Agent boot benchmark: QEMU start -> agent ready vs the floor, their ratio, the agent's RSS in the
# guest (idle, 10 containers) and the image sizes. Options: --runs N (default 5), --containers N,
# --no-build (use images/out as it is), --format initrd|disk (default: the image's), --ready-only,
# --initrd FILE (boot another initrd, for development).
set -euo pipefail
cd "$(dirname "$0")/../.."
export TSX_TSCONFIG_PATH=$PWD/packages/agent/tsconfig.json
exec node --require tsx/cjs scripts/bench/agent-boot.ts "$@"
