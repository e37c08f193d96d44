//go:build tools

// Package peers pins sigs.k8s.io/cri-tools v1.37.0 for scripts/install-peers.sh, which builds it
// from this module (go.sum is the checksum record). No source of the peer is kept here.
//
// crictl is a main package; critest (cmd/critest) holds only a _test.go file, so it cannot be
// imported: the packages its test imports are listed instead, which keeps their requirements and
// checksums here for `go test -c sigs.k8s.io/cri-tools/cmd/critest`.
package peers

import (
	_ "github.com/onsi/ginkgo/v2"
	_ "github.com/onsi/gomega"
	_ "sigs.k8s.io/cri-tools/cmd/crictl"
	_ "sigs.k8s.io/cri-tools/pkg/benchmark"
	_ "sigs.k8s.io/cri-tools/pkg/common"
	_ "sigs.k8s.io/cri-tools/pkg/framework"
	_ "sigs.k8s.io/cri-tools/pkg/validate"
	_ "sigs.k8s.io/cri-tools/pkg/version"
)
