/**
 * Waiting for a NIC to show up in the guest: the virtio-net driver is normally loaded at boot (the
 * image's module list), but if no link with the MAC exists yet and the driver is not loaded, the
 * agent loads it (`modprobe virtio_net`, idempotent) and polls /sys/class/net, for a bounded time.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface LinkWaitOps {
  /** MAC (lower case) → interface name, as /sys/class/net says now. */
  linksByMac(): Promise<Map<string, string>>;
  /** Loads the virtio-net driver (no-op when loaded or built in). */
  loadDriver(): Promise<void>;
  /** Is the virtio-net driver present? */
  driverLoaded(): Promise<boolean>;
}

/** Default time a NIC may take to appear (PCI probe + driver load under TCG). */
export const LINK_WAIT_MS = 10_000;

/** The name of the link with `mac`, waiting for it up to `timeoutMs`; undefined if it never came. */
export async function waitForLinkByMac(ops: LinkWaitOps, mac: string, timeoutMs = LINK_WAIT_MS, pollMs = 50): Promise<string | undefined> {
  const want = mac.toLowerCase();
  const deadline = Date.now() + timeoutMs;
  let triedDriver = false;
  for (;;) {
    const name = (await ops.linksByMac()).get(want);
    if (name) return name;
    if (!triedDriver) {
      triedDriver = true;
      if (!(await ops.driverLoaded())) await ops.loadDriver().catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline) return undefined;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** LinkWaitOps on the real /sys (sysRoot for tests). */
export function sysfsLinkOps(run: (argv: string[]) => Promise<string>, sysRoot = '/sys'): LinkWaitOps {
  return {
    async linksByMac() {
      const dir = path.join(sysRoot, 'class/net');
      const out = new Map<string, string>();
      for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
        const mac = (await fs.readFile(path.join(dir, name, 'address'), 'utf8').catch(() => '')).trim().toLowerCase();
        if (mac && !out.has(mac)) out.set(mac, name);
      }
      return out;
    },
    async driverLoaded() {
      return fs.access(path.join(sysRoot, 'bus/virtio/drivers/virtio_net')).then(() => true, () => false);
    },
    async loadDriver() {
      await run(['modprobe', 'virtio_net']);
    },
  };
}
