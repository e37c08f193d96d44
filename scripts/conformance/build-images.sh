#!/usr/bin/env bash
# Builds the imitation images critest v1.37.0 pulls, for the conformance run's local registry: no
# registry is reachable here, and no upstream image content is used. Everything comes from Debian
# packages (busybox, nginx, procps, util-linux) plus nnp.c and pause.c, compiled here.
#
# What each image must do, from sigs.k8s.io/cri-tools@v1.37.0 pkg/validate and pkg/framework:
#   registry.k8s.io/e2e-test-images/busybox:1.29-2   the default container image: sh, echo, sleep, top, ls,
#       cat, id, hostname, ping, brctl, netstat, mount, pidof, pgrep (procps), ipcs (util-linux); users
#       root and nobody.
#   registry.k8s.io/e2e-test-images/nginx:1.14-2     web server on :80 (port mapping, port-forward); its
#       master process writes /var/run/nginx.pid, is found by `pidof nginx`, and shows "master process"
#       in /proc/1/cmdline: Debian's real nginx.
#   gcr.io/k8s-staging-cri-tools/hostnet-nginx-amd64 the same nginx on :12003 (host network specs).
#   registry.k8s.io/e2e-test-images/httpd:2.4.39-4   web server on :80 whose log mentions "httpd": busybox
#       httpd behind a one-line script.
#   registry.k8s.io/e2e-test-images/nonewprivs:1.3   setuid-root program printing "Effective uid: N".
#   gcr.io/k8s-staging-cri-tools/test-image-{latest,tag:test,tag:all,1,2,3}  distinct busybox images
#       (each adds a file named after itself, as upstream's image-test does); test-image-tags:{1,2,3}
#       one image under three tags.
#   gcr.io/k8s-staging-cri-tools/test-image-user-{uid,username,uid-group,username-group}  busybox with
#       USER 1002, www-data, 1003:1004, www-data:1004.
#   gcr.io/k8s-staging-cri-tools/test-image-predefined-group  USER 1000 (default-user), who is in group
#       50000 (group-defined-in-image) in /etc/group; /etc/passwd present (image volume subPath spec).
#   registry.k8s.io/pause:3.9 and k8s.gcr.io/pause:3.9   one image (same repository path on both
#       registries), distinct from the sandbox image.
#   registry.k8s.io/pause:3.10   the run's sandbox image, pulled by the daemons themselves: its process
#       is named "pause" (not "sleep", which critest's `pgrep sleep` would see as pid 1 of a pod).
# Not imitable: gcr.io/k8s-staging-cri-tools/test-image-digest@sha256:9700f9a2... (a digest of upstream
# content); it is not served, so "public image with digest" fails for every runtime.
#
# Output: a registry store, <out>/blobs/sha256/<hex> (layers, configs, manifests: OCI image manifest v1)
# and <out>/tags ("<repository path> <tag> <manifest digest>" per line), which registry.ts serves.
# Deterministic (fixed mtimes and owners, gzip -n) and cached: a second run with the same inputs does
# nothing. Prints the store directory.
#
# usage: scripts/conformance/build-images.sh [--out <dir>]   (default: <repo>/.cache/conformance/registry)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$HERE/../.." && pwd)"
OUT="${REPO_ROOT}/.cache/conformance/registry"
DEBS="${REPO_ROOT}/.cache/conformance/debs"
EPOCH=0

while [[ $# -gt 0 ]]; do
  case "$1" in
    --out) OUT="$2"; shift 2 ;;
    -h|--help) sed -n '2,36p' "$0"; exit 0 ;;
    *) echo "build-images: unknown argument $1" >&2; exit 2 ;;
  esac
done

log() { echo "build-images: $*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$(dpkg --print-architecture)" == amd64 ]] || die "only amd64 is imitated (hostnet-nginx-amd64)"
ARCH=amd64

ensure_pkgs() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}
ensure_pkgs procps util-linux gcc libc6-dev

