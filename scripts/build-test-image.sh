#!/usr/bin/env bash
# Builds the busybox test image as an OCI image layout tarball, from Debian's busybox-static, with no
# registry: oci-layout, index.json and blobs/sha256/{config,manifest,one gzip layer}. The layer holds
# /bin/busybox plus a symlink per common applet; the image runs `sh` by default.
#
# The output is deterministic (fixed mtimes, owners and order, `gzip -n`), so the same busybox gives
# the same digests, and cached: a second run with the same inputs does nothing. Prints the tar's path.
#
# usage: scripts/build-test-image.sh [--pause] [--out <path.tar>]   (default: <repo>/.cache/images/busybox-oci.tar)
# import: ctr images import <path.tar>   → image docker.io/library/busybox:kata-ts
#
# --pause builds the CRI sandbox ("pause") image instead: the same layer, Cmd ["/bin/sleep","2147483647"],
# tagged registry.k8s.io/pause:kata-ts (default out: <repo>/.cache/images/pause-oci.tar).
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${REPO_ROOT}/.cache/images/busybox-oci.tar"
IMAGE_NAME="docker.io/library/busybox:kata-ts"
IMAGE_TAG="kata-ts"
BUSYBOX=/bin/busybox
EPOCH=0
VARIANT=busybox
CMD='["sh"]'
OUT_SET=0

# Applets the tests use; `trap` and `read` are shell builtins and need no link.
APPLETS=(
  sh ash echo cat sleep ls uname true false id head tail wc sha256sum md5sum dd top ps env hostname
  mkdir rm rmdir kill printf test '[' grep sed awk cut tr sort uniq tee touch cp mv ln chmod stat pwd
  date seq yes timeout mount umount df free sync nproc readlink basename dirname find xargs cmp
  ip ifconfig nc wget usleep stty tty which
)

while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; OUT_SET=1; shift 2 ;;
    --pause) VARIANT=pause; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "build-test-image: unknown argument $1" >&2; exit 2 ;;
  esac
done

log() { echo "build-test-image: $*" >&2; }

if [[ "$VARIANT" == pause ]]; then
  IMAGE_NAME="registry.k8s.io/pause:kata-ts"
  CMD='["/bin/sleep","2147483647"]'
  [[ "$OUT_SET" == 1 ]] || OUT="${REPO_ROOT}/.cache/images/pause-oci.tar"
fi

ensure_busybox() {
  if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed'; then
    log "installing busybox-static"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends busybox-static >&2
  fi
  [[ -x "$BUSYBOX" ]] || { log "$BUSYBOX missing after installing busybox-static"; exit 1; }
}

case "$(dpkg --print-architecture)" in
  amd64) ARCH=amd64 ;;
  arm64) ARCH=arm64 ;;
  *) ARCH="$(dpkg --print-architecture)" ;;
esac

ensure_busybox

# The cache key covers everything that shapes the output: this script and its blob helpers, the busybox
# binary, the arch, the variant.
KEY="$(cat "${BASH_SOURCE[0]}" "$REPO_ROOT/scripts/lib/oci-blobs.sh" "$BUSYBOX" | sha256sum | cut -d' ' -f1)-${ARCH}-${VARIANT}"
STAMP="${OUT}.key"
if [[ -f "$OUT" && -f "$STAMP" && "$(cat "$STAMP")" == "$KEY" ]]; then
  echo "$OUT"
  exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
umask 022

# --- root filesystem of the layer ---
ROOTFS="$WORK/rootfs"
mkdir -p "$ROOTFS"/{bin,etc,root,tmp,proc,sys,dev}
chmod 1777 "$ROOTFS/tmp"
chmod 0700 "$ROOTFS/root"
install -m 0755 "$BUSYBOX" "$ROOTFS/bin/busybox"
AVAILABLE="$("$BUSYBOX" --list)"
for applet in "${APPLETS[@]}"; do
  if grep -qxF -- "$applet" <<<"$AVAILABLE"; then
    ln -s busybox "$ROOTFS/bin/$applet"
  else
    log "busybox has no applet '$applet'; skipped"
  fi
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$ROOTFS/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$ROOTFS/etc/group"
chmod 0644 "$ROOTFS/etc/passwd" "$ROOTFS/etc/group"

# --- blobs ---
LAYOUT="$WORK/layout"
BLOBS="$LAYOUT/blobs/sha256"
mkdir -p "$BLOBS"
# TAR_FLAGS and put_blob
. "$REPO_ROOT/scripts/lib/oci-blobs.sh"

tar "${TAR_FLAGS[@]}" -C "$ROOTFS" -cf "$WORK/layer.tar" bin etc root tmp proc sys dev
DIFF_ID="$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)"
gzip -n -9 -c "$WORK/layer.tar" >"$WORK/layer.tar.gz"
read -r LAYER_DIGEST LAYER_SIZE < <(put_blob "$WORK/layer.tar.gz")

cat >"$WORK/config.json" <<EOF
{"architecture":"${ARCH}","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":${CMD},"WorkingDir":"/"},"rootfs":{"type":"layers","diff_ids":["sha256:${DIFF_ID}"]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"kata-ts scripts/build-test-image.sh (Debian busybox-static)"}]}
EOF
read -r CONFIG_DIGEST CONFIG_SIZE < <(put_blob "$WORK/config.json")

cat >"$WORK/manifest.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:${CONFIG_DIGEST}","size":${CONFIG_SIZE}},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:${LAYER_DIGEST}","size":${LAYER_SIZE}}]}
EOF
read -r MANIFEST_DIGEST MANIFEST_SIZE < <(put_blob "$WORK/manifest.json")

printf '{"imageLayoutVersion":"1.0.0"}' >"$LAYOUT/oci-layout"
cat >"$LAYOUT/index.json" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:${MANIFEST_DIGEST}","size":${MANIFEST_SIZE},"platform":{"architecture":"${ARCH}","os":"linux"},"annotations":{"io.containerd.image.name":"${IMAGE_NAME}","org.opencontainers.image.ref.name":"${IMAGE_TAG}"}}]}
EOF
chmod 0644 "$LAYOUT/oci-layout" "$LAYOUT/index.json" "$BLOBS"/*

# --- the image tarball, written atomically next to its cache key ---
mkdir -p "$(dirname "$OUT")"
tar "${TAR_FLAGS[@]}" -C "$LAYOUT" -cf "$WORK/image.tar" oci-layout index.json blobs
mv "$WORK/image.tar" "$OUT"
echo "$KEY" >"$STAMP"
log "built $OUT ($IMAGE_NAME, manifest sha256:${MANIFEST_DIGEST})"
echo "$OUT"
