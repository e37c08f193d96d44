#!/usr/bin/env bash
# Installs what kata-ts needs on a Debian 12 machine (as root), then the workspace's npm packages.
# Idempotent: each step is skipped when already satisfied.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  containerd runc crun
  qemu-system-x86 qemu-utils      # the hypervisor
  linux-image-amd64               # guest kernel source (vmlinuz + modules, never booted on the host)
  busybox-static tini             # guest userland and test images
  cpio zstd gzip e2fsprogs erofs-utils squashfs-tools kmod   # image building
  containernetworking-plugins iproute2 util-linux            # networking, `script` for tty tests
  runsc                           # gVisor, a peer in benchmarks
  conmon skopeo                   # CRI-O e2e fixture: its runc handler's monitor; images copied into its storage
  nftables                        # CRI-O 1.34 dies on a hostPort pod without `nft` (its host-port manager)
  tmux                            # e2e kata-exec: drives `kata-ts exec` on a real terminal
  prometheus                      # e2e: a real Prometheus server scrapes `kata-ts monitor` (started by the test only)
  build-essential python3         # node-gyp for node-vsock
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: apt-get install ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v node >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
fi
if ! command -v pnpm >/dev/null || [[ $(pnpm --version | cut -d. -f1) != 10 ]]; then
  echo "install-deps: npm install -g pnpm@10"
  npm install -g pnpm@10 >/dev/null 2>&1
fi

pnpm install --frozen-lockfile --reporter=silent
