#!/usr/bin/env bash
# kata-ts guest image builder. Debian packages only; nothing else is downloaded.
#
# Makes, in images/out/ (see images/README.md):
#   vmlinux / vmlinuz          guest kernel of the installed linux-image-amd64 (vmlinux: the same kernel
#                              uncompressed, booted by QEMU through its PVH entry point: much faster under TCG)
#   kata-initrd.img            format "initrd": the whole root filesystem as a compressed initramfs
#   kata-boot-initrd.img       format "disk": small initrd (busybox + modules + init) ...
#   kata-rootfs.erofs          ... that mounts this read-only image (virtio-blk) under a tmpfs overlay
#   floor-initrd.img           benchmark floor: an init that powers off at once
#   kernel-cmdline, qemu-args.example, manifest.json
#
# Idempotent and cached: every step is keyed on the hashes of its inputs (images/cache/); a rerun with no
# change only re-checks the inputs.
set -euo pipefail
shopt -s nullglob

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LIB=$HERE/lib

# Defaults chosen by measurement (images/README.md).
DEFAULT_FORMAT=disk       # disk | initrd
DEFAULT_KERNEL=vmlinux    # vmlinux (PVH) | vmlinuz (bzImage)
INITRD_COMPRESS=zstd      # zstd | gzip | xz | lz4 | none
DISK_FS=erofs             # erofs | ext4

OUT=$HERE/out
CACHE=$HERE/cache
AGENT=$REPO/packages/agent/dist/kata-agent.js
AGENT_GIVEN=0
NATIVE_DIRS=()
NODE_BIN=/usr/bin/node
QUIET=0

usage() {
	cat <<EOF
usage: images/build.sh [options]
  --agent <file>        agent bundle (default: packages/agent/dist/kata-agent.js)
  --native <dir>        directory whose native addons (*.node) and executables (ELF files with the x bit,
                        e.g. the agent's kata-runner) are copied, with the shared libraries they need,
                        to /usr/lib/kata-ts/native/; may be repeated (default: those of
                        packages/node-vsock/build/Release and packages/agent/dist/native that exist)
  --out <dir>           output directory (default: images/out)
  --cache <dir>         cache directory (default: images/cache)
  --format initrd|disk  format recorded as the default in manifest.json/kernel-cmdline (default: $DEFAULT_FORMAT)
  --kernel vmlinux|vmlinuz  kernel file recorded as the default (default: $DEFAULT_KERNEL)
  --compress gzip|zstd|xz|lz4|none  compression of kata-initrd.img (default: $INITRD_COMPRESS)
  --disk-fs erofs|ext4  file system of the read-only root image (default: $DISK_FS)
  --node <path>         node binary to put in the guest (default: /usr/bin/node)
  -q, --quiet           print only the summary
EOF
}

while [ $# -gt 0 ]; do
	case "$1" in
	--agent) AGENT=$2; AGENT_GIVEN=1; shift 2 ;;
	--native) NATIVE_DIRS+=("$2"); shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--cache) CACHE=$2; shift 2 ;;
	--format) DEFAULT_FORMAT=$2; shift 2 ;;
	--kernel) DEFAULT_KERNEL=$2; shift 2 ;;
	--compress) INITRD_COMPRESS=$2; shift 2 ;;
	--disk-fs) DISK_FS=$2; shift 2 ;;
	--node) NODE_BIN=$2; shift 2 ;;
	-q | --quiet) QUIET=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) echo "build.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
	esac
done

case "$DEFAULT_FORMAT" in initrd | disk) ;; *) echo "build.sh: --format must be initrd or disk" >&2; exit 2 ;; esac
case "$DEFAULT_KERNEL" in vmlinux | vmlinuz) ;; *) echo "build.sh: --kernel must be vmlinux or vmlinuz" >&2; exit 2 ;; esac
case "$INITRD_COMPRESS" in gzip | zstd | xz | lz4 | none) ;; *) echo "build.sh: --compress must be gzip, zstd, xz, lz4 or none" >&2; exit 2 ;; esac
case "$DISK_FS" in erofs | ext4) ;; *) echo "build.sh: --disk-fs must be erofs or ext4" >&2; exit 2 ;; esac

