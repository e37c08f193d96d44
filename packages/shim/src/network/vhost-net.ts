/**
 * Whether QEMU may use vhost-net for the NICs: only when /dev/vhost-net exists and opens read-write
 * (a container or a host without the module has no such device, and QEMU would fail to start).
 */
import { promises as fs } from 'node:fs';

export interface VhostNetProbe {
  vhost: boolean;
  reason: string;
}

export async function probeVhostNet(device = '/dev/vhost-net'): Promise<VhostNetProbe> {
  try {
    const h = await fs.open(device, 'r+');
    await h.close();
    return { vhost: true, reason: `${device} opens read-write` };
  } catch (err) {
    return { vhost: false, reason: `${device}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` };
  }
}
