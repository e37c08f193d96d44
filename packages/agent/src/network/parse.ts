// Parsers of the kernel's network tables (/proc/net/route, /proc/net/ipv6_route, /proc/net/dev).
import type { NetworkStats, Route } from '../proto';

const IPV4 = 0;
const IPV6 = 1;

/** Little-endian hex IPv4 of /proc/net/route → dotted quad. */
export function hexToIpv4(hex: string): string {
  const n = parseInt(hex, 16) >>> 0;
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
}

/** Prefix length of a dotted-quad netmask. */
export function maskBits(mask: string): number {
  return mask.split('.').reduce((acc, o) => acc + (Number(o) >>> 0).toString(2).split('1').length - 1, 0);
}

/** 32 hex digits → compressed IPv6 text. */
export function hexToIpv6(hex: string): string {
  const groups = hex.match(/.{4}/g)!.map((g) => parseInt(g, 16).toString(16));
  // Compress the longest run of zero groups.
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (bestLen < 2) return groups.join(':');
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/** IPv4 routes of /proc/net/route (Kata's Route shape: dest "a.b.c.d/n", "" for default). */
export function parseRoutes4(text: string): Route[] {
  const out: Route[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 11) continue;
    const [iface, dest, gw, flags, , , , mask, mtu] = f;
    if (!(Number.parseInt(flags!, 16) & 1)) continue; // RTF_UP
    const bits = maskBits(hexToIpv4(mask!));
    const d = hexToIpv4(dest!);
    out.push({
      dest: d === '0.0.0.0' && bits === 0 ? '' : `${d}/${bits}`,
      gateway: gw === '00000000' ? '' : hexToIpv4(gw!),
      device: iface!,
      source: '',
      scope: gw === '00000000' ? 253 : 0,
      family: IPV4,
      flags: 0,
      mtu: Number(mtu) || 0,
    });
  }
  return out;
}

/** IPv6 routes of /proc/net/ipv6_route, leaving out the kernel's local and multicast ones. */
export function parseRoutes6(text: string): Route[] {
  const out: Route[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const [dest, plen, , , gw, , , , flags, iface] = f;
    const fl = parseInt(flags!, 16);
    if (!(fl & 1) || iface === 'lo' || dest!.startsWith('ff')) continue;
    const bits = parseInt(plen!, 16);
    const gateway = /^0+$/.test(gw!) ? '' : hexToIpv6(gw!);
    out.push({
      dest: bits === 0 ? '' : `${hexToIpv6(dest!)}/${bits}`,
      gateway,
      device: iface!,
      source: '',
      scope: gateway ? 0 : 253,
      family: IPV6,
      flags: 0,
      mtu: 0,
    });
  }
  return out;
}

/** /proc/net/dev → per-interface counters. */
export function parseNetDev(text: string): NetworkStats[] {
  const out: NetworkStats[] = [];
  for (const line of text.split('\n').slice(2)) {
    const m = /^\s*([^:\s]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const v = m[2]!.trim().split(/\s+/).map(Number);
    out.push({
      name: m[1]!, rxBytes: v[0] ?? 0, rxPackets: v[1] ?? 0, rxErrors: v[2] ?? 0, rxDropped: v[3] ?? 0,
      txBytes: v[8] ?? 0, txPackets: v[9] ?? 0, txErrors: v[10] ?? 0, txDropped: v[11] ?? 0,
    });
  }
  return out;
}
