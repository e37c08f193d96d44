import { MAX_ENDPOINTS, pciPath, planEndpoints } from './endpoints';
import { CNI_ADDR_JSON } from '../test-support/iproute-fixtures';
import { parseLinks } from './iproute-json';
import type { HostLink } from './types';

describe('planEndpoints', () => {
  it('keeps configured ethernet links: not lo, taps (ours included), tunnels or links without addresses', () => {
    const eps = planEndpoints(parseLinks(CNI_ADDR_JSON));
    expect(eps).toEqual([{
      index: 0, veth: 'eth0', tap: 'tap0_kata', guestName: 'eth0', mac: '0a:58:0a:58:4d:05', mtu: 1450, pciSlot: 0x10,
      addresses: expect.any(Array),
    }]);
    expect(pciPath(eps[0]!.pciSlot)).toBe('10');
  });

  it('numbers endpoints by ifindex; a netns with only lo has none', () => {
    const link = (ifindex: number, name: string): HostLink => ({
      ifindex, name, linkType: 'ether', kind: 'veth', mac: `02:00:00:00:00:0${ifindex}`, mtu: 0,
      addresses: [{ family: 4, address: `10.0.0.${ifindex}`, prefix: 24, scope: 'global' }],
    });
    const eps = planEndpoints([link(9, 'net1'), link(2, 'eth0')]);
    expect(eps.map((e) => [e.veth, e.tap, e.guestName, e.mtu, e.pciSlot])).toEqual([['eth0', 'tap0_kata', 'eth0', 1500, 0x10], ['net1', 'tap1_kata', 'eth1', 1500, 0x11]]);
    expect(planEndpoints(parseLinks(CNI_ADDR_JSON).filter((l) => l.name === 'lo'))).toEqual([]);
    expect(() => planEndpoints(Array.from({ length: MAX_ENDPOINTS + 1 }, (_, i) => link(i + 1, `e${i}`)))).toThrow(/at most/);
  });
});
