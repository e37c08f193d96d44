#!/bin/sh
# kata-ts guest init, stage 1: PID 1 in the initramfs (busybox sh).
#
#   - mounts proc, sys, devtmpfs
#   - loads the kernel modules listed (in dependency order, computed at build time) in
#     /lib/modules/<kver>/kata-ts.load
#   - prepares a root that is NOT the initramfs (crun's pivot_root fails on rootfs):
#       initrd format: bind-mounts the initramfs onto itself and chroots into the bind mount
#                      (no copy; the bind mount has a parent, so pivot_root works in it)
#       disk format:   mounts the read-only image (root=, default /dev/vda, rootfstype=, default
#                      erofs) under a tmpfs overlay and switch_roots into it
#   - execs /usr/lib/kata-ts/init-stage2 in the new root (which execs tini -- node <agent>)
#
# Kernel command line parameters it reads (everything else is ignored and left to the agent,
# which can read /proc/cmdline): root=, rootfstype=, kata_ts.debug=1.
# On a fatal error it powers the VM off (the hypervisor process then exits).

PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022
set -f

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o nosuid,mode=0755 devtmpfs /dev
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1

. /etc/kata-ts/stage1.conf

DEBUG=0
read -r CMDLINE </proc/cmdline
for p in $CMDLINE; do
	case "$p" in
	root=*) ROOT_DEV=${p#root=} ;;
	rootfstype=*) ROOT_FSTYPE=${p#rootfstype=} ;;
	kata_ts.debug=1 | kata_ts.debug) DEBUG=1 ;;
	esac
done

log() {
	[ "$DEBUG" = 1 ] || return 0
	read -r up _ </proc/uptime
	echo "kata-init: [$up] $*"
}
fatal() {
	echo "kata-init: FATAL: $*"
	poweroff -f
	exit 1
}

log "stage 1, format $FORMAT, kernel $KVER"

# Modules, in the order build.sh computed from modules.dep (+ softdeps).
while read -r m; do
	[ -n "$m" ] || continue
	insmod "/lib/modules/$KVER/$m" || echo "kata-init: insmod $m failed"
	log "insmod $m"
done <"/lib/modules/$KVER/kata-ts.load"
log "modules loaded"

case "$FORMAT" in
initrd)
	# The whole root filesystem is this initramfs. Make a bind mount of it the root.
	mount --bind / /newroot || fatal "bind mount of / failed"
	;;
disk)
	# Wait (up to 5 s) for the block device holding the read-only root.
	n=0
	while [ ! -b "$ROOT_DEV" ] && [ $n -lt 500 ]; do
		sleep 0.01
		n=$((n + 1))
	done
	[ -b "$ROOT_DEV" ] || fatal "root device $ROOT_DEV not found"
	mount -t "$ROOT_FSTYPE" -o ro "$ROOT_DEV" /mnt/ro || fatal "cannot mount $ROOT_DEV ($ROOT_FSTYPE)"
	mount -t tmpfs -o mode=0755 tmpfs /mnt/rw || fatal "cannot mount tmpfs"
	mkdir -p /mnt/rw/upper /mnt/rw/work
	mount -t overlay -o lowerdir=/mnt/ro,upperdir=/mnt/rw/upper,workdir=/mnt/rw/work overlay /newroot ||
		fatal "cannot mount the overlay root"
	;;
*) fatal "unknown format '$FORMAT'" ;;
esac

[ -x /newroot/usr/lib/kata-ts/init-stage2 ] || fatal "no /usr/lib/kata-ts/init-stage2 in the new root"
log "switching root"
for d in dev proc sys; do
	mount --move "/$d" "/newroot/$d" || fatal "cannot move /$d"
done

if [ "$FORMAT" = initrd ]; then
	cd /newroot || fatal "cd /newroot"
	mount --move . / || fatal "cannot move the root bind mount onto /"
	exec chroot . /usr/lib/kata-ts/init-stage2
else
	exec switch_root /newroot /usr/lib/kata-ts/init-stage2
fi
fatal "exec of stage 2 failed"
