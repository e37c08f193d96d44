/**
 * Which interfaces of a pod netns become VM NICs, and under which names (Kata's endpoint scan):
 * every ethernet link with at least one address, except loopback and taps (ours included, so a
 * rescan never wires a tap to itself). Endpoint i gets tap<i>_kata on the host and eth<i> in the guest.
 */
import type { Endpoint, HostLink } from './types';

/** Guest PCI slot of NIC 0 on the root bus: far above the slots QEMU gives the devices before it. */
export const FIRST_NIC_PCI_SLOT = 0x10;
/** At most this many NICs (slots 0x10..0x17). */
export const MAX_ENDPOINTS = 8;

const TAP_NAME = /^tap\d+_kata$/;

/** Is this link a candidate endpoint? */
export function isEndpointLink(l: HostLink): boolean {
  if (l.linkType !== 'ether' || !l.mac || l.mac === '00:00:00:00:00:00') return false;
  if (l.kind === 'tun' || l.kind === 'bridge' || TAP_NAME.test(l.name)) return false;
  // Kata ignores unconfigured links (base tunnel devices, half-set-up interfaces).
  return l.addresses.length > 0;
}

/** The endpoints of a netns, in ifindex order. */
export function planEndpoints(links: readonly HostLink[]): Endpoint[] {
  const chosen = links.filter(isEndpointLink).sort((a, b) => a.ifindex - b.ifindex);
  if (chosen.length > MAX_ENDPOINTS) throw new Error(`the pod netns has ${chosen.length} interfaces; at most ${MAX_ENDPOINTS} are supported`);
  return chosen.map((l, index) => ({
    index,
    veth: l.name,
    tap: `tap${index}_kata`,
    guestName: `eth${index}`,
    mac: l.mac,
    mtu: l.mtu || 1500,
    addresses: l.addresses,
    pciSlot: FIRST_NIC_PCI_SLOT + index,
  }));
}

/** Kata's PCI path of a device on the root bus: its slot as two hex digits. */
export function pciPath(slot: number): string {
  return slot.toString(16).padStart(2, '0');
}
