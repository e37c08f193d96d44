/**
 * QEMU arguments of a pod's NICs (Kata's tcfilter endpoints): a tap netdev opened by name and a
 * virtio-net-pci device with the veth's MAC at a fixed slot of the root bus.
 *
 * QEMU opens the tap itself (ifname=, script=no,downscript=no) and therefore runs inside the pod's
 * network namespace (qemu.ts starts it through `nsenter --net`): TUNSETIFF looks the name up in the
 * netns of the process that opens /dev/net/tun, and the tap was created there. Handing QEMU an open
 * fd instead would need an ioctl node cannot make without a native helper; entering the netns is
 * robust because QEMU uses no other network resource (the agent channel and the share are unix
 * sockets, files or vsock, none of which depend on the network namespace).
 */
import type { NicSpec } from './hypervisor';

/** QEMU option values escape commas by doubling them. */
const opt = (v: string): string => v.replace(/,/g, ',,');

export function nicArgs(nics: readonly NicSpec[]): string[] {
  const args: string[] = [];
  for (const n of nics) {
    args.push(
      '-netdev', `tap,id=${n.id},ifname=${opt(n.tap)},script=no,downscript=no,vhost=${n.vhost ? 'on' : 'off'}`,
      // romfile= (empty): no iPXE option ROM; the kernel is booted directly.
      '-device', `virtio-net-pci,netdev=${n.id},mac=${n.mac},bus=pcie.0,addr=0x${n.pciSlot.toString(16)},romfile=`,
    );
  }
  return args;
}