T_START=$(date +%s%N)
# Numbered steps with their durations (lib/progress.sh): redrawn in place on a terminal, plain lines elsewhere.
# shellcheck source=lib/progress.sh
. "$HERE/lib/progress.sh"
progress_init 9 "build.sh: " "$QUIET"
say() { [ "$QUIET" = 1 ] || { progress_break; echo "build.sh: $*"; progress_redraw; }; }
die() { progress_break; echo "build.sh: error: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "must run as root (device nodes, depmod into a tree, apt-get)"

# ---------------------------------------------------------------- inputs
if [ ! -f "$AGENT" ]; then
	if [ "$AGENT_GIVEN" = 1 ]; then
		die "agent bundle '$AGENT' does not exist"
	fi
	die "agent bundle '$AGENT' does not exist. Build the agent first (pnpm --filter ./packages/agent build)
or pass --agent <bundle.js> (e.g. --agent images/test/standin-agent.js to test the image)."
fi
AGENT=$(readlink -f "$AGENT")
if [ ${#NATIVE_DIRS[@]} -eq 0 ]; then
	for d in "$REPO/packages/node-vsock/build/Release" "$REPO/packages/agent/dist/native"; do
		if [ -d "$d" ]; then NATIVE_DIRS+=("$d"); fi
	done
fi
for i in "${!NATIVE_DIRS[@]}"; do
	[ -d "${NATIVE_DIRS[$i]}" ] || die "--native '${NATIVE_DIRS[$i]}' is not a directory"
	NATIVE_DIRS[$i]=$(readlink -f "${NATIVE_DIRS[$i]}")
done
[ -x "$NODE_BIN" ] || die "node binary '$NODE_BIN' not found"
NODE_BIN=$(readlink -f "$NODE_BIN")

mkdir -p "$OUT" "$CACHE"
OUT=$(readlink -f "$OUT")
CACHE=$(readlink -f "$CACHE")
# One build at a time per cache (concurrent builds would race on the same steps).
exec 9>"$CACHE/.lock"
if ! flock -n 9; then
	say "waiting for another build.sh using $CACHE"
	flock 9
fi

# ---------------------------------------------------------------- packages
# Install the Debian packages that are missing (only those).
need_pkgs() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	if [ ${#missing[@]} -gt 0 ]; then
		say "installing Debian packages: ${missing[*]}"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
			die "apt-get install ${missing[*]} failed"
	fi
}
step_begin "Debian packages" "checking the ones the image is made of"
need_pkgs linux-image-amd64 busybox-static tini crun cpio gzip zstd xz-utils lz4 kmod binutils erofs-utils e2fsprogs coreutils findutils

pkgver() { dpkg-query -W -f='${Version}' "$1"; }
pkg_of() { dpkg -S "$1" 2>/dev/null | head -1 | cut -d: -f1; }

# The kernel: linux-image-amd64 depends on exactly one linux-image-<kver> package.
KPKG=$(dpkg-query -W -f='${Depends}' linux-image-amd64 | tr ',|' '\n\n' | sed 's/ *(.*//; s/^ *//' | grep '^linux-image-' | head -1)
[ -n "$KPKG" ] || die "cannot find the kernel package linux-image-amd64 depends on"
need_pkgs "$KPKG"
VMLINUZ_SRC=$(dpkg -L "$KPKG" | grep -E '^/boot/vmlinuz-' | head -1)
KVER=${VMLINUZ_SRC#/boot/vmlinuz-}
MODSRC=/lib/modules/$KVER
[ -f "$VMLINUZ_SRC" ] && [ -d "$MODSRC" ] || die "kernel $KVER is not installed completely ($VMLINUZ_SRC, $MODSRC)"
step_end

sha() { sha256sum "$1" | cut -d' ' -f1; }
strsha() { sha256sum | cut -c1-16; }
# Key of a step's recipe: the text of the shell functions it runs (so editing a step rebuilds it, and
# editing anything else, e.g. the manifest, does not).
fnkey() { declare -f "$@" | strsha; }

# A step is up to date when its stamp file holds its key.
fresh() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }
stamp() { printf '%s' "$2" >"$1"; }
# Install a cached artefact into $OUT (hard link when possible) unless it is already there.
install_out() {
	local src=$1 dst=$OUT/$2
	if [ "$src" -ef "$dst" ]; then return; fi
	rm -f "$dst"
	ln "$src" "$dst" 2>/dev/null || cp "$src" "$dst"
}
# Deterministic trees and archives: fixed mtimes, sorted cpio, owner root.
normalize_tree() { find "$1" -exec touch -h -d @1 {} +; }
mkcpio() { (cd "$1" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --reproducible --quiet); }
compress() {
	case "$1" in
	gzip) gzip -9 -n ;;
	zstd) zstd -19 -T0 -q ;;
	xz) xz --check=crc32 -9 -T0 ;; # the kernel's xz decoder checks CRC32 only
	lz4) lz4 -l -9 -q ;;           # the kernel reads only the legacy lz4 frame format
	none) cat ;;
	esac
}
# Copy a binary and the shared libraries ldd reports, at the paths ldd reports.
copy_with_libs() { # src dst-in-tree tree
	local src=$1 dst=$2 tree=$3 lib
	mkdir -p "$tree/$(dirname "$dst")"
	cp -L "$src" "$tree/$dst"
	for lib in $(ldd "$src" 2>/dev/null | grep -oE '/[^ ]+' || true); do
		[ -e "$tree$lib" ] && continue
		mkdir -p "$tree$(dirname "$lib")"
		cp -L "$lib" "$tree$lib"
	done
}
# Busybox and its applet links (existing files win).
install_busybox() { # tree
	local tree=$1 a
	mkdir -p "$tree/bin"
	cp /bin/busybox "$tree/bin/busybox"
	for a in $(/bin/busybox --list-full); do
		[ "$a" = linuxrc ] && continue
		if [ -e "$tree/$a" ] || [ -L "$tree/$a" ]; then continue; fi
		mkdir -p "$tree/$(dirname "$a")"
		ln -s /bin/busybox "$tree/$a"
	done
}
base_dirs() { # tree
	local tree=$1
	mkdir -p "$tree"/{dev,proc,sys,run,tmp,mnt,root,etc/kata-ts,var,newroot}
	chmod 1777 "$tree/tmp"
	chmod 0700 "$tree/root"
	ln -sfn /tmp "$tree/var/tmp"
	ln -sfn /run "$tree/var/run"
	mknod -m 600 "$tree/dev/console" c 5 1
	mknod -m 666 "$tree/dev/null" c 1 3
}
stage1_conf() { # tree format
	printf 'KVER=%s\nFORMAT=%s\nROOT_DEV=/dev/vda\nROOT_FSTYPE=%s\n' "$KVER" "$2" "$DISK_FS" >"$1/etc/kata-ts/stage1.conf"
}

