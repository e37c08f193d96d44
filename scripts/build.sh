#!/usr/bin/env bash
# Builds every package (turbo: build runs after the packages it depends on).
set -euo pipefail
cd "$(dirname "$0")/.."
pnpm -s build
