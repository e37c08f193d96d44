/**
 * CreateSandbox's dns list (Kata's getDNS): the lines of the file that the sandbox's spec mounts on
 * /etc/resolv.conf (CRI writes one per pod), without comments and blank lines.
 */
import { promises as fs } from 'node:fs';
import type { OciSpec } from '../oci/spec';

const RESOLV_CONF = '/etc/resolv.conf';
/** A resolv.conf is a few hundred bytes; more than this is not one. */
const MAX_BYTES = 64 << 10;

/** The non-comment lines of a resolv.conf. */
export function resolvConfLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#') && !l.startsWith(';'));
}

/** The dns entries for the guest, or [] when the spec mounts no resolv.conf (or it cannot be read). */
export async function dnsFromSpec(spec: OciSpec): Promise<string[]> {
  const mount = spec.mounts?.find((m) => m.destination === RESOLV_CONF && m.source);
  if (!mount?.source) return [];
  const handle = await fs.open(mount.source, 'r').catch(() => undefined);
  if (!handle) return [];
  try {
    const buf = Buffer.alloc(MAX_BYTES);
    const { bytesRead } = await handle.read(buf, 0, MAX_BYTES, 0);
    return resolvConfLines(buf.subarray(0, bytesRead).toString('utf8'));
  } finally {
    await handle.close();
  }
}
