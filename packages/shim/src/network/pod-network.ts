/**
 * A pod's network on the host side, start to end: scan the pod netns for endpoints, wire each to a
 * tap with tc filters (recording what was created in <sandbox dir>/network.json after each step, so
 * `delete` can undo it when the daemon is gone), hand QEMU the NICs, tell the agent the guest's
 * interfaces and routes, and undo everything on teardown.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import type { AgentClient } from '../agent/agent-client';
import type { Logger } from '../framework/logging';
import type { NicSpec } from '../hypervisor/hypervisor';
import { planEndpoints } from './endpoints';
import { guestInterfaces, guestRoutes } from './guest-config';
import { parseLinks, parseRoutes } from './iproute-json';
import { netnsExec, removeNetns, type NetnsExec } from './netns';
import { setupSteps, teardownSteps, type CreatedForEndpoint } from './tcfilter';
import type { Endpoint, HostRoute } from './types';

const RECORD = 'network.json';

interface NetworkRecord {
  netnsPath: string;
  created: CreatedForEndpoint[];
}

export interface PodNetworkOptions {
  netnsPath: string;
  /** The sandbox directory (the record lives there). */
  dir: string;
  /** Use vhost-net for the NICs (the caller probed /dev/vhost-net). */
  vhost: boolean;
  log: Logger;
  /** Default: nsenter into netnsPath. */
  exec?: NetnsExec;
  /** The shim created the netns (createNetns): teardown removes it too. */
  ownsNetns?: boolean;
}

/** Errors of teardown commands that mean "already gone". */
const GONE = /Cannot find device|No such device|does not exist|No such file|Invalid handle|Cannot delete qdisc with handle of zero/i;

export class PodNetwork {
  private readonly created: CreatedForEndpoint[] = [];
  private tearingDown: Promise<void> | undefined;

  private constructor(
    readonly netnsPath: string,
    readonly endpoints: Endpoint[],
    readonly routes: HostRoute[],
    private readonly vhost: boolean,
    private readonly dir: string,
    private readonly exec: NetnsExec,
    private readonly log: Logger,
    private readonly ownsNetns: boolean,
  ) {}

  /** Scans the netns and wires every endpoint; on failure undoes what it did and throws. */
  static async setup(o: PodNetworkOptions): Promise<PodNetwork> {
    const exec = o.exec ?? netnsExec(o.netnsPath);
    const links = parseLinks(await exec(['ip', '-json', '-details', 'addr', 'show']));
    const endpoints = planEndpoints(links);
    const routes = endpoints.length === 0 ? [] : [
      ...parseRoutes(await exec(['ip', '-json', 'route', 'show', 'table', 'main']), 4),
      ...parseRoutes(await exec(['ip', '-json', '-6', 'route', 'show', 'table', 'main']), 6),
    ];
    const net = new PodNetwork(o.netnsPath, endpoints, routes, o.vhost, o.dir, exec, o.log, !!o.ownsNetns);
    try {
      for (const e of endpoints) await net.wire(e);
    } catch (err) {
      await net.teardown();
      throw err;
    }
    o.log.info({
      netns: o.netnsPath, vhostNet: o.vhost,
      endpoints: endpoints.map((e) => ({ veth: e.veth, tap: e.tap, mac: e.mac, mtu: e.mtu, addresses: e.addresses.map((a) => `${a.address}/${a.prefix}`) })),
    }, endpoints.length ? 'pod network wired (tcfilter)' : 'pod netns has no endpoint: no NIC');
    return net;
  }

  private async wire(e: Endpoint): Promise<void> {
    const c: CreatedForEndpoint = { veth: e.veth, tap: e.tap, tapCreated: false, vethQdisc: false };
    this.created.push(c);
    for (const step of setupSteps(e)) {
      await this.exec(step.argv);
      if (step.creates === 'tap') c.tapCreated = true;
      if (step.creates === 'veth-qdisc') c.vethQdisc = true;
      if (step.creates) await this.writeRecord();
    }
  }

  /** The VM's NICs: one per endpoint, attached to its tap. */
  nics(): NicSpec[] {
    return this.endpoints.map((e) => ({ id: `net${e.index}`, tap: e.tap, mac: e.mac, vhost: this.vhost, pciSlot: e.pciSlot }));
  }

  /** UpdateInterface for each endpoint, then one UpdateRoutes (Kata's setupNetworks order). */
  async configureGuest(agent: Pick<AgentClient, 'updateInterface' | 'updateRoutes'>): Promise<void> {
    for (const i of guestInterfaces(this.endpoints)) await agent.updateInterface(i);
    const routes = guestRoutes(this.routes, this.endpoints);
    if (routes.length > 0) await agent.updateRoutes(routes);
  }

  /** Removes every tap and filter this network created (and the netns, when it made it). Idempotent; never throws. */
  teardown(): Promise<void> {
    this.tearingDown ??= (async () => {
      await undo(this.created, this.exec, this.log);
      await fs.rm(path.join(this.dir, RECORD), { force: true });
      if (this.ownsNetns) await removeNetns(this.netnsPath).catch((err: Error) => this.log.warn({ err: err.message }, 'removing the netns failed'));
    })();
    return this.tearingDown;
  }

  private async writeRecord(): Promise<void> {
    const record: NetworkRecord = { netnsPath: this.netnsPath, created: this.created };
    const file = path.join(this.dir, RECORD);
    await fs.writeFile(`${file}.tmp`, JSON.stringify(record), { mode: 0o600 });
    await fs.rename(`${file}.tmp`, file);
  }
}

async function undo(created: readonly CreatedForEndpoint[], exec: NetnsExec, log: Logger): Promise<void> {
  for (const c of [...created].reverse()) {
    for (const argv of teardownSteps(c)) {
      await exec(argv).catch((err: Error) => {
        if (!GONE.test(err.message)) log.warn({ err: err.message }, 'network teardown step failed');
      });
    }
  }
}

/**
 * `delete` after the daemon is gone: undoes what <dir>/network.json records. A netns that no longer
 * exists took its taps and filters with it.
 */
export async function teardownRecordedNetwork(dir: string, log: Logger, execFor: (netnsPath: string) => NetnsExec = netnsExec): Promise<void> {
  const file = path.join(dir, RECORD);
  const record = await fs.readFile(file, 'utf8').then((t) => JSON.parse(t) as NetworkRecord, () => undefined);
  if (!record || typeof record.netnsPath !== 'string' || !Array.isArray(record.created)) return;
  if (existsSync(record.netnsPath)) {
    log.info({ netns: record.netnsPath, taps: record.created.map((c) => c.tap) }, 'delete: removing the pod network wiring');
    await undo(record.created.filter(validRecordEntry), execFor(record.netnsPath), log);
  }
  await fs.rm(file, { force: true });
}

const IFNAME = /^[A-Za-z0-9_.@-]{1,15}$/;

/** A record entry is only acted on when its names are plain interface names. */
function validRecordEntry(c: CreatedForEndpoint): boolean {
  return typeof c === 'object' && c !== null && IFNAME.test(String(c.veth)) && IFNAME.test(String(c.tap));
}
