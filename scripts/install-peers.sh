#!/usr/bin/env bash
# Builds the e2e peers (containerd 2.x and 1.7, cri-tools, nerdctl, CRI-O) from the Go module proxy
# and caches them outside the checkout, keyed by version:
#
#   /var/cache/kata-ts/peers/<name>-<version>/bin/...      the binaries
#   /var/cache/kata-ts/peers/<name>-<version>/.built       written last, only after a build and a smoke run passed
#   /var/cache/kata-ts/peers/manifest.json                 every peer that is built, for the TypeScript e2e tests
#   /var/cache/kata-ts/peers/logs/<name>-<version>.log     the last build's output
#
# Versions are pinned in e2e/peers/versions.sh; each peer is built from its wrapper module
# e2e/peers/<peer>/ (go.mod + go.sum + tools.go), so every dependency is checked against the committed go.sum.
# Go's module and build caches live in /var/cache/kata-ts/go/{mod,build}, so reruns are fast.
#
# Usage: scripts/install-peers.sh [--force] [peer...]   peers: containerd2 containerd17 cri-tools nerdctl crio (default: all)
#        scripts/install-peers.sh --print-env          shell assignments for the built peers (no building)
# Idempotent; safe to interrupt (an unfinished build leaves no marker and is redone on the next run).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PEERS_SRC=$ROOT/e2e/peers
# shellcheck source=../e2e/peers/versions.sh
. "$PEERS_SRC/versions.sh"

CACHE=${KATA_TS_CACHE:-/var/cache/kata-ts}
PEERS_DIR=$KATA_TS_PEERS_DIR
MANIFEST=$PEERS_DIR/manifest.json
ALL_PEERS=(containerd2 containerd17 cri-tools nerdctl crio)

log() { echo "install-peers: $*"; }
die() { echo "install-peers: error: $*" >&2; exit 1; }

# --- per-peer facts --------------------------------------------------------------------------------
peer_module() {
  case $1 in
    containerd2) echo "$CONTAINERD2_MODULE" ;;
    containerd17) echo "$CONTAINERD17_MODULE" ;;
    cri-tools) echo "$CRI_TOOLS_MODULE" ;;
    nerdctl) echo "$NERDCTL_MODULE" ;;
    crio) echo "$CRIO_MODULE" ;;
    *) die "unknown peer '$1' (known: ${ALL_PEERS[*]})" ;;
  esac
}
peer_version() {
  case $1 in
    containerd2) echo "$CONTAINERD2_VERSION" ;;
    containerd17) echo "$CONTAINERD17_VERSION" ;;
    cri-tools) echo "$CRI_TOOLS_VERSION" ;;
    nerdctl) echo "$NERDCTL_VERSION" ;;
    crio) echo "$CRIO_VERSION" ;;
  esac
}
# The cache directory's base name: both containerd lines are "containerd-<version>".
peer_dirname() {
  case $1 in
    containerd2 | containerd17) echo "containerd-$(peer_version "$1")" ;;
    *) echo "$1-$(peer_version "$1")" ;;
  esac
}
peer_binaries() {
  case $1 in
    containerd2 | containerd17) echo "containerd ctr containerd-shim-runc-v2" ;;
    cri-tools) echo "crictl critest" ;;
    nerdctl) echo "nerdctl" ;;
    crio) echo "crio pinns" ;;
  esac
}
# Debian packages a peer needs to build (and, for crio, to start with its default runc handler).
peer_apt() {
  case $1 in
    crio) echo "gcc libc6-dev pkg-config libseccomp-dev conmon" ;;
  esac
}

CRIO_TAGS="containers_image_openpgp exclude_graphdriver_btrfs exclude_graphdriver_devicemapper seccomp"
GO_COMMON_FLAGS=(-trimpath -p 2)

peer_build_fn() {
  case $1 in
    containerd2 | containerd17) echo build_containerd ;;
    cri-tools) echo build_cri_tools ;;
    nerdctl) echo build_nerdctl ;;
    crio) echo build_crio ;;
  esac
}