# Debian packages whose programs go into images: downloaded (not installed) once into the cache.
deb_of() {
  local deb
  deb="$(ls "$DEBS/$1"_*.deb 2>/dev/null | head -1 || true)"
  if [[ -z "$deb" ]]; then
    mkdir -p "$DEBS"
    log "apt-get download $1"
    (cd "$DEBS" && apt-get download "$1" >&2)
    deb="$(ls "$DEBS/$1"_*.deb | head -1)"
  fi
  echo "$deb"
}
# Debian's nginx; and Debian's dynamic busybox, whose shell execs /bin/<applet> as upstream's busybox
# image does (busybox-static's standalone shell runs applets in-process, so a masked /bin/ls still works).
NGINX_DEB="$(deb_of nginx)"
BUSYBOX_DEB="$(deb_of busybox)"

# Host programs copied into images, with the shared libraries they load.
HOST_PROGRAMS=(/usr/bin/pgrep /usr/bin/ipcs)
libs_of() { ldd "$1" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | sort -u; }

# The cache key: this script and its blob helpers, the C sources, the packages, the host programs and every library they load.
DEB_PROBE="$(mktemp -d)"
dpkg-deb -x "$NGINX_DEB" "$DEB_PROBE"
dpkg-deb -x "$BUSYBOX_DEB" "$DEB_PROBE"
ALL_LIBS="$( { for p in "${HOST_PROGRAMS[@]}" "$DEB_PROBE/usr/sbin/nginx" "$DEB_PROBE/bin/busybox"; do libs_of "$p"; done; } | sort -u)"
rm -rf "$DEB_PROBE"
KEY="$(cat "${BASH_SOURCE[0]}" "$REPO_ROOT/scripts/lib/oci-blobs.sh" "$HERE/nnp.c" "$HERE/pause.c" "$NGINX_DEB" "$BUSYBOX_DEB" "${HOST_PROGRAMS[@]}" $ALL_LIBS | sha256sum | cut -d' ' -f1)"
if [[ -f "$OUT/tags" && -f "$OUT/key" && "$(cat "$OUT/key")" == "$KEY" ]]; then
  echo "$OUT"
  exit 0
fi

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
umask 022
STORE="$WORK/store"
BLOBS="$STORE/blobs/sha256"
mkdir -p "$BLOBS"
: >"$STORE/tags"

# TAR_FLAGS and put_blob
. "$REPO_ROOT/scripts/lib/oci-blobs.sh"

declare -A LAYER_DIGEST LAYER_SIZE LAYER_DIFF
# make_layer NAME DIR: one gzip layer of DIR's contents
make_layer() {
  local name=$1 dir=$2 entries
  mapfile -t entries < <(cd "$dir" && ls -A | sort)
  tar "${TAR_FLAGS[@]}" -C "$dir" -cf "$WORK/$name.tar" "${entries[@]}"
  LAYER_DIFF[$name]="$(sha256sum "$WORK/$name.tar" | cut -d' ' -f1)"
  gzip -n -9 -c "$WORK/$name.tar" >"$WORK/$name.tar.gz"
  rm "$WORK/$name.tar"
  read -r "LAYER_DIGEST[$name]" "LAYER_SIZE[$name]" < <(put_blob "$WORK/$name.tar.gz")
}

# copy_program ROOTFS PROGRAM [DEST]: a dynamically linked program and the libraries it loads
copy_program() {
  local rootfs=$1 program=$2 dest=${3:-$2} lib real
  install -D -m 0755 "$program" "$rootfs$dest"
  for lib in $(libs_of "$program"); do
    real="$(readlink -f "$lib")"
    [[ -e "$rootfs$lib" ]] || install -D -m "$(stat -c %a "$real")" "$real" "$rootfs$lib"
  done
}

