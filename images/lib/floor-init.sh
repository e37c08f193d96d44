#!/bin/busybox sh
# kata-ts "floor" image init: power off at once. QEMU start -> QEMU exit with this initrd is
# the baseline cost of booting the guest kernel (benchmark floor).
/bin/busybox poweroff -f
