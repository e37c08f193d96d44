/**
 * Memory hot-plug over QMP: one pc-dimm backed by RAM, then waiting until the guest has taken it
 * (its ACPI _OST status). Shared by the QEMU the shim starts and the pool VM it adopts.
 */
import type { QmpClient } from './qmp';

/** Adds DIMM number `n` of `mib` MiB and resolves once the guest accepted it. */
export async function hotplugDimm(qmp: QmpClient, n: number, mib: number, timeoutMs: number): Promise<void> {
  await qmp.execute('object-add', { 'qom-type': 'memory-backend-ram', id: `hotmem${n}`, size: mib * 1048576 });
  await qmp.execute('device_add', { driver: 'pc-dimm', id: `dimm${n}`, memdev: `hotmem${n}` });
  await waitForGuestInsert(qmp, `dimm${n}`, timeoutMs);
}

/**
 * Waits until the guest has processed a device's ACPI insert event (its _OST status, which QEMU
 * reports in query-acpi-ospm-status): only then is hot-plugged memory there (and, with
 * memhp_default_state=online, online).
 */
async function waitForGuestInsert(qmp: QmpClient, device: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = (await qmp.execute('query-acpi-ospm-status')) as Array<{ device?: string; source: number; status: number }>;
    const mine = status.find((s) => s.device === device);
    // source 1: insert event; status 0: success (ACPI _OST codes).
    if (mine && mine.source === 1 && mine.status === 0) return;
    if (mine && mine.source === 1 && mine.status !== 0x80) throw new Error(`the guest refused ${device} (ACPI _OST status ${mine.status})`);
    if (Date.now() >= deadline) throw new Error(`the guest did not take ${device} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
