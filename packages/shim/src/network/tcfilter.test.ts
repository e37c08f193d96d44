import { setupSteps, teardownSteps } from './tcfilter';
import type { Endpoint } from './types';

const ep: Endpoint = { index: 0, veth: 'eth0', tap: 'tap0_kata', guestName: 'eth0', mac: '0a:58:0a:58:4d:05', mtu: 1450, addresses: [], pciSlot: 0x10 };

describe('tcfilter commands', () => {
  it('creates the tap with the veth MTU, ingress qdiscs on both, and mirred redirects both ways', () => {
    expect(setupSteps(ep).map((s) => s.argv.join(' '))).toEqual([
      'ip tuntap add dev tap0_kata mode tap',
      'ip link set dev tap0_kata mtu 1450',
      'ip link set dev tap0_kata up',
      'tc qdisc add dev eth0 ingress',
      'tc qdisc add dev tap0_kata ingress',
      'tc filter add dev eth0 parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev tap0_kata',
      'tc filter add dev tap0_kata parent ffff: protocol all u32 match u8 0 0 action mirred egress redirect dev eth0',
    ]);
    expect(setupSteps(ep).filter((s) => s.creates).map((s) => s.creates)).toEqual(['tap', 'veth-qdisc']);
  });

  it('undoes only what was created', () => {
    expect(teardownSteps({ veth: 'eth0', tap: 'tap0_kata', tapCreated: true, vethQdisc: true }).map((a) => a.join(' '))).toEqual([
      'tc qdisc del dev eth0 ingress', 'ip link del dev tap0_kata',
    ]);
    expect(teardownSteps({ veth: 'eth0', tap: 'tap0_kata', tapCreated: true, vethQdisc: false })).toEqual([['ip', 'link', 'del', 'dev', 'tap0_kata']]);
    expect(teardownSteps({ veth: 'eth0', tap: 'tap0_kata', tapCreated: false, vethQdisc: false })).toEqual([]);
  });
});