# make_image REPO "TAGS" CONFIG LAYER...: CONFIG holds the image config's extra "config" members (JSON, may be empty)
make_image() {
  local repo=$1 tags=$2 extra=$3 layer diff_ids="" descs="" tag
  shift 3
  for layer in "$@"; do
    diff_ids+="${diff_ids:+,}\"sha256:${LAYER_DIFF[$layer]}\""
    descs+="${descs:+,}{\"mediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\",\"digest\":\"sha256:${LAYER_DIGEST[$layer]}\",\"size\":${LAYER_SIZE[$layer]}}"
  done
  printf '{"architecture":"%s","os":"linux","created":"1970-01-01T00:00:00Z","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"WorkingDir":"/","Labels":{"org.opencontainers.image.description":"kata-ts conformance imitation of %s:%s"}%s},"rootfs":{"type":"layers","diff_ids":[%s]},"history":[{"created":"1970-01-01T00:00:00Z","created_by":"kata-ts scripts/conformance/build-images.sh"}]}' \
    "$ARCH" "$repo" "${tags// /,}" "${extra:+,$extra}" "$diff_ids" >"$WORK/config.json"
  local config_digest config_size
  read -r config_digest config_size < <(put_blob "$WORK/config.json")
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[%s]}' \
    "$config_digest" "$config_size" "$descs" >"$WORK/manifest.json"
  local manifest_digest _size
  read -r manifest_digest _size < <(put_blob "$WORK/manifest.json")
  for tag in $tags; do echo "$repo $tag sha256:$manifest_digest" >>"$STORE/tags"; done
}

# --- base: busybox with every applet (hard links, as upstream), pgrep and ipcs, the usual system users ---
BASE="$WORK/rootfs-base"
mkdir -p "$BASE"/{bin,etc,root,tmp,proc,sys,dev,home,var/run,usr/bin}
chmod 1777 "$BASE/tmp"
chmod 0700 "$BASE/root"
mkdir -p "$WORK/busybox-deb"
dpkg-deb -x "$BUSYBOX_DEB" "$WORK/busybox-deb"
copy_program "$BASE" "$WORK/busybox-deb/bin/busybox" /bin/busybox
for applet in $("$BASE/bin/busybox" --list); do
  [[ "$applet" == busybox || -e "$BASE/bin/$applet" ]] || ln "$BASE/bin/busybox" "$BASE/bin/$applet"
done
for p in "${HOST_PROGRAMS[@]}"; do copy_program "$BASE" "$p"; done
cat >"$BASE/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
EOF
cat >"$BASE/etc/group" <<'EOF'
root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
users:x:100:
nogroup:x:65534:
EOF
make_layer base "$BASE"
SH='"Cmd":["sh"]'

make_image e2e-test-images/busybox 1.29-2 "$SH" base

# --- images that add one file named after themselves (upstream: ADD ${TEST} ${TEST}) ---
for name in test-image-latest test-image-tag-test test-image-tag-all test-image-1 test-image-2 test-image-3 test-image-tags; do
  mkdir -p "$WORK/rootfs-$name"
  : >"$WORK/rootfs-$name/$name"
  make_layer "$name" "$WORK/rootfs-$name"
done
R=k8s-staging-cri-tools
make_image "$R/test-image-latest" latest "$SH" base test-image-latest
make_image "$R/test-image-tag" test "$SH" base test-image-tag-test
make_image "$R/test-image-tag" all "$SH" base test-image-tag-all
for n in 1 2 3; do make_image "$R/test-image-$n" latest "$SH" base "test-image-$n"; done
make_image "$R/test-image-tags" "1 2 3" "$SH" base test-image-tags

# --- USER variants ---
make_image "$R/test-image-user-uid" latest "$SH,\"User\":\"1002\"" base
make_image "$R/test-image-user-username" latest "$SH,\"User\":\"www-data\"" base
make_image "$R/test-image-user-uid-group" latest "$SH,\"User\":\"1003:1004\"" base
make_image "$R/test-image-user-username-group" latest "$SH,\"User\":\"www-data:1004\"" base

# --- a user whose supplementary group the image defines ---
PG="$WORK/rootfs-predefined-group"
mkdir -p "$PG/etc" "$PG/home/default-user"
cp "$BASE/etc/passwd" "$BASE/etc/group" "$PG/etc/"
echo 'default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh' >>"$PG/etc/passwd"
printf 'default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n' >>"$PG/etc/group"
make_layer predefined-group "$PG"
make_image "$R/test-image-predefined-group" latest "$SH,\"User\":\"1000\"" base predefined-group

