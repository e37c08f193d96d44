//go:build tools

// Package peers pins github.com/containerd/nerdctl/v2 v2.3.1 for scripts/install-peers.sh, which builds it
// from this module (go.sum is the checksum record). No source of the peer is kept here.
package peers

import (
	_ "github.com/containerd/nerdctl/v2/cmd/nerdctl"
)
