import { CNI_ADDR_JSON, CNI_ROUTES4_JSON, CNI_ROUTES6_JSON } from '../test-support/iproute-fixtures';
import { parseLinks, parseRoutes } from './iproute-json';

describe('iproute2 JSON parsers', () => {
  it('reads links with kind, MAC (lower case), MTU and addresses', () => {
    const links = parseLinks(CNI_ADDR_JSON);
    expect(links.map((l) => l.name)).toEqual(['lo', 'eth0', 'tap0_kata', 'tunl0', 'eth1']);
    expect(links[1]).toEqual({
      ifindex: 3, name: 'eth0', linkType: 'ether', kind: 'veth', mac: '0a:58:0a:58:4d:05', mtu: 1450,
      addresses: [
        { family: 4, address: '10.88.77.5', prefix: 24, scope: 'global' },
        { family: 6, address: 'fd00:77::5', prefix: 64, scope: 'global' },
        { family: 6, address: 'fe80::858:aff:fe58:4d05', prefix: 64, scope: 'link' },
      ],
    });
  });

  it('reads routes: default as "", scope numbers, onlink, mtu metric, protocol; drops non-unicast types', () => {
    const r4 = parseRoutes(CNI_ROUTES4_JSON, 4);
    expect(r4).toHaveLength(4);
    expect(r4[0]).toEqual({ family: 4, dest: '', gateway: '10.88.77.1', device: 'eth0', source: '', scope: 0, protocol: '', onlink: false, mtu: 0 });
    expect(r4[1]).toMatchObject({ dest: '10.66.0.0/16', onlink: true, mtu: 1400 });
    expect(r4[2]).toMatchObject({ protocol: 'kernel', scope: 253, source: '10.88.77.5' });
    expect(parseRoutes(CNI_ROUTES6_JSON, 6)[2]).toMatchObject({ family: 6, dest: '', gateway: 'fd00:77::1' });
  });

  it('rejects output that is not a JSON array', () => {
    expect(() => parseLinks('not json')).toThrow(/cannot parse ip addr output/);
    expect(() => parseRoutes('{}', 4)).toThrow(/not a JSON array/);
    expect(parseLinks('')).toEqual([]);
  });
});