# Everything that decides what a build produces besides the version (the wrapper module, the Go
# toolchain, the flags, the build function's own text); the marker holds its hash, so a change rebuilds.
peer_recipe() {
  local p=$1
  {
    echo "peer=$p module=$(peer_module "$p") version=$(peer_version "$p") bins=$(peer_binaries "$p")"
    echo "go=$(go env GOVERSION) flags=${GO_COMMON_FLAGS[*]} crio_tags=$CRIO_TAGS"
    declare -f "$(peer_build_fn "$p")"
    cat "$PEERS_SRC/$p/go.mod" "$PEERS_SRC/$p/go.sum"
  } | sha256sum | cut -d' ' -f1
}
peer_dir() { echo "$PEERS_DIR/$(peer_dirname "$1")"; }
peer_is_built() {
  local m
  m="$(peer_dir "$1")/.built"
  [[ -f $m ]] && [[ $(cat "$m") == "$(peer_recipe "$1")" ]]
}

# --- go environment --------------------------------------------------------------------------------
setup_go() {
  command -v go >/dev/null || PATH=$PATH:/usr/local/go/bin
  command -v go >/dev/null || die "go not found in PATH (Go >= 1.26 is needed)"
  export GOMODCACHE=${KATA_TS_GOMODCACHE:-$CACHE/go/mod}
  export GOCACHE=${KATA_TS_GOCACHE:-$CACHE/go/build}
  export GOTOOLCHAIN=local              # never fetch a toolchain; the pinned modules need go 1.26.6 at most
  export GOFLAGS="-mod=readonly -buildvcs=false"
  unset GOPATH GOBIN GOOS GOARCH GOEXPERIMENT CGO_CFLAGS CGO_LDFLAGS || true
  mkdir -p "$GOMODCACHE" "$GOCACHE"
}

# The upstream commit of the pinned module, from the proxy's .info file (for version.Revision stamps).
# Empty when the proxy's .info carries no Origin (containerd's do not here): the stamp is then "unknown".
module_revision() { # run inside the wrapper module
  local info
  info=$(go mod download -json "$1" | sed -n 's/^[[:space:]]*"Info": "\(.*\)",$/\1/p')
  if [[ -n $info && -f $info ]]; then
    sed -n 's/.*"Hash": *"\([0-9a-f]\{40\}\)".*/\1/p' "$info" | head -1
  fi
}

