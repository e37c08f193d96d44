#!/usr/bin/env bash
# Boot the guest image with QEMU the way the shim does, and time it.
#
#   images/boot-test.sh [--format initrd|disk] [--floor] [--runs N] [--smp N] [--mem MiB] [--crun] [--exit]
#                       [--kernel vmlinux|vmlinuz] [--initrd FILE] [--disk FILE] [--append "extra params"]
#                       [--cmdline "full cmdline"] [--out DIR] [--console FILE] [--timeout S] [--print]
#                       [--qemu-extra "more qemu args"] [--no-rng]
#
# Needs an image built with the stand-in agent (images/build.sh --agent images/test/standin-agent.js), or any
# agent that writes to the agent.channel.0 port first. Measures QEMU start -> first byte on the agent
# channel's host socket ("ready"); --floor boots floor-initrd.img and measures QEMU start -> QEMU exit.
# --crun: adds standin.crun_test=1 and waits for the stand-in's crun result (a busybox container that
# exits 42). --exit: then asks the stand-in to exit and times QEMU ending by itself.
# The VM gets a virtio-rng device (as the shim should: without it the guest's random pool is ready only
# seconds into boot and node blocks on it at startup); --no-rng leaves it out.
# Prints one line per run and the median. Every QEMU it starts is killed (by pid) when it is done.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
OUT=$HERE/out
FORMAT=
KERNEL=
INITRD=
DISK=
FLOOR=0
RUNS=1
SMP=1
MEM=512
CRUN=0
EXIT=0
APPEND=
CMDLINE=
CONSOLE=
TIMEOUT=120
PRINT=0
QEMU_EXTRA=
RNG=1

while [ $# -gt 0 ]; do
	case "$1" in
	--format) FORMAT=$2; shift 2 ;;
	--kernel) KERNEL=$2; shift 2 ;;
	--initrd) INITRD=$2; shift 2 ;;
	--disk) DISK=$2; shift 2 ;;
	--floor) FLOOR=1; shift ;;
	--runs) RUNS=$2; shift 2 ;;
	--smp) SMP=$2; shift 2 ;;
	--mem) MEM=$2; shift 2 ;;
	--crun) CRUN=1; shift ;;
	--exit) EXIT=1; shift ;;
	--append) APPEND=$2; shift 2 ;;
	--cmdline) CMDLINE=$2; shift 2 ;;
	--out) OUT=$2; shift 2 ;;
	--console) CONSOLE=$2; shift 2 ;;
	--timeout) TIMEOUT=$2; shift 2 ;;
	--print) PRINT=1; shift ;;
	--qemu-extra) QEMU_EXTRA=$2; shift 2 ;;
	--no-rng) RNG=0; shift ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	*) echo "boot-test.sh: unknown argument '$1'" >&2; exit 2 ;;
	esac
done

[ -f "$OUT/manifest.json" ] || { echo "boot-test.sh: no $OUT/manifest.json; run images/build.sh first" >&2; exit 1; }
OUT=$(readlink -f "$OUT")
mf() { # manifest field, e.g. default.format
	node -e 'let v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
		for (const k of process.argv[2].split(".")) v = v?.[k];
		console.log(v ?? "")' "$OUT/manifest.json" "$1"
}
[ -n "$FORMAT" ] || FORMAT=$(mf default.format)
[ -n "$KERNEL" ] || KERNEL=$(mf default.kernel)
[ -n "$CMDLINE" ] || CMDLINE=$(cat "$OUT/kernel-cmdline")
case "$KERNEL" in /*) ;; *) KERNEL=$OUT/$KERNEL ;; esac
DISK_FS=$(mf formats.disk.fsType)
if [ "$FLOOR" = 1 ]; then
	FORMAT=floor
	[ -n "$INITRD" ] || INITRD=$OUT/floor-initrd.img
fi
case "$FORMAT" in
initrd)
	[ -n "$INITRD" ] || INITRD=$OUT/kata-initrd.img
	CMDLINE=$(echo "$CMDLINE" | sed -E 's/(^| )(root|rootfstype)=[^ ]*//g')
	;;
disk)
	[ -n "$INITRD" ] || INITRD=$OUT/kata-boot-initrd.img
	[ -n "$DISK" ] || DISK=$OUT/$(mf formats.disk.rootfsImage)
	case " $CMDLINE " in *" root="*) ;; *) CMDLINE="$CMDLINE root=/dev/vda rootfstype=$DISK_FS" ;; esac
	;;
floor) ;;
*) echo "boot-test.sh: --format must be initrd or disk" >&2; exit 2 ;;
esac
[ "$CRUN" = 1 ] && APPEND="$APPEND standin.crun_test=1"
[ -n "$APPEND" ] && CMDLINE="$CMDLINE ${APPEND# }"

