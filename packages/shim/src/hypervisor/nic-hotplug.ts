/**
 * NICs of a VM started from a template: the clone has the template's devices, so its NICs cannot be
 * on the command line. They are hot-plugged over QMP once the clone runs: the tap netdev (opened by
 * name, QEMU runs in the pod netns as for cold-plugged NICs; see qemu-nic-args.ts) and a
 * virtio-net-pci device on one of the empty PCIe root ports every template VM carries.
 */
import type { NicSpec } from './hypervisor';
import type { QmpClient } from './qmp';

/** Empty root ports in template VMs and their clones (the ids are `hp<i>`). */
export const NIC_HOTPLUG_PORTS = 4;
/** Root bus slots of the hot-plug ports (cold-plugged NICs use 0x10-0x17). */
const FIRST_PORT_SLOT = 0x18;

export function hotplugPortArgs(ports: number): string[] {
  const args: string[] = [];
  for (let i = 0; i < ports; i++) {
    args.push('-device', `pcie-root-port,id=hp${i},bus=pcie.0,chassis=${i + 1},addr=0x${(FIRST_PORT_SLOT + i).toString(16)}`);
  }
  return args;
}

export async function hotplugNics(qmp: QmpClient, nics: readonly NicSpec[], ports: number): Promise<void> {
  if (nics.length > ports) throw new Error(`${nics.length} NICs but only ${ports} hot-plug ports`);
  for (const [i, n] of nics.entries()) {
    await qmp.execute('netdev_add', { type: 'tap', id: n.id, ifname: n.tap, script: 'no', downscript: 'no', vhost: n.vhost });
    await qmp.execute('device_add', { driver: 'virtio-net-pci', netdev: n.id, mac: n.mac, bus: `hp${i}`, id: `${n.id}-nic`, romfile: '' });
  }
}