# ---------------------------------------------------------------- kernel
# vmlinuz as packaged, and vmlinux: the same kernel uncompressed (an ELF with a PVH entry note, which QEMU
# boots directly with -kernel; it skips the bzImage's xz decompression, seconds under TCG).
build_kernel() {
	rm -rf "$KDIR" && mkdir -p "$KDIR"
	cp "$VMLINUZ_SRC" "$KDIR/vmlinuz"
	# Like the kernel's scripts/extract-vmlinux: find the compressed payload, decompress, check for an ELF.
	extract() {
		local magic=$1 cmd=$2 off
		for off in $(LC_ALL=C grep -abo "$magic" "$KDIR/vmlinuz" | cut -d: -f1); do
			tail -c +$((off + 1)) "$KDIR/vmlinuz" | $cmd >"$KDIR/vmlinux" 2>/dev/null || true
			if readelf -h "$KDIR/vmlinux" >/dev/null 2>&1; then return 0; fi
		done
		return 1
	}
	extract $'\xfd7zXZ' 'xz -dc' || extract $'\x28\xb5\x2f\xfd' 'zstd -dcq' ||
		extract $'\x1f\x8b\x08' 'gzip -dc' || die "cannot extract vmlinux from $VMLINUZ_SRC"
	# XEN_ELFNOTE_PHYS32_ENTRY (type 18) marks the PVH entry point.
	readelf -n "$KDIR/vmlinux" | grep -q 'Unknown note type: (0x00000012)' ||
		say "warning: vmlinux has no PVH entry note; boot vmlinuz instead"
	sha "$KDIR/vmlinuz" >"$KDIR/vmlinuz.sha256"
	sha "$KDIR/vmlinux" >"$KDIR/vmlinux.sha256"
}
KDIR=$CACHE/kernel-$KVER
KKEY=$(printf '%s\n' "$KPKG" "$(pkgver "$KPKG")" "$(stat -c '%s %Y' "$VMLINUZ_SRC")" "$(fnkey build_kernel sha)" | strsha)
if ! fresh "$KDIR/stamp" "$KKEY"; then
	step_begin "kernel $KVER" "copying vmlinuz, extracting vmlinux"
	step_run build_kernel
	stamp "$KDIR/stamp" "$KKEY"
	step_end
