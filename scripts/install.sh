#!/usr/bin/env bash
# Installs kata-ts on this machine, as root. Idempotent: a rerun with nothing changed changes nothing.
#
#   /usr/local/bin/containerd-shim-kata-v2     the shim, bundled into one file (containerd finds it on
#                                              PATH for runtime io.containerd.kata.v2)
#   /usr/local/bin/kata-ts                     the kata-ts command (when packages/cli exists)
#   /usr/share/kata-ts/                        guest kernel and root filesystem (from images/out)
#   /usr/lib/kata-ts/native/                   native addons (node-vsock, for the vsock agent channel)
#   /usr/share/defaults/kata-ts/configuration.toml   default configuration
#
# Steps: system packages and npm dependencies (scripts/install-deps.sh), build the workspace, build the
# guest image when images/out is missing or older than the agent, copy what changed, then make the VM
# template of the default sandbox (`kata-ts factory init`: one VM boot the first time, so the first pod
# starts as a clone too; a no-op when it exists; a failure only warns, the shim makes it on demand).
#
# Environment: DESTDIR (stage everything under a root, e.g. for packaging or a dry run), PREFIX
# (default /usr/local), IMAGE_OUT (guest image directory, default images/out), QEMU (hypervisor path
# written into the configuration), KATA_TS_SKIP_DEPS=1 / KATA_TS_SKIP_BUILD=1 / KATA_TS_SKIP_TEMPLATE=1
# (skip those steps).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr/local}
ASSETS=/usr/share/kata-ts
NATIVE_DIR=/usr/lib/kata-ts/native
CONF_DIR=/usr/share/defaults/kata-ts
QEMU=${QEMU:-/usr/bin/qemu-system-x86_64}
IMAGE_OUT=${IMAGE_OUT:-images/out}

say() { echo "install: $*"; }
[ "$(id -u)" = 0 ] || { echo "install: must run as root" >&2; exit 1; }

# install_file SRC DST MODE: copies only when the content differs (keeps mtimes stable otherwise).
install_file() {
	if [ -f "$2" ] && cmp -s "$1" "$2"; then return 0; fi
	install -D -m "$3" "$1" "$2.kata-ts-new"
	mv -f "$2.kata-ts-new" "$2"
	say "installed $2"
}

[ "${KATA_TS_SKIP_DEPS:-0}" = 1 ] || ./scripts/install-deps.sh
[ "${KATA_TS_SKIP_BUILD:-0}" = 1 ] || ./scripts/build.sh

# Guest image: rebuilt (cached by images/build.sh itself) when the agent bundle is newer than it.
AGENT=packages/agent/dist/kata-agent.js
if [ "$IMAGE_OUT" = images/out ] && [ -f "$AGENT" ] && { [ ! -f images/out/manifest.json ] || [ "$AGENT" -nt images/out/manifest.json ]; }; then
	say "building the guest image"
	./images/build.sh -q
fi
[ -f "$IMAGE_OUT/manifest.json" ] || { echo "install: no guest image ($IMAGE_OUT/manifest.json); run images/build.sh" >&2; exit 1; }
if grep -q '"source": *"[^"]*standin' "$IMAGE_OUT/manifest.json"; then
	echo "install: $IMAGE_OUT holds the stand-in test agent; build packages/agent (scripts/build.sh) and rerun" >&2
	exit 1
fi

# The shim: bundled again here (under a second) so that its Revision stamp is this checkout's even when
# turbo replayed a cached build, with this node on its #! line.
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
# The binary is a small launcher that runs the bundle through a V8 code cache (see
# packages/shim/launcher/code-cache-launcher.js); a new bundle starts with no cache.
node packages/shim/scripts/bundle.mjs "$TMP/shim.js" >/dev/null
SHIM_BUNDLE=$PREFIX/lib/kata-ts/containerd-shim-kata-v2.js
CODE_CACHE_DIR=/var/cache/kata-ts/code-cache
tail -n +2 "$TMP/shim.js" >"$TMP/shim-bundle.js" # without its #! line
install_file "$TMP/shim-bundle.js" "$DESTDIR$SHIM_BUNDLE" 0644
{ echo "#!$(command -v node)"; sed -e "s#@BUNDLE@#$SHIM_BUNDLE#" -e "s#@CACHE@#$CODE_CACHE_DIR/containerd-shim-kata-v2.v8#" packages/shim/launcher/code-cache-launcher.js; } >"$TMP/containerd-shim-kata-v2"
install_file "$TMP/containerd-shim-kata-v2" "$DESTDIR$PREFIX/bin/containerd-shim-kata-v2" 0755
mkdir -p "$DESTDIR$CODE_CACHE_DIR" && chmod 0700 "$DESTDIR$CODE_CACHE_DIR" && rm -f "$DESTDIR$CODE_CACHE_DIR/containerd-shim-kata-v2.v8"

