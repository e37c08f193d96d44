/**
 * The paths of an OCI spec that the shim or the guest will follow, checked before anything is booted,
 * mounted or created: mount destinations (the guest resolves them inside the container's rootfs, and
 * the agent refuses '..' there too), bind-mount sources and overlay lower directories (host paths the
 * shim bind-mounts into the share), and a relative root path (joined to the bundle on the host). A '..'
 * component, a NUL or a relative path where an absolute one is meant is refused with INVALID_ARGUMENT,
 * so no lexical trick walks a path out of where it is meant to be. Symlinks are the resolvers' business:
 * the guest's crun resolves destinations inside the rootfs, and the share never follows one the guest
 * or the image could have planted (fs/share.ts).
 */
import { InvalidArgumentError } from '../errors';
import { isBindMount } from './guest-spec';
import { isOverlayMount, splitLowerdirs } from './overlay-mount';
import type { OciSpec } from './spec';

/** Longest path accepted (PATH_MAX). */
const PATH_MAX = 4096;

function check(p: string | undefined, what: string, absolute: boolean): void {
  if (typeof p !== 'string' || p.length === 0 || p.length > PATH_MAX) throw new InvalidArgumentError(`${what}: empty or longer than ${PATH_MAX}`);
  if (p.includes('\0')) throw new InvalidArgumentError(`${what} contains NUL`);
  if (absolute && !p.startsWith('/')) throw new InvalidArgumentError(`${what} ${JSON.stringify(p)} is not an absolute path`);
  if (p.split('/').includes('..')) throw new InvalidArgumentError(`${what} ${JSON.stringify(p)} has a '..' component`);
}

/** Throws INVALID_ARGUMENT for the first path of `spec` that could walk out of where it belongs. */
export function checkSpecPaths(spec: OciSpec): void {
  if (spec.root?.path) check(spec.root.path, 'root path', false);
  for (const m of spec.mounts ?? []) {
    check(m.destination, 'mount destination', true);
    // A bind without a source is dropped later (guest-spec.ts); a relative one is the client's business.
    if (isBindMount(m) && m.source) check(m.source, `bind mount source for ${m.destination}`, false);
    if (isOverlayMount(m)) {
      for (const option of m.options ?? []) {
        if (!option.startsWith('lowerdir=')) continue;
        for (const dir of splitLowerdirs(option.slice('lowerdir='.length))) check(dir, `overlay lowerdir for ${m.destination}`, true);
      }
    }
  }
}
