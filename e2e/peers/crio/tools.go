//go:build tools

// Package peers pins github.com/cri-o/cri-o v1.34.0 for scripts/install-peers.sh, which builds it
// from this module (go.sum is the checksum record). No source of the peer is kept here.
package peers

import (
	_ "github.com/cri-o/cri-o/cmd/crio"
)