else
	step_cached "kernel $KVER"
fi

# ---------------------------------------------------------------- modules
# Resolve the wanted names to files, add their dependencies and "softdep pre:" modules (aliases resolved,
# preferring a *_generic implementation), copy them into a tree, depmod it, and compute the load order from
# the tree's modules.dep (+ the softdeps): depth first, dependencies before dependents.
resolve_module() { # name -> path relative to $MODSRC, "" if built in
	local files f
	files=$(modinfo -k "$KVER" -F filename "$1" 2>/dev/null) || die "module '$1' not found for kernel $KVER"
	f=$(echo "$files" | grep -m1 '_generic\.ko' || echo "$files" | head -1)
	case "$f" in "(builtin)" | "") echo "" ;; *) echo "${f#"$MODSRC"/}" ;; esac
}
build_modules() {
	local queue name f d s sf deps soft line
	local -A file_of=() soft_of=() deps_of=() done_=()
	local -a order=()
	mkdir -p "$MODTREE/lib/modules/$KVER"
	queue=($MODLIST)
	while [ ${#queue[@]} -gt 0 ]; do
		name=${queue[0]}
		queue=("${queue[@]:1}")
		f=$(resolve_module "$name")
		[ -n "$f" ] || continue
		[ -z "${file_of[$f]+x}" ] || continue
		file_of[$f]=1
		deps=$(modinfo -F depends "$MODSRC/$f" | tr ',' ' ')
		soft=$(modinfo -F softdep "$MODSRC/$f" | sed -n 's/^.*pre: *//p' | sed 's/post:.*//')
		soft_of[$f]=""
		for s in $soft; do
			sf=$(resolve_module "$s" 2>/dev/null || true)
			if [ -n "$sf" ]; then soft_of[$f]+=" $sf"; queue+=("$s"); fi
		done
		for d in $deps; do queue+=("$d"); done
	done
	for f in "${!file_of[@]}"; do
		mkdir -p "$MODTREE/lib/modules/$KVER/$(dirname "$f")"
		cp "$MODSRC/$f" "$MODTREE/lib/modules/$KVER/$f"
	done
	for f in modules.builtin modules.builtin.modinfo modules.order; do
		if [ -f "$MODSRC/$f" ]; then cp "$MODSRC/$f" "$MODTREE/lib/modules/$KVER/"; fi
	done
	depmod -b "$MODTREE" "$KVER"
	while IFS= read -r line; do
		deps_of[${line%%:*}]=${line#*:}
	done <"$MODTREE/lib/modules/$KVER/modules.dep"
	visit() {
		local m=$1 x
		[ -z "${done_[$m]+x}" ] || return 0
		done_[$m]=1
		for x in ${soft_of[$m]:-} ${deps_of[$m]:-}; do visit "$x"; done
		order+=("$m")
	}
	for name in $LOADLIST; do
		f=$(resolve_module "$name")
		if [ -n "$f" ]; then visit "$f"; fi
	done
	printf '%s\n' "${order[@]}" >"$MODTREE/lib/modules/$KVER/kata-ts.load"
}
MODLIST=$(grep -v '^[[:space:]]*#' "$LIB/modules.list" | awk 'NF{print $1}'; echo "$DISK_FS")
# Loaded at boot (kata-ts.load): all but the "ondemand" ones, which only ship.
LOADLIST=$(grep -v '^[[:space:]]*#' "$LIB/modules.list" | awk 'NF && $2 != "ondemand" {print $1}'; echo "$DISK_FS")
MKEY=$(printf '%s\n' "$KKEY" "$MODLIST" "$LOADLIST" "$(fnkey build_modules resolve_module)" | strsha)
MODTREE=$CACHE/modules-$MKEY
if ! fresh "$MODTREE.stamp" "$MKEY"; then
	step_begin "kernel modules" "resolving $(echo "$MODLIST" | wc -l) wanted modules for $KVER, copying them and their dependencies"
	rm -rf "$CACHE"/modules-*
	step_run build_modules
	stamp "$MODTREE.stamp" "$MKEY"
	step_end "$(wc -l <"$MODTREE/lib/modules/$KVER/kata-ts.load") to load at boot"
else
	step_cached "kernel modules"
fi
MODCOUNT=$(wc -l <"$MODTREE/lib/modules/$KVER/kata-ts.load")

# ---------------------------------------------------------------- root filesystem tree
# One tree for both formats: the initrd format packs it as the initramfs (its /init is stage 1), the disk
# format makes the read-only image of it.
build_rootfs() {
	local T=$ROOTFS f
	rm -rf "$T" && mkdir -p "$T"
	base_dirs "$T"
	mkdir -p "$T"/{usr/bin,usr/sbin,sbin,lib,lib64,usr/lib/kata-ts/native,sys/fs/cgroup}
	copy_with_libs /usr/bin/crun usr/bin/crun "$T"
	cp /usr/bin/tini-static "$T/usr/bin/tini"
	copy_with_libs "$NODE_BIN" usr/bin/node "$T"
	strip --strip-all "$T/usr/bin/node"
	cp "$AGENT" "$T/usr/lib/kata-ts/kata-agent.js"
	for f in "${NATIVE_FILES[@]}"; do copy_with_libs "$f" "usr/lib/kata-ts/native/$(basename "$f")" "$T"; done
	install_busybox "$T"
	cp -a "$MODTREE/lib/modules" "$T/lib/"
	install -m 0755 "$LIB/init-stage2.sh" "$T/usr/lib/kata-ts/init-stage2"
	install -m 0755 "$LIB/init-stage1.sh" "$T/init"
	stage1_conf "$T" initrd
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$T/etc/passwd"
	printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$T/etc/group"
	printf '127.0.0.1 localhost\n::1 localhost\n' >"$T/etc/hosts"
	printf 'hosts: files dns\n' >"$T/etc/nsswitch.conf"
	: >"$T/etc/resolv.conf"
	printf 'NAME="kata-ts guest"\nID=kata-ts\n' >"$T/etc/os-release"
	normalize_tree "$T"
}
NATIVE_FILES=()
declare -A NATIVE_SEEN=()
for d in "${NATIVE_DIRS[@]}"; do
	while IFS= read -r f; do
		case "$f" in
		*.node) ;;
		*) [ -x "$f" ] && [ "$(head -c4 "$f" | od -An -c | tr -d ' ')" = '177ELF' ] || continue ;;
		esac
		b=$(basename "$f")
		[ -z "${NATIVE_SEEN[$b]+x}" ] || die "two native files named $b (in ${NATIVE_SEEN[$b]} and $d)"
		NATIVE_SEEN[$b]=$d
		NATIVE_FILES+=("$f")
	done < <(find "$d" -maxdepth 1 -type f | LC_ALL=C sort)
done
NATIVE_SUMS=$(for f in "${NATIVE_FILES[@]}"; do echo "$(basename "$f") $(sha "$f") $f"; done)
AGENT_SHA=$(sha "$AGENT")
# The node binary (~100 MB) is keyed on path, size, mtime and package version rather than hashed.
NODE_ID=$(stat -c '%n %s %Y' "$NODE_BIN")
NODE_PKG=$(pkg_of "$NODE_BIN" || true)
NODE_VERSION=$("$NODE_BIN" --version)
PKGS_KEY=$(for p in busybox-static tini crun libc6 libstdc++6 libgcc-s1 $NODE_PKG; do echo "$p $(pkgver "$p")"; done)
INIT_KEY=$(cat "$LIB/init-stage1.sh" "$LIB/init-stage2.sh" | strsha)
RKEY=$(printf '%s\n' "$MKEY" "$PKGS_KEY" "$NODE_ID" "$AGENT_SHA" "$NATIVE_SUMS" "$INIT_KEY" \
	"$(fnkey build_rootfs base_dirs copy_with_libs install_busybox stage1_conf normalize_tree)" | strsha)
ROOTFS=$CACHE/rootfs-$RKEY
if ! fresh "$ROOTFS.stamp" "$RKEY"; then
	step_begin "root filesystem" "assembling (busybox, tini, crun, node $NODE_VERSION, agent, native: ${NATIVE_SEEN[*]+${!NATIVE_SEEN[*]}})"
	rm -rf "$CACHE"/rootfs-* "$CACHE"/initrd-* "$CACHE"/disk-* # everything made from an older tree
	step_run build_rootfs
	stamp "$ROOTFS.stamp" "$RKEY"
	step_end "$(du -sh "$ROOTFS" | cut -f1)"
else
	step_cached "root filesystem"
fi

# ---------------------------------------------------------------- format "initrd"
IKEY=$(printf '%s\n' "$RKEY" "$INITRD_COMPRESS" "$(fnkey mkcpio compress)" | strsha)
INITRD=$CACHE/initrd-$IKEY.img
pack_initrd() { mkcpio "$ROOTFS" | compress "$INITRD_COMPRESS" >"$INITRD.tmp"; }
if ! fresh "$INITRD.stamp" "$IKEY"; then
	step_begin "initrd format" "cpio | $INITRD_COMPRESS (about a minute: ~100 MB to compress)"
	step_run pack_initrd
	mv "$INITRD.tmp" "$INITRD"
	sha "$INITRD" >"$INITRD.sha256"
	stamp "$INITRD.stamp" "$IKEY"
	step_end "$(numfmt --to=iec-i --suffix=B "$(stat -c %s "$INITRD")")"
else
	step_cached "initrd format"
fi

# ---------------------------------------------------------------- format "disk"
build_bootrd() {
	local T=$BOOTRD.tree
	rm -rf "$T" && mkdir -p "$T"
	base_dirs "$T"
	mkdir -p "$T"/{mnt/ro,mnt/rw,lib}
	install_busybox "$T"
	cp -a "$MODTREE/lib/modules" "$T/lib/"
	install -m 0755 "$LIB/init-stage1.sh" "$T/init"
	stage1_conf "$T" disk
	normalize_tree "$T"
	mkcpio "$T" | gzip -9 -n >"$BOOTRD.tmp"
	mv "$BOOTRD.tmp" "$BOOTRD"
	rm -rf "$T"
	sha "$BOOTRD" >"$BOOTRD.sha256"
}
BKEY=$(printf '%s\n' "$MKEY" "$(pkgver busybox-static)" "$DISK_FS" "$INIT_KEY" \
	"$(fnkey build_bootrd base_dirs install_busybox stage1_conf normalize_tree mkcpio)" | strsha)
BOOTRD=$CACHE/bootrd-$BKEY.img
if ! fresh "$BOOTRD.stamp" "$BKEY"; then
	step_begin "disk format, boot initrd" "busybox, modules, init"
	rm -rf "$CACHE"/bootrd-*
	step_run build_bootrd
	stamp "$BOOTRD.stamp" "$BKEY"
	step_end
else
	step_cached "disk format, boot initrd"
fi

build_disk() {
	local sz uuid=6b617461-2d74-7300-0000-726f6f746673
	case "$DISK_FS" in
	erofs)
		mkfs.erofs --quiet -T1 --all-root -U "$uuid" "$DISK.tmp" "$ROOTFS" >/dev/null
		;;
	ext4)
		sz=$(du -sk "$ROOTFS" | cut -f1)
		sz=$((sz + sz / 8 + 8192))
		rm -f "$DISK.tmp"
		E2FSPROGS_FAKE_TIME=1 mkfs.ext4 -q -F -L kata-rootfs -U "$uuid" -E root_owner=0:0,hash_seed=$uuid \
			-O ^has_journal -m 0 -I 256 -d "$ROOTFS" "$DISK.tmp" "${sz}k" >/dev/null
		;;
	esac
	mv "$DISK.tmp" "$DISK"
	sha "$DISK" >"$DISK.sha256"
}
DKEY=$(printf '%s\n' "$RKEY" "$DISK_FS" "$(fnkey build_disk)" | strsha)
DISK=$CACHE/disk-$DKEY.img
if ! fresh "$DISK.stamp" "$DKEY"; then
	step_begin "disk format, root image" "read-only $DISK_FS image of the root filesystem (mkfs.$DISK_FS)"
	step_run build_disk
	stamp "$DISK.stamp" "$DKEY"
	step_end "$(numfmt --to=iec-i --suffix=B "$(stat -c %s "$DISK")")"
