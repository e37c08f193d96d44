/**
 * Parsers of iproute2's JSON output (`ip -json -details addr show`, `ip -json route show`). Pure:
 * the text in, typed records out; anything malformed is an error naming what was wrong.
 */
import type { HostLink, HostRoute, IpAddr } from './types';

type Json = Record<string, unknown>;

function parseArray(text: string, what: string): Json[] {
  let v: unknown;
  try {
    v = JSON.parse(text.trim() || '[]');
  } catch (err) {
    throw new Error(`cannot parse ${what}: ${(err as Error).message}`);
  }
  if (!Array.isArray(v)) throw new Error(`${what} is not a JSON array`);
  return v.filter((x): x is Json => typeof x === 'object' && x !== null);
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** rtnetlink scope numbers by ip(8)'s names. */
const SCOPES: Record<string, number> = { global: 0, universe: 0, site: 200, link: 253, host: 254, nowhere: 255 };

/** `ip -json -details addr show` → links with their addresses. */
export function parseLinks(text: string): HostLink[] {
  return parseArray(text, 'ip addr output').map((l) => {
    const info = (l.linkinfo ?? {}) as Json;
    const addresses: IpAddr[] = (Array.isArray(l.addr_info) ? (l.addr_info as Json[]) : [])
      .filter((a) => a.family === 'inet' || a.family === 'inet6')
      .map((a) => ({ family: a.family === 'inet6' ? 6 : 4, address: str(a.local), prefix: num(a.prefixlen), scope: str(a.scope) || 'global' }));
    return {
      ifindex: num(l.ifindex),
      name: str(l.ifname),
      linkType: str(l.link_type),
      kind: str(info.info_kind),
      mac: str(l.address).toLowerCase(),
      mtu: num(l.mtu),
      addresses,
    };
  });
}

/** `ip -json [-6] route show table main` → routes of one family. */
export function parseRoutes(text: string, family: 4 | 6): HostRoute[] {
  return parseArray(text, 'ip route output').filter((r) => !r.type || r.type === 'unicast').map((r) => {
    const metrics = Array.isArray(r.metrics) ? (r.metrics as Json[]) : [];
    const scope = str(r.scope);
    return {
      family,
      dest: str(r.dst) === 'default' ? '' : str(r.dst),
      gateway: str(r.gateway),
      device: str(r.dev),
      source: str(r.prefsrc),
      scope: scope ? (SCOPES[scope] ?? (Number(scope) || 0)) : 0,
      protocol: str(r.protocol),
      onlink: Array.isArray(r.flags) && r.flags.includes('onlink'),
      mtu: num(metrics.find((m) => typeof m.mtu === 'number')?.mtu),
    };
  });
}
