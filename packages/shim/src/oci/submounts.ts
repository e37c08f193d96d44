/**
 * Host mounts below a shared bind-mount source, made explicit in the guest's spec.
 *
 * On a host, a non-recursive read-only bind (CRI `readonly: true` without `recursiveReadOnly`:
 * options rbind + ro) makes only the top mount read-only; a tmpfs mounted below the source stays
 * writable (runc remounts the top alone). The share reproduces that on the host (mount -o rbind,ro
 * leaves submounts as they are), but the guest sees the whole shared tree as ONE 9p filesystem, so
 * crun's read-only bind in the guest covers the submounts too and the guest refuses writes the host
 * would allow (critest "should support non-recursive readonly mounts": touch /mnt/tmpfs/file →
 * EROFS). Each host submount whose read-only state differs from what it would inherit in the guest
 * is therefore added to the spec as a bind of its own, right after its parent, with the host's
 * state. The host stays the authority: a write it refuses fails whatever the guest's flags say.
 *
 * `rro` (recursive read-only) and non-recursive binds (`bind`) are left alone: for both the guest's
 * single mount already has the right scope.
 */
import path from 'node:path';
import type { Submount } from '../fs/mount';
import { isBindMount } from './guest-spec';
import type { OciMount, OciSpec } from './spec';

/** True for a bind that carries the mounts below its source (rbind), as the share always does. */
function isRecursiveBind(m: OciMount): boolean {
  return m.type === 'rbind' || (m.options ?? []).includes('rbind');
}

/** The extra guest mounts for one shared bind mount, parents before children. */
export function submountBinds(m: OciMount, submounts: readonly Submount[]): OciMount[] {
  const options = m.options ?? [];
  if (!m.source || !isBindMount(m) || !isRecursiveBind(m) || options.includes('rro')) return [];
  const topReadonly = options.includes('ro');
  // The read-only state each mirrored path has in the guest, to know what a deeper one inherits.
  const guestState = new Map<string, boolean>();
  const inherited = (rel: string): boolean => {
    for (let dir = path.posix.dirname(rel); dir !== '.' && dir !== '/'; dir = path.posix.dirname(dir)) {
      const state = guestState.get(dir);
      if (state !== undefined) return state;
    }
    return topReadonly;
  };
  const out: OciMount[] = [];
  for (const sub of submounts) {
    const rel = path.posix.normalize(sub.path);
    // Paths come from the host's mount table below the share, never from the guest; refuse anything odd anyway.
    if (rel === '.' || rel.startsWith('../') || rel === '..' || path.posix.isAbsolute(rel)) continue;
    if (inherited(rel) === sub.readonly) continue;
    guestState.set(rel, sub.readonly);
    out.push({
      destination: path.posix.join(m.destination, rel),
      type: 'bind',
      source: path.posix.join(m.source, rel),
      options: ['rbind', sub.readonly ? 'ro' : 'rw'],
    });
  }
  return out;
}

/** Inserts, after each shared bind mount of `spec`, the binds its host submounts need (in place). */
export function mirrorSubmounts(spec: OciSpec, submountsOf: (guestSource: string) => readonly Submount[]): void {
  if (!spec.mounts) return;
  const mounts: OciMount[] = [];
  for (const m of spec.mounts) {
    mounts.push(m);
    if (m.source && isBindMount(m)) mounts.push(...submountBinds(m, submountsOf(m.source)));
  }
  spec.mounts = mounts;
}