else
	step_cached "disk format, root image"
fi

# ---------------------------------------------------------------- floor
build_floor() {
	local T=$FLOOR.tree
	rm -rf "$T" && mkdir -p "$T/bin" "$T/dev"
	cp /bin/busybox "$T/bin/busybox"
	mknod -m 600 "$T/dev/console" c 5 1
	install -m 0755 "$LIB/floor-init.sh" "$T/init"
	normalize_tree "$T"
	mkcpio "$T" | gzip -9 -n >"$FLOOR.tmp"
	mv "$FLOOR.tmp" "$FLOOR"
	rm -rf "$T"
	sha "$FLOOR" >"$FLOOR.sha256"
}
FKEY=$(printf '%s\n' "$(pkgver busybox-static)" "$(sha "$LIB/floor-init.sh")" "$(fnkey build_floor normalize_tree mkcpio)" | strsha)
FLOOR=$CACHE/floor-$FKEY.img
if ! fresh "$FLOOR.stamp" "$FKEY"; then
	step_begin "floor initrd" "an init that powers off at once"
	rm -rf "$CACHE"/floor-*
	step_run build_floor
	stamp "$FLOOR.stamp" "$FKEY"
	step_end
else
	step_cached "floor initrd"
fi

# ---------------------------------------------------------------- outputs
step_begin "outputs" "linking the images into $OUT, kernel command line, manifest"
DISK_NAME=kata-rootfs.$DISK_FS
install_out "$KDIR/vmlinux" vmlinux
install_out "$KDIR/vmlinuz" vmlinuz
install_out "$INITRD" kata-initrd.img
install_out "$BOOTRD" kata-boot-initrd.img
install_out "$DISK" "$DISK_NAME"
install_out "$FLOOR" floor-initrd.img
for f in "$OUT"/kata-rootfs.*; do [ "$(basename "$f")" = "$DISK_NAME" ] || rm -f "$f"; done