# The kata-ts command, once its package exists.
if [ -f packages/cli/scripts/bundle.mjs ]; then
	node packages/cli/scripts/bundle.mjs "$TMP/cli.js" 2>/dev/null
	{ echo "#!$(command -v node)"; tail -n +2 "$TMP/cli.js"; } >"$TMP/kata-ts"
	install_file "$TMP/kata-ts" "$DESTDIR$PREFIX/bin/kata-ts" 0755
fi

for addon in packages/node-vsock/build/Release/*.node; do
	if [ -f "$addon" ]; then install_file "$addon" "$DESTDIR$NATIVE_DIR/$(basename "$addon")" 0644; fi
done

# Guest assets named by the image manifest, and the configuration that points at them.
read -r KERNEL INITRD IMAGE ROOTFS_TYPE < <(node -e '
	const m = require(process.argv[1]);
	const d = m.default;
	const disk = d.format === "disk" ? m.formats.disk : undefined;
	console.log([d.kernel, d.initrd || "-", (disk && disk.rootfsImage) || d.rootfsImage || "-", (disk && disk.fsType) || "erofs"].join(" "));
' "$(cd "$IMAGE_OUT" && pwd)/manifest.json")
for f in "$KERNEL" "$INITRD" "$IMAGE" manifest.json; do
	[ "$f" = - ] && continue
	install_file "$IMAGE_OUT/$f" "$DESTDIR$ASSETS/$f" 0644
done
at() { [ "$1" = - ] && echo "" || echo "$ASSETS/$1"; }
sed -e "s#@QEMU@#$QEMU#g" -e "s#@ASSETS@#$ASSETS#g" -e "s#@KERNEL@#$KERNEL#g" \
	-e "s#@INITRD@#$(at "$INITRD")#g" -e "s#@IMAGE@#$(at "$IMAGE")#g" -e "s#@ROOTFS_TYPE@#$ROOTFS_TYPE#g" \
	packages/shim/config/configuration.toml.in >"$TMP/configuration.toml"
install_file "$TMP/configuration.toml" "$DESTDIR$CONF_DIR/configuration.toml" 0644

if [ -z "$DESTDIR" ] && [ "${KATA_TS_SKIP_TEMPLATE:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then
	say "VM template: $("$PREFIX/bin/kata-ts" factory init 2>&1 | tail -1)" || say "VM template not made now (the shim makes it for the first pod)"
fi
# kata-ts monitor's unit ships installed but not enabled: metrics are the operator's choice.
if [ -z "$DESTDIR" ] && [ "$(id -u)" = 0 ] && [ -d /etc/systemd/system ]; then
	sed "s#/usr/local/bin/kata-ts#$PREFIX/bin/kata-ts#" packages/cli/systemd/kata-ts-monitor.service >"$TMP/kata-ts-monitor.service"
	install_file "$TMP/kata-ts-monitor.service" /etc/systemd/system/kata-ts-monitor.service 0644
fi
# The warm VM pool (a no-op when the configuration's vm_cache_number is 0). Restarted on every
# install so it runs the code just installed; VMs it already handed to pods stay with them.
if [ -z "$DESTDIR" ] && [ "${KATA_TS_SKIP_FACTORY:-0}" != 1 ] && [ "$(id -u)" = 0 ]; then
	if [ -d /etc/systemd/system ]; then
		sed "s#/usr/local/bin/kata-ts#$PREFIX/bin/kata-ts#" packages/cli/systemd/kata-ts-factory.service >"$TMP/kata-ts-factory.service"
		install_file "$TMP/kata-ts-factory.service" /etc/systemd/system/kata-ts-factory.service 0644
	fi
	"$PREFIX/bin/kata-ts" factory stop >/dev/null || true
	if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
		systemctl daemon-reload && systemctl enable --now kata-ts-factory.service && systemctl restart kata-ts-factory.service
		say "VM pool: kata-ts-factory.service (re)started"
	elif [ "$(sed -n 's/^vm_cache_number = \([0-9]*\).*/\1/p' "$CONF_DIR/configuration.toml")" != 0 ]; then
		setsid "$PREFIX/bin/kata-ts" factory serve >>/var/log/kata-ts-factory.log 2>&1 </dev/null &
		say "VM pool: kata-ts factory serve started (pid $!, log /var/log/kata-ts-factory.log; kata-ts factory status)"
	fi
fi
say "done: $("$DESTDIR$PREFIX/bin/containerd-shim-kata-v2" -v | tr '\n' ' ')"
