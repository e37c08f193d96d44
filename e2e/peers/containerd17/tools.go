//go:build tools

// Package peers pins github.com/containerd/containerd v1.7.36 for scripts/install-peers.sh, which builds it
// from this module (go.sum is the checksum record). No source of the peer is kept here.
package peers

import (
	_ "github.com/containerd/containerd/cmd/containerd"
	_ "github.com/containerd/containerd/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/cmd/ctr"
)