# Kata-like parameters that shorten the boot (see README); the agent may read any extra ones from /proc/cmdline.
CMDLINE="console=ttyS0 panic=1 quiet tsc=reliable no_timer_check rcupdate.rcu_expedited=1 i8042.direct=1 i8042.dumbkbd=1 i8042.nopnp=1 i8042.noaux=1 noreplace-smp reboot=k cryptomgr.notests pci=lastbus=0"
[ "$DEFAULT_FORMAT" = disk ] && CMDLINE="$CMDLINE root=/dev/vda rootfstype=$DISK_FS"
printf '%s\n' "$CMDLINE" >"$OUT/kernel-cmdline.tmp"
cmp -s "$OUT/kernel-cmdline.tmp" "$OUT/kernel-cmdline" 2>/dev/null && rm "$OUT/kernel-cmdline.tmp" || mv "$OUT/kernel-cmdline.tmp" "$OUT/kernel-cmdline"

if [ "$DEFAULT_FORMAT" = disk ]; then
	INITRD_ARGS="-initrd $OUT/kata-boot-initrd.img \\
  -drive file=$OUT/$DISK_NAME,if=none,id=rootfs,format=raw,readonly=on -device virtio-blk-pci,drive=rootfs"
else
	INITRD_ARGS="-initrd $OUT/kata-initrd.img"