ensure_apt() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "apt-get install ${missing[*]}"
  local out
  if ! out=$({ apt-get -o DPkg::Lock::Timeout=600 update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"; } 2>&1); then
    echo "$out" >&2
    die "apt-get install ${missing[*]} failed"
  fi
}

# The wrapper module must require exactly the version pinned in versions.sh.
check_wrapper() {
  local p=$1 mod ver have
  mod=$(peer_module "$p")
  ver=$(peer_version "$p")
  [[ -f $PEERS_SRC/$p/go.mod && -f $PEERS_SRC/$p/go.sum ]] || die "missing wrapper module e2e/peers/$p"
  have=$(cd "$PEERS_SRC/$p" && go list -m -f '{{.Version}}' "$mod")
  [[ $have == "$ver" ]] ||
    die "e2e/peers/$p/go.mod requires $mod $have but versions.sh pins $ver; run: (cd e2e/peers/$p && go get $mod@$ver && go mod tidy)"
}

# --- the builds (each runs inside its wrapper module, writes into $1 = <out>/bin) -------------------
build_containerd() { # out pkgprefix
  local out=$1 pkg=$2 ver=$3 rev
  rev=$(module_revision "$pkg")
  # CGO_ENABLED=0: the only cgo is the btrfs snapshotter (no_btrfs says so explicitly); upstream builds the
  # runc shim with CGO_ENABLED=0 too. Version stamps as upstream's Makefile sets them.
  CGO_ENABLED=0 go build "${GO_COMMON_FLAGS[@]}" -tags "no_btrfs" \
    -ldflags "-s -w -X $pkg/version.Version=$ver -X $pkg/version.Revision=${rev:-unknown} -X $pkg/version.Package=$pkg" \
    -o "$out/" "$pkg/cmd/containerd" "$pkg/cmd/ctr" "$pkg/cmd/containerd-shim-runc-v2"
}

build_cri_tools() {
  local out=$1 mod=$CRI_TOOLS_MODULE ldflags
  ldflags="-s -w -X $mod/pkg/version.Version=$CRI_TOOLS_VERSION"
  CGO_ENABLED=0 go build "${GO_COMMON_FLAGS[@]}" -ldflags "$ldflags" -o "$out/crictl" "$mod/cmd/crictl"
  # cmd/critest is a test-only package: build its test binary, as upstream does.
  CGO_ENABLED=0 go test -c "${GO_COMMON_FLAGS[@]}" -ldflags "$ldflags" -o "$out/critest" "$mod/cmd/critest"
}

build_nerdctl() {
  local out=$1 mod=$NERDCTL_MODULE rev
  rev=$(module_revision "$mod")
  CGO_ENABLED=0 go build "${GO_COMMON_FLAGS[@]}" \
    -ldflags "-s -w -X $mod/pkg/version.Version=$NERDCTL_VERSION -X $mod/pkg/version.Revision=${rev:-unknown}" \
    -o "$out/nerdctl" "$mod/cmd/nerdctl"
}

build_crio() {
  local out=$1 mod=$CRIO_MODULE dir tmp date
  date=$(go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "$mod") # the tag's date: reproducible
  # cgo for libseccomp (the `seccomp` tag): CRI-O then writes linux.seccomp into the OCI specs it generates,
  # as a packaged CRI-O does. openpgp instead of gpgme, no btrfs/devicemapper: no other C libraries.
  CGO_ENABLED=1 go build "${GO_COMMON_FLAGS[@]}" -tags "$CRIO_TAGS" \
    -ldflags "-s -w -X $mod/internal/version.buildDate=$date" \
    -o "$out/crio" "$mod/cmd/crio"
  # pinns: C in the module's pinns/src, linked statically as upstream's pinns/Makefile does (needs libc.a).
  dir=$(go list -m -f '{{.Dir}}' "$mod")
  [[ -d $dir/pinns/src ]] || die "no pinns/src in $dir"
  tmp=$(mktemp -d)
  cp "$dir"/pinns/src/*.c "$dir"/pinns/src/*.h "$tmp/"
  (cd "$tmp" && gcc -std=c99 -O2 -Wall -Wextra -static -o "$out/pinns" ./*.c && strip -s "$out/pinns")
  rm -rf "$tmp"
}

# A quick run of every binary, so a marker means "this runs".
smoke() {
  local p=$1 bin=$2 ver out
  ver=$(peer_version "$p")
  case $p in
    containerd2 | containerd17)
      out=$("$bin/containerd" --version) && grep -qF "$ver" <<<"$out" || die "containerd --version: $out"
      "$bin/ctr" --version >/dev/null
      "$bin/containerd-shim-runc-v2" -v >/dev/null
      ;;
    cri-tools)
      out=$("$bin/crictl" --version) && grep -qF "${ver#v}" <<<"$out" || die "crictl --version: $out"
      "$bin/critest" --help >/dev/null 2>&1 || die "critest --help failed"
      ;;
    nerdctl)
      out=$("$bin/nerdctl" --version) && grep -qF "${ver#v}" <<<"$out" || die "nerdctl --version: $out"
      ;;
    crio)
      out=$("$bin/crio" --version) && grep -qF "${ver#v}" <<<"$out" || die "crio --version: $out"
      # pinns has no --help/--version: without arguments it names the missing -d and exits 1.
      out=$("$bin/pinns" 2>&1 || true)
      grep -q 'Path for pinning namespaces not specified' <<<"$out" || die "pinns: $out"
      ;;
  esac
}

install_peer() {
  local p=$1 dir name partial start logf rc
  name=$(peer_dirname "$p")
  dir=$(peer_dir "$p")
  if [[ $FORCE == 0 ]] && peer_is_built "$p"; then
    log "$name cached"
    return 0
  fi
  # shellcheck disable=SC2046
  ensure_apt $(peer_apt "$p")
  check_wrapper "$p"
  log "building $name ($(peer_module "$p")@$(peer_version "$p"): $(peer_binaries "$p"))"
  start=$SECONDS
  partial=$dir.partial
  rm -rf "$partial"
  mkdir -p "$partial/bin" "$PEERS_DIR/logs"
  logf=$PEERS_DIR/logs/$name.log
  # errexit is ignored inside a subshell that stands left of || : take its status with set +e instead.
  set +e
  (
    set -e
    cd "$PEERS_SRC/$p"
    case $p in
      containerd2) build_containerd "$partial/bin" "$CONTAINERD2_MODULE" "$CONTAINERD2_VERSION" ;;
      containerd17) build_containerd "$partial/bin" "$CONTAINERD17_MODULE" "$CONTAINERD17_VERSION" ;;
      *) "$(peer_build_fn "$p")" "$partial/bin" ;;
    esac
    smoke "$p" "$partial/bin"
  ) >"$logf" 2>&1
  rc=$?
  set -e
  if ((rc != 0)); then
    tail -n 40 "$logf" >&2
    die "building $name failed (exit $rc); full log: $logf"
  fi
  peer_recipe "$p" >"$partial/.built.tmp"
  # Swap by renames, so a running test sees the old or the new directory, never half of one.
  [[ -e $dir ]] && mv "$dir" "$dir.old.$$"
  mv "$partial" "$dir"
  rm -rf "$dir.old.$$"
  mv "$dir/.built.tmp" "$dir/.built"
  write_manifest
  log "built $name in $((SECONDS - start)) s"
}

write_manifest() {
  local p first=1 tmp bins b
  tmp=$MANIFEST.tmp.$$
  {
    echo "{"
    for p in "${ALL_PEERS[@]}"; do
      peer_is_built "$p" || continue
      ((first)) || echo ","
      first=0
      bins=""
      for b in $(peer_binaries "$p"); do bins+="${bins:+, }\"$b\""; done
      printf '  "%s": {"version": "%s", "module": "%s", "bin": "%s/bin", "binaries": [%s]}' \
        "$p" "$(peer_version "$p")" "$(peer_module "$p")" "$(peer_dir "$p")" "$bins"
    done
    printf '\n}\n'
  } >"$tmp"
  mv "$tmp" "$MANIFEST"
}

print_env() {
  local p var
  echo "KATA_TS_PEERS_MANIFEST=$MANIFEST"
  for p in "${ALL_PEERS[@]}"; do
    var=KATA_TS_PEER_$(tr 'a-z-' 'A-Z_' <<<"$p")
    if peer_is_built "$p"; then
      echo "${var}_VERSION=$(peer_version "$p")"
      echo "${var}_BIN=$(peer_dir "$p")/bin"
    else
      echo "# $p $(peer_version "$p") is not built: scripts/install-peers.sh $p"
    fi
  done
}

# --- main ------------------------------------------------------------------------------------------
FORCE=0
PRINT_ENV=0
selected=()
for arg in "$@"; do
  case $arg in
    --print-env) PRINT_ENV=1 ;;
    --force) FORCE=1 ;;
    -h | --help) sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option $arg" ;;
    *) peer_module "$arg" >/dev/null; selected+=("$arg") ;;
  esac
done
((${#selected[@]})) || selected=("${ALL_PEERS[@]}")

setup_go
if ((PRINT_ENV)); then
  print_env
  exit 0
fi

mkdir -p "$PEERS_DIR"
# One run at a time per machine (a developer's and CI's runs may overlap).
exec 9>"$PEERS_DIR/.lock"
flock 9

total_start=$SECONDS
for p in "${selected[@]}"; do
  install_peer "$p"
done
write_manifest
log "done in $((SECONDS - total_start)) s; manifest: $MANIFEST"
