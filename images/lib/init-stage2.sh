#!/bin/sh
# kata-ts guest init, stage 2: PID 1 in the final root (busybox sh), then replaced by tini.
#
# Mounts the runtime filesystems the agent and crun expect, then
#   exec tini -- node /usr/lib/kata-ts/kata-agent.js
# tini stays PID 1: it reaps orphans and forwards signals; when the agent exits, tini exits,
# the kernel panics ("Attempted to kill init") and, with panic=1 on the command line and
# QEMU's -no-reboot, the VM ends by itself.

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH
umask 022
set -f

mount -t tmpfs -o nosuid,nodev,mode=0755 tmpfs /run
mount -t tmpfs -o nosuid,nodev,mode=1777 tmpfs /tmp
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec,newinstance,ptmxmode=0666,mode=0620,gid=5 devpts /dev/pts
mount -t tmpfs -o nosuid,nodev,mode=1777 shm /dev/shm
mount -t cgroup2 -o nosuid,nodev,noexec,nsdelegate cgroup2 /sys/fs/cgroup
[ -e /dev/fd ] || ln -s /proc/self/fd /dev/fd
[ -e /dev/stdin ] || ln -s /proc/self/fd/0 /dev/stdin
[ -e /dev/stdout ] || ln -s /proc/self/fd/1 /dev/stdout
[ -e /dev/stderr ] || ln -s /proc/self/fd/2 /dev/stderr
ip link set lo up 2>/dev/null

HOME=/root
KATA_TS_NATIVE_DIR=/usr/lib/kata-ts/native
export HOME KATA_TS_NATIVE_DIR
[ -r /etc/kata-ts/agent.env ] && . /etc/kata-ts/agent.env

if grep -qw kata_ts.debug=1 /proc/cmdline; then
	read -r up _ </proc/uptime
	echo "kata-init: [$up] stage 2, exec agent"
fi
exec /usr/bin/tini -- /usr/bin/node /usr/lib/kata-ts/kata-agent.js