fi
cat >"$OUT/qemu-args.example.tmp" <<EOF
# How the shim boots this image (default format: $DEFAULT_FORMAT). <...> are per-sandbox paths.
qemu-system-x86_64 -accel tcg -M q35 -m 512 -smp 1 -nographic -no-reboot -nodefaults \\
  -serial file:<console.log> \\
  -kernel $OUT/$DEFAULT_KERNEL $INITRD_ARGS \\
  -append "$CMDLINE" \\
  -device virtio-serial-pci -chardev socket,path=<agent.sock>,server=on,wait=off,id=ch0 \\
  -device virtserialport,chardev=ch0,name=agent.channel.0 \\
  -fsdev local,id=fs0,path=<shared dir>,security_model=none -device virtio-9p-pci,fsdev=fs0,mount_tag=kataShared \\
  -object rng-random,filename=/dev/urandom,id=rng0 -device virtio-rng-pci,rng=rng0
# virtio-rng: without it the guest's random pool is ready only seconds into boot, and node blocks on it.
EOF
cmp -s "$OUT/qemu-args.example.tmp" "$OUT/qemu-args.example" 2>/dev/null && rm "$OUT/qemu-args.example.tmp" || mv "$OUT/qemu-args.example.tmp" "$OUT/qemu-args.example"

