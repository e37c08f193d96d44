# Sourced by the image builders (scripts/build-test-image.sh, scripts/conformance/build-images.sh):
# tar flags that make a layer byte-for-byte reproducible, and the content-addressed blob store.
# The caller sets EPOCH (the files' mtime) and BLOBS (<layout>/blobs/sha256) first.

TAR_FLAGS=(--sort=name --mtime="@${EPOCH}" --owner=0 --group=0 --numeric-owner --format=gnu)

# put_blob FILE → moves FILE into $BLOBS/<digest> and prints "<hex digest> <size>"
put_blob() {
  local digest size
  digest="$(sha256sum "$1" | cut -d' ' -f1)"
  size="$(stat -c %s "$1")"
  mv "$1" "$BLOBS/$digest"
  echo "$digest $size"
}
