/**
 * What the shim knows about a pod's network: the endpoints found in the pod's network namespace
 * (one per veth-like interface) and the routes through them, as read from the host.
 */

export interface IpAddr {
  family: 4 | 6;
  address: string;
  prefix: number;
  /** ip(8)'s scope name: global, link, host. */
  scope: string;
}

/** A link of the pod netns as `ip -json -details addr show` describes it. */
export interface HostLink {
  ifindex: number;
  name: string;
  /** link_type: ether, loopback, none... */
  linkType: string;
  /** linkinfo.info_kind: veth, tun, bridge, macvlan... ('' when none). */
  kind: string;
  mac: string;
  mtu: number;
  addresses: IpAddr[];
}

/** A route of the pod netns's main table. */
export interface HostRoute {
  family: 4 | 6;
  /** "a.b.c.d/n", or "" for the default route. */
  dest: string;
  gateway: string;
  device: string;
  /** prefsrc */
  source: string;
  /** rtnetlink scope number: 0 universe, 253 link, 254 host. */
  scope: number;
  /** ip(8)'s protocol name ("kernel", "boot", "static", ...; "" when ip omits it: boot). */
  protocol: string;
  onlink: boolean;
  mtu: number;
}

/** One pod interface wired to the VM with a tap and two tc mirred filters (Kata's tcfilter model). */
export interface Endpoint {
  index: number;
  /** The interface in the pod netns (CNI's eth0, a veth). */
  veth: string;
  /** tap<index>_kata, created next to it in the pod netns. */
  tap: string;
  /** eth<index>: the NIC's name in the guest. */
  guestName: string;
  /** The veth's MAC, given to the guest NIC so the pod keeps its identity on the wire. */
  mac: string;
  mtu: number;
  addresses: IpAddr[];
  /** PCI slot of the NIC on the guest's root bus (Kata's PCI path is this slot in hex). */
  pciSlot: number;
}