# ---------------------------------------------------------------- manifest
art() { # name file shafile
	printf '{"name":"%s","path":"%s","size":%s,"sha256":"%s"}' "$1" "$2" "$(stat -c %s "$OUT/$2")" "$(cat "$3")"
}
ARTS=$(
	art kernel-pvh vmlinux "$KDIR/vmlinux.sha256"; echo
	art kernel-bzimage vmlinuz "$KDIR/vmlinuz.sha256"; echo
	art initrd kata-initrd.img "$INITRD.sha256"; echo
	art boot-initrd kata-boot-initrd.img "$BOOTRD.sha256"; echo
	art rootfs-image "$DISK_NAME" "$DISK.sha256"; echo
	art floor-initrd floor-initrd.img "$FLOOR.sha256"; echo
)
PKG_LINES=$(for p in linux-image-amd64 "$KPKG" busybox-static tini crun libc6 libstdc++6 libgcc-s1 libseccomp2 libcap2 libyajl2 libsystemd0 \
	${NODE_PKG:+"$NODE_PKG"} erofs-utils e2fsprogs cpio zstd gzip xz-utils lz4 kmod qemu-system-x86; do
	v=$(dpkg-query -W -f='${Version}' "$p" 2>/dev/null || true)
	[ -n "$v" ] && echo "$p $v"
done)
ROOTFS_BYTES=$(du -sb "$ROOTFS" | cut -f1)
NODE_BYTES=$(stat -c %s "$ROOTFS/usr/bin/node")
AGENT_BYTES=$(stat -c %s "$AGENT")
MODLOAD=$(cat "$MODTREE/lib/modules/$KVER/kata-ts.load")
export KVER KPKG DEFAULT_FORMAT DEFAULT_KERNEL INITRD_COMPRESS DISK_FS DISK_NAME CMDLINE ARTS PKG_LINES ROOTFS_BYTES \
	NODE_BYTES NODE_VERSION NODE_BIN NODE_PKG AGENT AGENT_SHA AGENT_BYTES NATIVE_SUMS MODLOAD LIB
node "$LIB/manifest.js" >"$OUT/manifest.json.tmp"
cmp -s "$OUT/manifest.json.tmp" "$OUT/manifest.json" 2>/dev/null && rm "$OUT/manifest.json.tmp" || mv "$OUT/manifest.json.tmp" "$OUT/manifest.json"
step_end

T_END=$(date +%s%N)
hsize() { numfmt --to=iec-i --suffix=B --format='%.1f' "$(stat -c %s "$1")"; }
echo "build.sh: done in $(((T_END - T_START) / 1000000)) ms -> $OUT"
echo "  kernel $KVER ($KPKG $(pkgver "$KPKG")): vmlinux $(hsize "$OUT/vmlinux"), vmlinuz $(hsize "$OUT/vmlinuz"); $MODCOUNT modules"
echo "  initrd format: kata-initrd.img $(hsize "$OUT/kata-initrd.img") ($INITRD_COMPRESS; root tree $(numfmt --to=iec-i --suffix=B "$ROOTFS_BYTES"))"
echo "  disk format:   kata-boot-initrd.img $(hsize "$OUT/kata-boot-initrd.img") + $DISK_NAME $(hsize "$OUT/$DISK_NAME")"
echo "  floor:         floor-initrd.img $(hsize "$OUT/floor-initrd.img")"
echo "  default: format $DEFAULT_FORMAT, kernel $DEFAULT_KERNEL; agent $AGENT"
