/**
 * A network namespace the test owns (`ip netns add`), with no route out: CNI bridges, veths and pod
 * IPs of a daemon started inside it stay there, and every packet a test sends stays between it and the
 * pods. Deleted by delete(), idempotently.
 */
import { randomBytes } from 'node:crypto';
import { run, runOk, type CommandResult } from './exec';

export class TestNetns {
  private deleted = false;

  private constructor(readonly name: string) {}

  /** Creates `<prefix>-<hex>` with loopback up. */
  static async create(prefix: string): Promise<TestNetns> {
    const ns = new TestNetns(`${prefix}-${randomBytes(4).toString('hex')}`);
    await runOk('ip', ['netns', 'add', ns.name]);
    try {
      await runOk('ip', ['-n', ns.name, 'link', 'set', 'lo', 'up']);
    } catch (err) {
      await ns.delete();
      throw err;
    }
    return ns;
  }

  /** /var/run/netns/<name>, what nsenter --net= and daemons take. */
  get path(): string {
    return `/var/run/netns/${this.name}`;
  }

  /** Runs a command inside the namespace (nsenter --net; no other namespace changes). */
  exec(argv: readonly string[], timeoutMs = 15_000): Promise<CommandResult> {
    return run('nsenter', [`--net=${this.path}`, '--', ...argv], { timeoutMs });
  }

  /** Removes the namespace (its bridge and veth ends go with it). */
  async delete(): Promise<void> {
    if (this.deleted) return;
    this.deleted = true;
    await run('ip', ['netns', 'del', this.name]);
  }
}

export interface BridgeNetwork {
  /** CNI network name. */
  name: string;
  /** Bridge device, inside the test netns. */
  bridge: string;
  /** e.g. 10.88.78.0/24; its .1 is the gateway. */
  subnet: string;
  /** host-local's state directory (in the test's temp dir). */
  ipamDir: string;
  /** Add the portmap plugin, for published ports (nerdctl -p, CRI hostPort). */
  portmap?: boolean;
}

/** A CNI network list: a bridge in the test netns, host-local addresses, a default route via the bridge. */
export function bridgeConflist(net: BridgeNetwork): object {
  const gateway = net.subnet.replace(/\.0\/\d+$/, '.1');
  const plugins: object[] = [{
    type: 'bridge', bridge: net.bridge, isGateway: true, ipMasq: false, hairpinMode: true,
    ipam: { type: 'host-local', ranges: [[{ subnet: net.subnet, gateway }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: net.ipamDir },
  }];
  if (net.portmap) plugins.push({ type: 'portmap', capabilities: { portMappings: true } });
  return { cniVersion: '1.0.0', name: net.name, plugins };
}
