#!/usr/bin/env bash
# kata-ts CRI conformance: critest v1.37.0's validation suite against containerd 2.x (handler kata =
# io.containerd.kata.v2, then the default runc, same daemon) and CRI-O (handler kata = runtime_type vm,
# then runc), each private and inside a netns this run creates and deletes; images come from imitation
# images (built from Debian packages by scripts/conformance/build-images.sh) served by a local registry
# in that netns. Prints specs passed / failed / skipped per runtime per daemon and the specs kata-ts
# fails where runc passes; raw results (ginkgo JSON + JUnit, logs) stay in the results directory it names.
#
# The run lives in a mount namespace of its own whose mounts are shared (`unshare --mount --propagation
# shared`), as a node's are under systemd: on hosts whose / is private (containers, these test machines)
# mounts a daemon makes after a pod's shim started would otherwise never reach the shim's own mount
# namespace. --host-mount-namespace runs in the caller's mount namespace instead.
#
# Needs root, scripts/install.sh (the shim) and scripts/install-peers.sh (containerd2, cri-tools, crio).
# scripts/test.sh runs it with --skip-excluded (the specs of scripts/conformance/vm-exclusions.txt left out
# of the kata-ts runs) and gates on the result (scripts/conformance/gate.ts).
#
# usage: scripts/conformance.sh [--daemons containerd,crio] [--runtimes kata,runc] [--focus RE] [--skip RE]
#                               [--parallel N] [--results DIR] [--skip-excluded] [--host-mount-namespace]
#        scripts/conformance.sh --summarize DIR
set -euo pipefail
cd "$(dirname "$0")/.."
args=()
own_mount_ns=1
for a in "$@"; do
  case "$a" in
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    --host-mount-namespace) own_mount_ns=0 ;;
    *) args+=("$a") ;;
  esac
done
# CRI-O 1.34 dereferences a nil nftables host-port manager (and dies) on a pod with a hostPort when `nft`
# is missing, as on a bare Debian 12: Debian's nftables package provides it.
if ! command -v nft >/dev/null && [[ " ${args[*]} " != *" --summarize "* ]]; then
  echo "conformance: installing nftables (nft) for CRI-O" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nftables >&2
fi
run=(node --import tsx scripts/conformance/run.ts "${args[@]}")
if ((own_mount_ns)) && [[ " ${args[*]} " != *" --summarize "* ]]; then
  KATA_TS_CONFORMANCE_MOUNTS="own mount namespace, shared propagation" exec unshare --mount --propagation shared -- "${run[@]}"
fi
exec "${run[@]}"
