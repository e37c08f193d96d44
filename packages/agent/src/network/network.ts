import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Code, TtrpcError } from 'ttrpc-ts';
import { FailedPreconditionError, InvalidArgumentError, NotFoundError } from '../errors';
import type { ARPNeighbor, Interface, IPAddress, NetworkStats, Route } from '../proto';
import { run } from '../system/exec';
import { ipv4Network, ipv6Network, parseAddrOneline } from './ip-output';
import { sysfsLinkOps, waitForLinkByMac, type LinkWaitOps } from './link-wait';
import { parseNetDev, parseRoutes4, parseRoutes6 } from './parse';
import { IFNAME, planRouteUpdate } from './route-plan';

const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

export interface NetworkOptions {
  /** Runs a command (argv[0] from PATH); default: execFile. */
  run?: (argv: string[]) => Promise<string>;
  sysRoot?: string;
  procRoot?: string;
  /** How long UpdateInterface waits for the NIC to appear. */
  linkWaitMs?: number;
  links?: LinkWaitOps;
}

function checkAddress(a: IPAddress): string {
  const v = net.isIP(a.address ?? '');
  if (!v || (v === 6) !== (a.family === 1)) throw new InvalidArgumentError(`invalid address ${JSON.stringify(a.address ?? '')} (family ${a.family ?? 0})`);
  const max = v === 6 ? 128 : 32;
  if (a.mask && !(/^\d{1,3}$/.test(a.mask) && Number(a.mask) <= max)) throw new InvalidArgumentError(`invalid mask ${JSON.stringify(a.mask)} for ${a.address}`);
  return `${a.address}/${a.mask || max}`;
}

/** Throws INVALID_ARGUMENT for an UpdateInterface request that cannot be right. */
export function checkInterface(i: Interface): void {
  if (!i.hwAddr || !MAC.test(i.hwAddr)) throw new InvalidArgumentError(`invalid hwAddr ${JSON.stringify(i.hwAddr ?? '')}`);
  if (i.name && !IFNAME.test(i.name)) throw new InvalidArgumentError(`invalid interface name ${JSON.stringify(i.name)}`);
  const mtu = Number(i.mtu ?? 0);
  if (mtu && (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535)) throw new InvalidArgumentError(`invalid mtu ${mtu}`);
  for (const a of i.IPAddresses ?? []) checkAddress(a);
}

/**
 * The guest's network configuration: read from sysfs, /proc and `ip -o addr`, changed with ip(8)
 * (the guest's busybox ip is enough). On a host the agent refuses to change anything.
 */
export class Network {
  private readonly run: (argv: string[]) => Promise<string>;
  private readonly sysRoot: string;
  private readonly procRoot: string;
  private readonly links: LinkWaitOps;

  constructor(
    private readonly mutable: boolean,
    private readonly options: NetworkOptions = {},
  ) {
    this.run = options.run ?? ((argv) => run(argv[0]!, argv.slice(1)));
    this.sysRoot = options.sysRoot ?? '/sys';
    this.procRoot = options.procRoot ?? '/proc';
    this.links = options.links ?? sysfsLinkOps(this.run, this.sysRoot);
  }

  private ip(args: string[]): Promise<string> {
    return this.run(['ip', ...args]);
  }

  async listInterfaces(): Promise<Interface[]> {
    const dir = path.join(this.sysRoot, 'class/net');
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    const addrs = parseAddrOneline(await this.ip(['-o', 'addr', 'show']).catch(() => ''));
    const out: Interface[] = [];
    for (const name of names.sort()) {
      const read = (f: string): Promise<string> => fs.readFile(path.join(dir, name, f), 'utf8').then((s) => s.trim(), () => '');
      const [mac, mtu, flags, type] = await Promise.all([read('address'), read('mtu'), read('flags'), read('type')]);
      out.push({
        device: name, name, IPAddresses: addrs.get(name) ?? [], mtu: Number(mtu) || 0, hwAddr: mac, devicePath: '',
        type: type === '772' ? 'loopback' : type === '1' ? 'ether' : type, rawFlags: parseInt(flags || '0', 16) || 0,
      });
    }
    return out;
  }

  async listRoutes(): Promise<Route[]> {
    const [v4, v6] = await Promise.all([
      fs.readFile(path.join(this.procRoot, 'net/route'), 'utf8').catch(() => ''),
      fs.readFile(path.join(this.procRoot, 'net/ipv6_route'), 'utf8').catch(() => ''),
    ]);
    return [...parseRoutes4(v4), ...parseRoutes6(v6)];
  }

