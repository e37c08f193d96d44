/**
 * A read-only overlay mount of host directories (CRI-O's image volumes: `lowerdir=<mounted image>:<empty
 * dir>`, no upperdir) cannot be mounted in the guest as it is: the lower directories are host paths.
 * Each lower directory crosses through the share read-only, and the overlay is assembled in the guest
 * from their guest paths. A writable overlay (upperdir/workdir on the host) has no such translation
 * (the guest's overlayfs cannot write through 9p) and is refused with a clear error.
 */
import { InvalidArgumentError } from '../errors';
import type { OciMount } from './spec';

/** Splits an overlay lowerdir list on the ':' that are not escaped as '\:'. */
export function splitLowerdirs(value: string): string[] {
  return value.split(/(?<!\\):/).filter((d) => d.length > 0);
}

export function isOverlayMount(m: OciMount): boolean {
  return m.type === 'overlay';
}

/** The overlay with every lower directory replaced by where the guest sees it. */
export async function overlayForGuest(m: OciMount, share: (hostDir: string) => Promise<string>): Promise<OciMount> {
  const options: string[] = [];
  let lowers = 0;
  for (const option of m.options ?? []) {
    const [key, value = ''] = splitOption(option);
    if (key === 'upperdir' || key === 'workdir') {
      throw new InvalidArgumentError(`overlay mount at ${m.destination} has ${key}=${value}: a writable overlay of host directories cannot be mounted in the VM`);
    }
    if (key !== 'lowerdir') {
      options.push(option);
      continue;
    }
    const guestDirs: string[] = [];
    for (const dir of splitLowerdirs(value)) {
      if (!dir.startsWith('/')) throw new InvalidArgumentError(`overlay mount at ${m.destination}: lowerdir ${dir} is not an absolute path`);
      guestDirs.push(await share(dir.replace(/\\:/g, ':')));
      lowers += 1;
    }
    options.push(`lowerdir=${guestDirs.join(':')}`);
  }
  if (lowers === 0) throw new InvalidArgumentError(`overlay mount at ${m.destination} has no lowerdir`);
  return { ...m, source: 'overlay', options };
}

function splitOption(option: string): [string, string?] {
  const eq = option.indexOf('=');
  return eq < 0 ? [option] : [option.slice(0, eq), option.slice(eq + 1)];
}
