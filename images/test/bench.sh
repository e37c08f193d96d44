#!/usr/bin/env bash
# Measures the guest image formats under TCG and prints a markdown table (images/README.md has the results).
#
#   images/test/bench.sh [--runs N] [--configs "1:512 2:2048"] [--only "floor initrd disk norng"]
#                        [--compressors "zstd gzip xz lz4 none"] [--disk-fs "erofs ext4"]
#
# Builds, with the stand-in agent, one variant per initrd compression (gzip zstd xz lz4 none) and the disk
# format (erofs, ext4), into images/cache/bench/, then boots each N times (default 5) per vCPU:MiB config
# with images/boot-test.sh and reports the median time from QEMU start to the stand-in's first byte on the
# agent channel (floor: QEMU start -> QEMU exit), and the median CPU time QEMU had used by then (steadier
# than wall time when the host is busy). The runs are interleaved across the variants.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IMAGES=$(cd "$HERE/.." && pwd)
RUNS=5
CONFIGS="1:512 2:2048"
ONLY="floor initrd disk norng"
COMPRESSORS="zstd gzip xz lz4 none"
DISK_FSS="erofs ext4"
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--configs) CONFIGS=$2; shift 2 ;;
	--only) ONLY=$2; shift 2 ;;
	--compressors) COMPRESSORS=$2; shift 2 ;;
	--disk-fs) DISK_FSS=$2; shift 2 ;;
	*) echo "bench.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
B=$IMAGES/cache/bench
mkdir -p "$B"
AGENT=$HERE/standin-agent.js
want() { case " $ONLY " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

build() { # name args...
	local name=$1
	shift
	"$IMAGES/build.sh" -q --agent "$AGENT" --out "$B/out-$name" "$@" >"$B/build-$name.log" 2>&1 ||
		{ cat "$B/build-$name.log"; exit 1; }
}
if want initrd || want norng; then
	for c in $COMPRESSORS; do build "initrd-$c" --cache "$B/cache" --compress "$c"; done
fi
if want disk || want norng || want floor; then
	build disk-erofs --cache "$B/cache" --disk-fs erofs --format disk
fi
if want disk && [[ " $DISK_FSS " == *" ext4 "* ]]; then
	build disk-ext4 --cache "$B/cache-ext4" --disk-fs ext4 --format disk
fi

size() { numfmt --to=iec-i --suffix=B --format='%.1f' "$(stat -c %s "$1")"; }
# Variants: "label|size|boot-test arguments". The runs are interleaved (round robin over the variants) so that
# every variant sees the same background load on a shared host.
V=()
Z=$B/out-initrd-zstd E=$B/out-disk-erofs
if want floor; then
	F="$(size "$Z/floor-initrd.img")"
	V+=("floor, vmlinuz (bzImage), cmdline 'console=ttyS0 panic=1'|$F|--out $Z --floor --kernel vmlinuz --cmdline console=ttyS0_panic=1")
	V+=("floor, vmlinuz (bzImage), default cmdline|$F|--out $Z --floor --kernel vmlinuz")
	V+=("floor, vmlinux (PVH), default cmdline|$F|--out $Z --floor --kernel vmlinux")
fi
if want initrd; then
	for c in $COMPRESSORS; do V+=("initrd, $c|$(size "$B/out-initrd-$c/kata-initrd.img")|--out $B/out-initrd-$c --format initrd"); done
fi
if want disk; then
	for fs in $DISK_FSS; do
		O=$B/out-disk-$fs
		V+=("disk, $fs|$(size "$O/kata-boot-initrd.img") + $(size "$O/kata-rootfs.$fs")|--out $O --format disk")
	done
fi
if want norng; then
	V+=("initrd, zstd, no virtio-rng|$(size "$Z/kata-initrd.img")|--out $Z --format initrd --no-rng")
	V+=("disk, erofs, no virtio-rng|$(size "$E/kata-boot-initrd.img") + $(size "$E/kata-rootfs.erofs")|--out $E --format disk --no-rng")
fi

median() { printf '%s\n' "$@" | grep -v FAIL | sort -n | awk '{a[NR]=$1} END{if(NR==0)print "FAILED"; else print (NR%2)?a[(NR+1)/2]:int((a[NR/2]+a[NR/2+1])/2)}'; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS=()
for cfg in $CONFIGS; do
	smp=${cfg%%:*} mem=${cfg##*:}
	declare -A T=() C=()
	for r in $(seq 1 "$RUNS"); do
		for i in "${!V[@]}"; do
			IFS='|' read -r label sz args <<<"${V[$i]}"
			# shellcheck disable=SC2086 # args is a word list; "_" stands for a space inside one argument
			mapfile -t A < <(printf '%s\n' $args | tr _ ' ')
			log=$B/run.log
			if "$IMAGES/boot-test.sh" --runs 1 --smp "$smp" --mem "$mem" "${A[@]}" >"$log" 2>&1; then
				t=$(grep -o 'median[^:]*: [0-9]* ms' "$log" | grep -o '[0-9]* ms$' | cut -d' ' -f1)
				c=$(grep -o 'qemu cpu median [0-9]* ms' "$log" | grep -o '[0-9]*')
			else
				t=FAIL c=FAIL
				cp "$log" "$B/fail-$i-$smp-$r.log"
			fi
			T[$i]="${T[$i]:-} $t"
			C[$i]="${C[$i]:-} $c"
			echo "smp $smp mem $mem run $r: $label: $t ms, qemu cpu $c ms (load $(cut -d' ' -f1 /proc/loadavg))" >&2
		done
	done
	for i in "${!V[@]}"; do
		IFS='|' read -r label sz args <<<"${V[$i]}"
		ROWS+=("| $label | $sz | $smp | $mem | $(median ${T[$i]}) | ${T[$i]# } | $(median ${C[$i]}) |")
	done
	unset T C
done

{
	echo "QEMU $(qemu-system-x86_64 --version | head -1 | awk '{print $4}') TCG, -M q35; $(nproc) host cores; load average before: $LOAD_BEFORE, after: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs each"
	echo
	echo "| image | size | vCPUs | MiB | median wall ms | runs (wall ms) | median QEMU CPU ms |"
	echo "|---|---|---|---|---|---|---|"
	printf '%s\n' "${ROWS[@]}"
} | tee "$B/results.md"