  async stats(): Promise<NetworkStats[]> {
    return parseNetDev(await fs.readFile(path.join(this.procRoot, 'net/dev'), 'utf8').catch(() => '')).filter((s) => s.name !== 'lo');
  }

  /**
   * Kata's UpdateInterface: the link is found by MAC (names differ between host and guest), waiting
   * for it (and loading virtio_net) if the NIC is still being probed; then down, addresses, name
   * (a link already holding the name moves to <name>_temp), MTU, up.
   */
  async updateInterface(i: Interface): Promise<Interface> {
    this.checkMutable();
    checkInterface(i);
    const current = await waitForLinkByMac(this.links, i.hwAddr!, this.options.linkWaitMs);
    if (!current) throw new NotFoundError(`Link not found: no interface with hwAddr ${i.hwAddr} appeared`);
    let dev = current;
    await this.ip(['link', 'set', 'dev', dev, 'down']);
    await this.ip(['addr', 'flush', 'dev', dev]);
    for (const a of i.IPAddresses ?? []) await this.ip([...(a.family === 1 ? ['-6'] : []), 'addr', 'add', checkAddress(a), 'dev', dev]);
    if (i.name && i.name !== dev) {
      const names = await fs.readdir(path.join(this.sysRoot, 'class/net')).catch(() => [] as string[]);
      if (names.includes(i.name)) {
        await this.ip(['link', 'set', 'dev', i.name, 'down']);
        await this.ip(['link', 'set', 'dev', i.name, 'name', `${i.name}_temp`.slice(0, 15)]);
      }
      await this.ip(['link', 'set', 'dev', dev, 'name', i.name]);
      dev = i.name;
    }
    if (i.mtu) await this.ip(['link', 'set', 'dev', dev, 'mtu', String(i.mtu)]);
    await this.ip(['link', 'set', 'dev', dev, 'up']);
    const now = (await this.listInterfaces()).find((l) => l.name === dev);
    return now ? { ...now, devicePath: i.devicePath ?? '' } : i;
  }

  /** Kata's UpdateRoutes: every route the kernel did not make goes, then the ones given are added. */
  async updateRoutes(routes: Route[]): Promise<Route[]> {
    this.checkMutable();
    const ifaces = await this.listInterfaces();
    const known = new Set(ifaces.map((l) => l.name));
    const plan = planRouteUpdate(await this.listRoutes(), connectedRoutes(ifaces), routes);
    for (const r of routes) {
      if (!known.has(r.device!)) throw new NotFoundError(`route device ${r.device} not found`);
    }
    for (const args of plan) {
      const deleting = args.includes('del');
      await this.ip(args).catch((err: Error) => {
        if (!deleting) throw err; // a route already gone with its peer is fine
      });
    }
    return this.listRoutes();
  }

  /** Static neighbours (busybox `arp -s`; IPv6 neighbours are not supported by the guest's tools). */
  async addArpNeighbors(neighbors: ARPNeighbor[]): Promise<void> {
    this.checkMutable();
    for (const n of neighbors) {
      const ip = n.toIPAddress?.address ?? '';
      const v = net.isIP(ip);
      if (!v) throw new InvalidArgumentError(`invalid neighbour address ${JSON.stringify(ip)}`);
      if (v === 6) throw new TtrpcError(Code.UNIMPLEMENTED, 'IPv6 neighbours are not supported');
      if (!MAC.test(n.lladdr ?? '')) throw new InvalidArgumentError(`invalid lladdr ${JSON.stringify(n.lladdr ?? '')}`);
      if (!IFNAME.test(n.device ?? '')) throw new InvalidArgumentError(`invalid neighbour device ${JSON.stringify(n.device ?? '')}`);
    }
    const names = new Set((await this.listInterfaces()).map((l) => l.name));
    for (const n of neighbors) {
      if (!names.has(n.device!)) throw new NotFoundError(`neighbour device ${n.device} not found`);
      await this.run(['arp', '-i', n.device!, '-s', n.toIPAddress!.address!, n.lladdr!]);
    }
  }

  private checkMutable(): void {
    if (!this.mutable) throw new FailedPreconditionError('host mode: the agent does not change the network');
  }
}

/** "<dev> <prefix>" of the routes the kernel makes for the interfaces' IPv4 and IPv6 addresses. */
export function connectedRoutes(ifaces: readonly Interface[]): Set<string> {
  const out = new Set<string>();
  for (const l of ifaces) {
    for (const a of l.IPAddresses ?? []) {
      const bits = Number(a.mask) || 0;
      out.add(`${l.name} ${a.family === 1 ? ipv6Network(a.address ?? '', bits) : ipv4Network(a.address ?? '', bits)}`);
    }
  }
  return out;
}
