import { promises as fs } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, NotFoundError } from '../errors';

/** "02/03" or "02.0/03.1": one slot(.function) per bridge hop, as Kata's PCI paths. */
export function parsePciPath(p: string): string[] {
  const segs = p.split('/');
  if (segs.length === 0 || segs.length > 8) throw new InvalidArgumentError(`invalid PCI path ${JSON.stringify(p)}`);
  return segs.map((s) => {
    const m = /^([0-9a-fA-F]{2})(?:\.([0-7]))?$/.exec(s);
    if (!m) throw new InvalidArgumentError(`invalid PCI path ${JSON.stringify(p)}`);
    return `${m[1]!.toLowerCase()}.${m[2] ?? '0'}`;
  });
}

/**
 * The sysfs directory of the device at a PCI path: each hop is <bus>:<slot.fn>, and the bus behind a
 * bridge is read from its pci_bus/ directory (Kata's pcipath_to_sysfs).
 */
export async function pciPathToSysfs(pciPath: string, sysRoot = '/sys'): Promise<string> {
  const segs = parsePciPath(pciPath);
  let bus = '0000:00';
  let dir = path.join(sysRoot, 'devices', 'pci0000:00');
  for (let i = 0; i < segs.length; i++) {
    dir = path.join(dir, `${bus}:${segs[i]}`);
    if (i === segs.length - 1) break;
    const buses = await fs.readdir(path.join(dir, 'pci_bus')).catch(() => [] as string[]);
    if (buses.length !== 1) throw new NotFoundError(`no single bus behind PCI bridge ${dir}`);
    bus = buses[0]!;
  }
  return dir;
}

/** The /dev name of the block device below a sysfs device directory (e.g. virtio3/block/vdb). */
export async function findBlockDevice(deviceDir: string, depth = 3): Promise<string | undefined> {
  const entries = await fs.readdir(deviceDir, { withFileTypes: true }).catch(() => []);
  const block = entries.find((e) => e.name === 'block' && e.isDirectory());
  if (block) {
    const names = await fs.readdir(path.join(deviceDir, 'block')).catch(() => [] as string[]);
    if (names[0]) return names[0];
  }
  if (depth === 0) return undefined;
  for (const e of entries) {
    if (!e.isDirectory() || e.name === 'subsystem' || e.name === 'driver' || e.name === 'power') continue;
    const found = await findBlockDevice(path.join(deviceDir, e.name), depth - 1);
    if (found) return found;
  }
  return undefined;
}
