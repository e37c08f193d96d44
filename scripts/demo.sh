#!/usr/bin/env bash
# Sets everything up on a fresh Debian 12 machine (as root) and runs the main job: a busybox container
# in its own VM through containerd (`ctr run --runtime io.containerd.kata.v2`), printing from inside it.
# Idempotent. The containerd it uses is a private instance that is stopped and removed afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install.sh            # apt + npm dependencies, build, guest image, shim on PATH, configuration
npx tsx scripts/demo/container-in-vm.ts
