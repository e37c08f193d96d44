#!/usr/bin/env bash
# Which node is smaller in the guest: the host's /usr/bin/node (stripped), or Debian's nodejs package with
# the shared libraries and JS modules it needs that the host node does not (libc, libstdc++, libgcc are
# needed by both and left out)? Downloads the Debian .debs (apt-get download) into images/cache/node-compare/.
# The result is recorded in images/lib/node-choice.json.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
W=$HERE/../cache/node-compare
rm -rf "$W" && mkdir -p "$W/debs" "$W/tree"
cd "$W/debs"
PKGS="nodejs libnode108 libicu72 libuv1 libc-ares2 libnghttp2-14 libbrotli1 libssl3 zlib1g node-acorn node-cjs-module-lexer node-undici"
V=$(apt-cache policy nodejs | awk '/debian/ {print prev} {prev=$1}' | head -1)
apt-get download -qq "nodejs=$V" $(echo "$PKGS" | cut -d' ' -f2-) 2>/dev/null
for f in *.deb; do dpkg-deb -x "$f" "$W/tree"; done
rm -rf "$W/tree/usr/share/doc" "$W/tree/usr/share/man" "$W/tree/usr/share/lintian"
deb_bytes=$(du -sb "$W/tree" | cut -f1)
deb_zst=$(tar -C "$W/tree" -cf - . | zstd -19 -T0 -q -c | wc -c)
strip --strip-all -o "$W/node.host" /usr/bin/node
host_bytes=$(stat -c %s "$W/node.host")
host_zst=$(zstd -19 -T0 -q -c "$W/node.host" | wc -c)
echo "host   $(/usr/bin/node --version) stripped: $host_bytes bytes, zstd -19: $host_zst bytes"
echo "debian nodejs $V + libs: $deb_bytes bytes, zstd -19: $deb_zst bytes"
