import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import type { NetInterface, NetRoute } from '../agent/types';
import { CNI_ADDR_JSON, CNI_ROUTES4_JSON, CNI_ROUTES6_JSON } from '../test-support/iproute-fixtures';
import { PodNetwork, teardownRecordedNetwork } from './pod-network';

const log = pino({ level: 'silent' });

/** A netns that answers `ip -json` with the fixtures and records every other command. */
function fakeNetns(failOn?: RegExp) {
  const ran: string[] = [];
  const exec = async (argv: readonly string[]): Promise<string> => {
    const line = argv.join(' ');
    if (line === 'ip -json -details addr show') return CNI_ADDR_JSON;
    if (line === 'ip -json route show table main') return CNI_ROUTES4_JSON;
    if (line === 'ip -json -6 route show table main') return CNI_ROUTES6_JSON;
    ran.push(line);
    if (failOn?.test(line)) throw new Error(`${line}: RTNETLINK answers: Operation not permitted`);
    return '';
  };
  return { ran, exec };
}

describe('PodNetwork', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-net-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('wires each endpoint, records it, configures the guest, and tears down what it made', async () => {
    const ns = fakeNetns();
    const net = await PodNetwork.setup({ netnsPath: '/var/run/netns/cni-1', dir, vhost: false, log, exec: ns.exec });
    expect(ns.ran).toHaveLength(7);
    expect(net.nics()).toEqual([{ id: 'net0', tap: 'tap0_kata', mac: '0a:58:0a:58:4d:05', vhost: false, pciSlot: 0x10 }]);
    expect(JSON.parse(readFileSync(path.join(dir, 'network.json'), 'utf8'))).toEqual({
      netnsPath: '/var/run/netns/cni-1', created: [{ veth: 'eth0', tap: 'tap0_kata', tapCreated: true, vethQdisc: true }],
    });

    const calls: Array<NetInterface | NetRoute[]> = [];
    await net.configureGuest({
      updateInterface: async (i) => (calls.push(i), i),
      updateRoutes: async (r) => (calls.push(r), r),
    });
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({ name: 'eth0', hwAddr: '0a:58:0a:58:4d:05' });
    expect((calls[1] as NetRoute[]).map((r) => r.dest)).toEqual(['', '10.66.0.0/16', '10.99.0.7/32', '']);

    ns.ran.length = 0;
    await net.teardown();
    await net.teardown();
    expect(ns.ran).toEqual(['tc qdisc del dev eth0 ingress', 'ip link del dev tap0_kata']);
    expect(existsSync(path.join(dir, 'network.json'))).toBe(false);
  });

  it('undoes the steps that succeeded when a later one fails, and never touches a qdisc it did not add', async () => {
    const ns = fakeNetns(/^tc qdisc add dev eth0/);
    await expect(PodNetwork.setup({ netnsPath: '/n', dir, vhost: true, log, exec: ns.exec })).rejects.toThrow(/Operation not permitted/);
    expect(ns.ran.slice(-1)).toEqual(['ip link del dev tap0_kata']);
    expect(ns.ran).not.toContain('tc qdisc del dev eth0 ingress');
    expect(existsSync(path.join(dir, 'network.json'))).toBe(false);
  });

  it('delete without the daemon: undoes the record while the netns exists, and drops the record', async () => {
    const ns = fakeNetns();
    await PodNetwork.setup({ netnsPath: dir, dir, vhost: false, log, exec: ns.exec });
    ns.ran.length = 0;
    await teardownRecordedNetwork(dir, log, () => ns.exec);
    expect(ns.ran).toEqual(['tc qdisc del dev eth0 ingress', 'ip link del dev tap0_kata']);
    expect(existsSync(path.join(dir, 'network.json'))).toBe(false);
    await teardownRecordedNetwork(dir, log, () => ns.exec); // nothing recorded: nothing to do
    expect(ns.ran).toHaveLength(2);
  });

  it('a netns with no endpoint: no NIC, no command, no record', async () => {
    const exec = async (argv: readonly string[]) => (argv.includes('addr') ? JSON.stringify([JSON.parse(CNI_ADDR_JSON)[0]]) : '[]');
    const net = await PodNetwork.setup({ netnsPath: '/n', dir, vhost: false, log, exec });
    expect(net.nics()).toEqual([]);
    expect(existsSync(path.join(dir, 'network.json'))).toBe(false);
  });
});
