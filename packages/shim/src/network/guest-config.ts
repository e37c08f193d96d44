/**
 * What the agent is told about the pod's network (Kata's generateVCNetworkStructures): one
 * interface per endpoint, named eth<i>, with the veth's addresses, MTU and MAC, and the routes
 * through the endpoints that the guest kernel does not make itself (Kata's validGuestRoute).
 */
import type { NetInterface, NetRoute } from '../agent/types';
import { pciPath } from './endpoints';
import type { Endpoint, HostRoute, IpAddr } from './types';

/** Addresses the guest gets: not loopback, and not IPv6 link-local (the guest derives the same one from the MAC). */
function guestAddress(a: IpAddr): boolean {
  if (a.scope === 'host') return false;
  if (a.family === 6 && (a.scope === 'link' || /^fe[89ab]/i.test(a.address))) return false;
  return true;
}

export function guestInterfaces(endpoints: readonly Endpoint[]): NetInterface[] {
  return endpoints.map((e) => ({
    device: e.guestName,
    name: e.guestName,
    ipAddresses: e.addresses.filter(guestAddress).map((a) => ({ family: a.family, address: a.address, prefix: a.prefix })),
    mtu: e.mtu,
    hwAddr: e.mac,
    devicePath: pciPath(e.pciSlot),
    type: 'veth',
    rawFlags: 0,
  }));
}

/**
 * Kata's validGuestRoute: routes the kernel made (protocol kernel: the subnet of an address) are left
 * to the guest's kernel, which makes them when the address is added.
 */
export function validGuestRoute(r: HostRoute): boolean {
  if (r.protocol === 'kernel') return false;
  if (r.family === 6 && /^(fe80:|ff[0-9a-f]{2}:)/i.test(r.dest)) return false;
  return true;
}

/** The routes of the endpoints' devices, renamed to the guest's devices. */
export function guestRoutes(routes: readonly HostRoute[], endpoints: readonly Endpoint[]): NetRoute[] {
  const byVeth = new Map(endpoints.map((e) => [e.veth, e.guestName]));
  const out: NetRoute[] = [];
  for (const r of routes) {
    const device = byVeth.get(r.device);
    if (!device || !validGuestRoute(r)) continue;
    const dest = r.dest && !r.dest.includes('/') ? `${r.dest}/${r.family === 6 ? 128 : 32}` : r.dest;
    out.push({
      dest, gateway: r.gateway, device, source: r.source, scope: r.scope, family: r.family,
      flags: r.onlink ? ONLINK : 0, mtu: r.mtu,
    });
  }
  return out;
}

/** RTNH_F_ONLINK, as Kata puts it in Route.flags. */
export const ONLINK = 4;