WORK=$(mktemp -d /tmp/kata-boot-test.XXXXXX)
PROBE_PID=
cleanup() {
	# The probe kills its QEMU; if the probe itself was killed, kill the QEMU whose pid QEMU wrote.
	if [ -n "$PROBE_PID" ] && kill -0 "$PROBE_PID" 2>/dev/null; then kill "$PROBE_PID" 2>/dev/null || true; wait "$PROBE_PID" 2>/dev/null || true; fi
	if [ -s "$WORK/qemu.pid" ]; then
		local p
		p=$(cat "$WORK/qemu.pid")
		if kill -0 "$p" 2>/dev/null && grep -q "$WORK" "/proc/$p/cmdline" 2>/dev/null; then kill -9 "$p" 2>/dev/null || true; fi
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mkdir -p "$WORK/shared"
[ -n "$CONSOLE" ] || CONSOLE=$WORK/console.log

qemu_args() {
	local a=(qemu-system-x86_64 -accel tcg -M q35 -m "$MEM" -smp "$SMP" -nographic -no-reboot -nodefaults
		-pidfile "$WORK/qemu.pid" -serial "file:$CONSOLE"
		-kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE")
	if [ "$FORMAT" != floor ]; then
		a+=(-device virtio-serial-pci
			-chardev "socket,path=$WORK/agent.sock,server=on,wait=off,id=ch0"
			-device virtserialport,chardev=ch0,name=agent.channel.0
			-fsdev "local,id=fs0,path=$WORK/shared,security_model=none"
			-device virtio-9p-pci,fsdev=fs0,mount_tag=kataShared)
	fi
	if [ "$RNG" = 1 ] && [ "$FORMAT" != floor ]; then
		a+=(-object rng-random,filename=/dev/urandom,id=rng0 -device virtio-rng-pci,rng=rng0)
	fi
	if [ "$FORMAT" = disk ]; then
		a+=(-drive "file=$DISK,if=none,id=rootfs,format=raw,readonly=on" -device virtio-blk-pci,drive=rootfs)
	fi
	# shellcheck disable=SC2206 # word splitting of the extra arguments is intended
	[ -z "$QEMU_EXTRA" ] || a+=($QEMU_EXTRA)
	printf '%s\n' "${a[@]}"
}
mapfile -t QEMU < <(qemu_args)
if [ "$PRINT" = 1 ]; then printf '%q ' "${QEMU[@]}"; echo; fi

echo "boot-test: format=$FORMAT kernel=$(basename "$KERNEL") initrd=$(basename "$INITRD")${DISK:+ disk=$(basename "$DISK")} smp=$SMP mem=${MEM}M rng=$RNG runs=$RUNS"
echo "boot-test: cmdline: $CMDLINE"
PROBE=(node "$HERE/test/boot-probe.js" --timeout "$TIMEOUT")
[ "$FORMAT" = floor ] || PROBE+=(--sock "$WORK/agent.sock")
[ "$CRUN" = 1 ] && PROBE+=(--crun)
[ "$EXIT" = 1 ] && PROBE+=(--exit)

TIMES=()
CPUS=()
FAIL=0
for i in $(seq 1 "$RUNS"); do
	rm -f "$WORK/agent.sock" "$WORK/qemu.pid"
	: >"$CONSOLE"
	"${PROBE[@]}" -- "${QEMU[@]}" >"$WORK/result.json" &
	PROBE_PID=$!
	rc=0
	wait "$PROBE_PID" || rc=$?
	PROBE_PID=
	R=$(cat "$WORK/result.json")
	line=$(node -e '
		const r = JSON.parse(process.argv[1] || "{}"), f = process.argv[2] === "floor";
		const p = [];
		if (f) p.push(`qemu start -> exit ${r.exitMs} ms (qemu cpu ${r.exitCpuMs} ms)`);
		else {
			if (r.readyMs !== undefined) p.push(`ready ${r.readyMs} ms (qemu cpu ${r.readyCpuMs} ms)`);
			if (r.crun !== undefined) p.push(`crun exit=${r.crun}`);
			if (r.exitSent) p.push(`qemu exited by itself at ${r.exitMs} ms (code ${r.qemuExit})`);
		}
		if (!r.ok) p.push(`FAILED: ${r.error}`);
		console.log(p.join(", "));
		' "$R" "$FORMAT")
	echo "run $i: $line"
	if [ "$rc" != 0 ]; then
		FAIL=1
		echo "--- console ($CONSOLE), last 40 lines:"
		tail -40 "$CONSOLE" | tr -d '\r'
		echo "---"
		break
	fi
	if [ "$FORMAT" = floor ]; then
		TIMES+=("$(node -p 'JSON.parse(process.argv[1]).exitMs' "$R")")
		CPUS+=("$(node -p 'JSON.parse(process.argv[1]).exitCpuMs' "$R")")
	else
		TIMES+=("$(node -p 'JSON.parse(process.argv[1]).readyMs' "$R")")
		CPUS+=("$(node -p 'JSON.parse(process.argv[1]).readyCpuMs' "$R")")
	fi
	if [ "$CRUN" = 1 ]; then
		grep -a 'STANDIN' "$CONSOLE" | tr -d '\r' | sed 's/^/  console: /'
		[ "$(node -p 'JSON.parse(process.argv[1]).crun' "$R")" = 42 ] || { echo "boot-test: crun test did not return 42"; FAIL=1; }
	fi
done
if [ ${#TIMES[@]} -gt 0 ]; then
	med() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END{print (NR%2)?a[(NR+1)/2]:int((a[NR/2]+a[NR/2+1])/2)}'; }
	what=ready
	[ "$FORMAT" = floor ] && what="qemu start -> exit"
	echo "boot-test: median $what: $(med "${TIMES[@]}") ms over ${#TIMES[@]} run(s) [$(printf '%s ' "${TIMES[@]}")]; qemu cpu median $(med "${CPUS[@]}") ms [$(printf '%s ' "${CPUS[@]}")]"
fi
exit $FAIL