# --- nginx (Debian's), on :80 and on :12003 ---
NG="$WORK/rootfs-nginx"
mkdir -p "$WORK/nginx-deb" "$NG"/{var/log/nginx,var/lib/nginx,var/run,etc/nginx,usr/share/nginx/html}
dpkg-deb -x "$NGINX_DEB" "$WORK/nginx-deb"
copy_program "$NG" "$WORK/nginx-deb/usr/sbin/nginx" /usr/sbin/nginx
echo '<html><body><h1>kata-ts conformance: nginx</h1></body></html>' >"$NG/usr/share/nginx/html/index.html"
make_layer nginx "$NG"
for port in 80 12003; do
  mkdir -p "$WORK/rootfs-nginx-$port/etc/nginx"
  cat >"$WORK/rootfs-nginx-$port/etc/nginx/nginx.conf" <<EOF
user nobody nogroup;
worker_processes 1;
pid /var/run/nginx.pid;
error_log stderr notice;
events { worker_connections 64; }
http {
  access_log off;
  server { listen $port; root /usr/share/nginx/html; index index.html; }
}
EOF
  make_layer "nginx-$port" "$WORK/rootfs-nginx-$port"
done
NGINX_CMD='"Cmd":["nginx","-g","daemon off;"]'
make_image e2e-test-images/nginx 1.14-2 "$NGINX_CMD,\"ExposedPorts\":{\"80/tcp\":{}}" base nginx nginx-80
make_image "$R/hostnet-nginx-$ARCH" latest "$NGINX_CMD,\"ExposedPorts\":{\"12003/tcp\":{}}" base nginx nginx-12003

# --- httpd: busybox httpd; the log line names httpd ---
HT="$WORK/rootfs-httpd"
mkdir -p "$HT/usr/local/bin" "$HT/usr/local/apache2/htdocs"
cat >"$HT/usr/local/bin/httpd-foreground" <<'EOF'
#!/bin/sh
echo "httpd: busybox httpd on :80, standing in for Apache httpd 2.4 (kata-ts conformance)" >&2
exec httpd -f -v -p 80 -h /usr/local/apache2/htdocs
EOF
chmod 0755 "$HT/usr/local/bin/httpd-foreground"
echo '<html><body><h1>It works!</h1></body></html>' >"$HT/usr/local/apache2/htdocs/index.html"
make_layer httpd "$HT"
make_image e2e-test-images/httpd 2.4.39-4 '"Cmd":["httpd-foreground"],"ExposedPorts":{"80/tcp":{}}' base httpd

# --- nonewprivs: a setuid-root program that prints its effective uid ---
NN="$WORK/rootfs-nnp"
mkdir -p "$NN/usr/local/bin"
gcc -static -O2 -o "$NN/usr/local/bin/nnp" "$HERE/nnp.c"
chmod 4755 "$NN/usr/local/bin/nnp"
make_layer nnp "$NN"
make_image e2e-test-images/nonewprivs 1.3 '"Entrypoint":["/usr/local/bin/nnp"]' base nnp

# --- pause: 3.10 is the run's sandbox image (the default of containerd 2.x and CRI-O 1.34), 3.9 the one
# critest pulls from two registries (both use the repository path "pause"); a static program, as upstream ---
PA="$WORK/rootfs-pause"
mkdir -p "$PA"
gcc -static -O2 -o "$PA/pause" "$HERE/pause.c"
make_layer pause "$PA"
for tag in 3.10 3.9; do make_image pause "$tag" '"Entrypoint":["/pause"],"User":"65535:65535"' pause; done

# --- the store, replaced atomically ---
chmod 0644 "$BLOBS"/* "$STORE/tags"
echo "$KEY" >"$STORE/key"
mkdir -p "$(dirname "$OUT")"
rm -rf "$OUT.old"
[[ -e "$OUT" ]] && mv "$OUT" "$OUT.old"
mv "$STORE" "$OUT"
rm -rf "$OUT.old"
log "built $(wc -l <"$OUT/tags") tags in $OUT"
echo "$OUT"
