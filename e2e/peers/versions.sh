# Pinned versions of the peers that scripts/install-peers.sh builds from the Go module proxy.
# Sourced by scripts/install-peers.sh (and usable by anything else: `. e2e/peers/versions.sh`).
# Each version must match the requirement in e2e/peers/<name>/go.mod; install-peers.sh checks that.
# To bump one: edit it here, then `cd e2e/peers/<name> && go get <module>@<version> && go mod tidy`.
# shellcheck shell=bash disable=SC2034

CONTAINERD2_MODULE=github.com/containerd/containerd/v2
CONTAINERD2_VERSION=v2.4.2        # v2.4.3 / v2.5.0 are refused (403) by the proxy here

CONTAINERD17_MODULE=github.com/containerd/containerd
CONTAINERD17_VERSION=v1.7.36      # newest 1.7.x the proxy serves (v1.7.37..v1.7.41: 403)

CRI_TOOLS_MODULE=sigs.k8s.io/cri-tools
CRI_TOOLS_VERSION=v1.37.0

NERDCTL_MODULE=github.com/containerd/nerdctl/v2
NERDCTL_VERSION=v2.3.1            # v2.2.3 / v2.3.0 are refused (403) by the proxy here

CRIO_MODULE=github.com/cri-o/cri-o
CRIO_VERSION=v1.34.0              # the only 1.3x release the proxy serves here

# Where the built peers live (outside any checkout, kept across CI runs on this machine).
KATA_TS_PEERS_DIR=${KATA_TS_PEERS_DIR:-/var/cache/kata-ts/peers}
