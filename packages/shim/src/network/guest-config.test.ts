import { planEndpoints } from './endpoints';
import { CNI_ADDR_JSON, CNI_ROUTES4_JSON, CNI_ROUTES6_JSON } from '../test-support/iproute-fixtures';
import { guestInterfaces, guestRoutes, ONLINK } from './guest-config';
import { parseLinks, parseRoutes } from './iproute-json';

const endpoints = planEndpoints(parseLinks(CNI_ADDR_JSON));

describe('guest network configuration', () => {
  it('one interface per endpoint: eth<i>, global addresses, MTU, the veth MAC and its PCI path', () => {
    expect(guestInterfaces(endpoints)).toEqual([{
      device: 'eth0', name: 'eth0', mtu: 1450, hwAddr: '0a:58:0a:58:4d:05', devicePath: '10', type: 'veth', rawFlags: 0,
      ipAddresses: [{ family: 4, address: '10.88.77.5', prefix: 24 }, { family: 6, address: 'fd00:77::5', prefix: 64 }],
    }]);
  });

  it('routes as validGuestRoute keeps them: no kernel or link-local routes, devices renamed, host routes get a prefix', () => {
    const routes = [...parseRoutes(CNI_ROUTES4_JSON, 4), ...parseRoutes(CNI_ROUTES6_JSON, 6)];
    expect(guestRoutes(routes, endpoints)).toEqual([
      { dest: '', gateway: '10.88.77.1', device: 'eth0', source: '', scope: 0, family: 4, flags: 0, mtu: 0 },
      { dest: '10.66.0.0/16', gateway: '10.88.77.254', device: 'eth0', source: '', scope: 0, family: 4, flags: ONLINK, mtu: 1400 },
      { dest: '10.99.0.7/32', gateway: '', device: 'eth0', source: '', scope: 253, family: 4, flags: 0, mtu: 0 },
      { dest: '', gateway: 'fd00:77::1', device: 'eth0', source: '', scope: 0, family: 6, flags: 0, mtu: 0 },
    ]);
    expect(guestRoutes(routes, [])).toEqual([]);
  });
});
