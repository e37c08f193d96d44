/**
 * Kata's UpdateRoutes as ip(8) commands (pure): the guest's current routes that the kernel did not
 * make itself are deleted, then the requested routes are added, those without a gateway first (a
 * gateway must be reachable when its route goes in). Requests are validated here.
 */
import net from 'node:net';
import { InvalidArgumentError } from '../errors';
import type { Route } from '../proto';

export const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;
const IPV6 = 1;
/** RTNH_F_ONLINK */
const ONLINK = 4;
const SCOPE_LINK = 253;
const SCOPE_HOST = 254;

/** "" / "default" → "default"; "a.b.c.d/n" or an address → checked and returned. */
export function routeDest(dest: string, family: number): string {
  if (dest === '' || dest === 'default') return 'default';
  const [ip, bits, ...rest] = dest.split('/');
  const v = net.isIP(ip ?? '');
  if (rest.length || !v || (v === 6) !== (family === IPV6)) throw new InvalidArgumentError(`invalid route destination ${JSON.stringify(dest)}`);
  if (bits !== undefined && !(/^\d{1,3}$/.test(bits) && Number(bits) <= (v === 6 ? 128 : 32))) {
    throw new InvalidArgumentError(`invalid prefix in route destination ${JSON.stringify(dest)}`);
  }
  return dest;
}

/** Throws INVALID_ARGUMENT for a route that cannot be right. */
export function checkRoute(r: Route): void {
  if (!IFNAME.test(r.device ?? '')) throw new InvalidArgumentError(`invalid route device ${JSON.stringify(r.device ?? '')}`);
  routeDest(r.dest ?? '', r.family ?? 0);
  for (const [what, ip] of [['gateway', r.gateway], ['source', r.source]] as const) {
    if (ip && net.isIP(ip) !== (r.family === IPV6 ? 6 : 4)) throw new InvalidArgumentError(`invalid route ${what} ${JSON.stringify(ip)}`);
  }
  if (r.mtu !== undefined && r.mtu !== null && (r.mtu < 0 || r.mtu > 65535)) throw new InvalidArgumentError(`invalid route mtu ${r.mtu}`);
}

/** `ip [-6] route replace ...` for one route. */
export function addArgs(r: Route): string[] {
  const args = ['route', 'replace', routeDest(r.dest ?? '', r.family ?? 0)];
  if (r.gateway) args.push('via', r.gateway);
  args.push('dev', r.device!);
  if ((r.flags ?? 0) & ONLINK) args.push('onlink');
  if (r.scope === SCOPE_LINK) args.push('scope', 'link');
  else if (r.scope === SCOPE_HOST) args.push('scope', 'host');
  if (r.source) args.push('src', r.source);
  if (r.mtu) args.push('mtu', String(r.mtu));
  return r.family === IPV6 ? ['-6', ...args] : args;
}

/** `ip [-6] route del ...` for one current route. */
export function delArgs(r: Route): string[] {
  const args = ['route', 'del', r.dest ? r.dest : 'default'];
  if (r.gateway) args.push('via', r.gateway);
  args.push('dev', r.device!);
  return r.family === IPV6 ? ['-6', ...args] : args;
}

/**
 * The commands of an UpdateRoutes. `connected` holds "<dev> <prefix>" of the routes the kernel made
 * for the interfaces' addresses; those, loopback's and IPv6 link-local/multicast ones stay.
 */
export function planRouteUpdate(current: readonly Route[], connected: ReadonlySet<string>, wanted: readonly Route[]): string[][] {
  for (const r of wanted) checkRoute(r);
  const keep = (r: Route): boolean =>
    r.device === 'lo' || (!r.gateway && connected.has(`${r.device} ${r.dest}`)) || /^(fe80:|ff[0-9a-f]{2}:)/i.test(r.dest ?? '');
  const dels = current.filter((r) => !keep(r)).map(delArgs);
  const adds = [...wanted].sort((a, b) => Number(!!a.gateway) - Number(!!b.gateway)).map(addArgs);
  return [...dels, ...adds];
}
