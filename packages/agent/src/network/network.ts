import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors';
import type { ARPNeighbor, Interface, IPAddress, NetworkStats, Route } from '../proto';
import { run } from '../system/exec';
import { parseNetDev, parseRoutes4, parseRoutes6 } from './parse';

const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;
const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

function checkIp(ip: string, what: string): void {
  if (!net.isIP(ip)) throw new InvalidArgumentError(`invalid ${what} ${JSON.stringify(ip)}`);
}

/** "a.b.c.d/n" or "" (default); throws for anything else. */
function checkCidr(dest: string): string {
  if (dest === '' || dest === 'default') return 'default';
  const [ip, bits, ...rest] = dest.split('/');
  if (rest.length || !ip) throw new InvalidArgumentError(`invalid route destination ${JSON.stringify(dest)}`);
  checkIp(ip, 'route destination');
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) throw new InvalidArgumentError(`invalid prefix in ${JSON.stringify(dest)}`);
  return dest;
}

/**
 * The guest's network configuration: listed from sysfs and /proc, changed with ip(8). On a host the
 * agent refuses to change anything.
 */
export class Network {
  constructor(
    private readonly mutable: boolean,
    private readonly sysRoot = '/sys',
  ) {}

  async listInterfaces(): Promise<Interface[]> {
    const dir = path.join(this.sysRoot, 'class/net');
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    const addrs = os.networkInterfaces();
    const out: Interface[] = [];
    for (const name of names.sort()) {
      const read = (f: string): Promise<string> => fs.readFile(path.join(dir, name, f), 'utf8').then((s) => s.trim(), () => '');
      const [mac, mtu, flags, type] = await Promise.all([read('address'), read('mtu'), read('flags'), read('type')]);
      const ips: IPAddress[] = (addrs[name] ?? []).map((a) => ({
        family: a.family === 'IPv6' ? 1 : 0,
        address: a.address,
        mask: a.cidr ? a.cidr.split('/')[1]! : '',
      }));
      out.push({
        device: name, name, IPAddresses: ips, mtu: Number(mtu) || 0, hwAddr: mac, devicePath: '',
        type: type === '772' ? 'loopback' : type === '1' ? 'ether' : type, rawFlags: parseInt(flags || '0', 16) || 0,
      });
    }
    return out;
  }

  async listRoutes(): Promise<Route[]> {
    const [v4, v6] = await Promise.all([
      fs.readFile('/proc/net/route', 'utf8').catch(() => ''),
      fs.readFile('/proc/net/ipv6_route', 'utf8').catch(() => ''),
    ]);
    return [...parseRoutes4(v4), ...parseRoutes6(v6)];
  }

  async stats(): Promise<NetworkStats[]> {
    return parseNetDev(await fs.readFile('/proc/net/dev', 'utf8').catch(() => '')).filter((s) => s.name !== 'lo');
  }

  /** Kata's UpdateInterface: the link is found by MAC (names differ between host and guest). */
  async updateInterface(i: Interface): Promise<Interface> {
    this.checkMutable();
    if (!i.hwAddr || !MAC.test(i.hwAddr)) throw new InvalidArgumentError(`invalid hwAddr ${JSON.stringify(i.hwAddr)}`);
    if (i.name && !IFNAME.test(i.name)) throw new InvalidArgumentError(`invalid interface name ${JSON.stringify(i.name)}`);
    for (const a of i.IPAddresses ?? []) {
      checkIp(a.address ?? '', 'address');
      if (a.mask && !/^\d{1,3}$/.test(a.mask)) throw new InvalidArgumentError(`invalid mask ${JSON.stringify(a.mask)}`);
    }
    const link = (await this.listInterfaces()).find((l) => l.hwAddr?.toLowerCase() === i.hwAddr!.toLowerCase());
    if (!link) throw new NotFoundError(`Link not found: no interface with hwAddr ${i.hwAddr}`);
    let dev = link.name!;
    await run('ip', ['link', 'set', 'dev', dev, 'down']);
    if (i.name && i.name !== dev) {
      await run('ip', ['link', 'set', 'dev', dev, 'name', i.name]);
      dev = i.name;
    }
    if (i.mtu) await run('ip', ['link', 'set', 'dev', dev, 'mtu', String(i.mtu)]);
    await run('ip', ['addr', 'flush', 'dev', dev]);
    for (const a of i.IPAddresses ?? []) {
      const bits = a.mask || (a.family === 1 ? '128' : '32');
      await run('ip', ['addr', 'add', `${a.address}/${bits}`, 'dev', dev]);
    }
    await run('ip', ['link', 'set', 'dev', dev, 'up']);
    return (await this.listInterfaces()).find((l) => l.name === dev) ?? i;
  }

  /** Kata's UpdateRoutes: the routes of the devices named are replaced by the ones given. */
  async updateRoutes(routes: Route[]): Promise<Route[]> {
    this.checkMutable();
    for (const r of routes) {
      if (!IFNAME.test(r.device ?? '')) throw new InvalidArgumentError(`invalid route device ${JSON.stringify(r.device)}`);
      checkCidr(r.dest ?? '');
      if (r.gateway) checkIp(r.gateway, 'gateway');
      if (r.source) checkIp(r.source, 'route source');
    }
    for (const dev of new Set(routes.map((r) => r.device!))) {
      await run('ip', ['route', 'flush', 'dev', dev]).catch(() => undefined);
    }
    // Routes without a gateway first: gateways must be reachable when their route is added.
    const ordered = [...routes].sort((a, b) => Number(!!a.gateway) - Number(!!b.gateway));
    for (const r of ordered) {
      const args = ['route', 'replace', checkCidr(r.dest ?? '')];
      if (r.gateway) args.push('via', r.gateway);
      args.push('dev', r.device!);
      if (r.source) args.push('src', r.source);
      if (r.scope === 253) args.push('scope', 'link');
      if (r.mtu) args.push('mtu', String(r.mtu));
      if (r.family === 1) args.unshift('-6');
      await run('ip', args);
    }
    return this.listRoutes();
  }

  async addArpNeighbors(neighbors: ARPNeighbor[]): Promise<void> {
    this.checkMutable();
    for (const n of neighbors) {
      const ip = n.toIPAddress?.address ?? '';
      checkIp(ip, 'neighbor address');
      if (!MAC.test(n.lladdr ?? '')) throw new InvalidArgumentError(`invalid lladdr ${JSON.stringify(n.lladdr)}`);
      if (!IFNAME.test(n.device ?? '')) throw new InvalidArgumentError(`invalid device ${JSON.stringify(n.device)}`);
    }
    for (const n of neighbors) {
      await run('ip', ['neigh', 'replace', n.toIPAddress!.address!, 'lladdr', n.lladdr!, 'dev', n.device!, 'nud', 'permanent']);
    }
  }

  private checkMutable(): void {
    if (!this.mutable) throw new FailedPreconditionError('host mode: the agent does not change the network');
  }
}
