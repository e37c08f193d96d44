// Parsers of busybox ip(8)'s one-line output (`ip -o addr show`), the guest's only ip(8).
import type { IPAddress } from '../proto';
import { hexToIpv6 } from './parse';

/** Addresses by interface name from `ip -o addr show` ("3: eth0    inet 10.0.0.2/24 scope global eth0\ ..."). */
export function parseAddrOneline(text: string): Map<string, IPAddress[]> {
  const out = new Map<string, IPAddress[]>();
  for (const line of text.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+(inet6?)\s+([0-9a-fA-F:.]+)\/(\d{1,3})\b/.exec(line);
    if (!m) continue;
    const name = m[1]!.replace(/@.*$/, '');
    const list = out.get(name) ?? [];
    list.push({ family: m[2] === 'inet6' ? 1 : 0, address: m[3]!, mask: m[4]! });
    out.set(name, list);
  }
  return out;
}

/** The network prefix of an IPv4 address ("10.0.0.5", 24 → "10.0.0.0/24"), for connected routes. */
export function ipv4Network(address: string, bits: number): string {
  const n = address.split('.').reduce((acc, o) => ((acc << 8) | (Number(o) & 255)) >>> 0, 0);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const net = (n & mask) >>> 0;
  return `${[net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join('.')}/${bits}`;
}

/** The 32 hex digits of an IPv6 address ("fd00::5" → "fd00...0005"). */
export function ipv6Hex(address: string): string {
  const [head = '', tail = ''] = address.includes('::') ? address.split('::') : [address, ''];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return groups.map((g) => g.padStart(4, '0')).join('').toLowerCase();
}

/** The network prefix of an IPv6 address in /proc/net/ipv6_route's compressed form ("fd00::5", 64 → "fd00::/64"). */
export function ipv6Network(address: string, bits: number): string {
  const bin = [...ipv6Hex(address)].map((c) => parseInt(c, 16).toString(2).padStart(4, '0')).join('');
  const masked = bin.slice(0, bits).padEnd(128, '0');
  const hex = masked.match(/.{4}/g)!.map((b) => parseInt(b, 2).toString(16)).join('');
  return `${hexToIpv6(hex)}/${bits}`;
}
