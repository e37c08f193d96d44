import { Code } from 'ttrpc-ts';
import { Network } from './network';

const noLinks = { linksByMac: async () => new Map<string, string>(), driverLoaded: async () => true, loadDriver: async () => undefined };

describe('Network requests', () => {
  const ran: string[][] = [];
  const network = new Network(true, { run: async (argv) => (ran.push(argv), ''), sysRoot: '/nonexistent', procRoot: '/nonexistent', links: noLinks, linkWaitMs: 10 });

  it.each([
    [{ hwAddr: 'zz' }, Code.INVALID_ARGUMENT, /invalid hwAddr/],
    [{ hwAddr: '02:00:00:00:00:01', name: 'eth0 up' }, Code.INVALID_ARGUMENT, /invalid interface name/],
    [{ hwAddr: '02:00:00:00:00:01', mtu: 20 }, Code.INVALID_ARGUMENT, /invalid mtu/],
    [{ hwAddr: '02:00:00:00:00:01', IPAddresses: [{ family: 0, address: '10.0.0.300', mask: '24' }] }, Code.INVALID_ARGUMENT, /invalid address/],
    [{ hwAddr: '02:00:00:00:00:01', IPAddresses: [{ family: 1, address: '10.0.0.3', mask: '24' }] }, Code.INVALID_ARGUMENT, /invalid address/],
    [{ hwAddr: '02:00:00:00:00:01', IPAddresses: [{ family: 0, address: '10.0.0.3', mask: '33' }] }, Code.INVALID_ARGUMENT, /invalid mask/],
    [{ hwAddr: '02:00:00:00:00:01' }, Code.NOT_FOUND, /Link not found/],
  ])('UpdateInterface %j → %s', async (iface, code, msg) => {
    await expect(network.updateInterface(iface)).rejects.toMatchObject({ code, message: expect.stringMatching(msg) });
    expect(ran).toEqual([]);
  });

  it('UpdateRoutes: bad routes are INVALID_ARGUMENT, unknown devices NOT_FOUND, before anything changes', async () => {
    await expect(network.updateRoutes([{ dest: 'x', device: 'eth0' }])).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    await expect(network.updateRoutes([{ dest: '', gateway: '10.0.0.1', device: 'eth9' }])).rejects.toMatchObject({ code: Code.NOT_FOUND });
    expect(ran.filter((a) => a.includes('route'))).toEqual([]);
  });

  it('AddARPNeighbors validates, and refuses IPv6 as unimplemented', async () => {
    await expect(network.addArpNeighbors([{ toIPAddress: { address: 'nope' }, lladdr: '02:00:00:00:00:01', device: 'eth0' }])).rejects.toMatchObject({ code: Code.INVALID_ARGUMENT });
    await expect(network.addArpNeighbors([{ toIPAddress: { address: 'fd00::1' }, lladdr: '02:00:00:00:00:01', device: 'eth0' }])).rejects.toMatchObject({ code: Code.UNIMPLEMENTED });
    await expect(network.addArpNeighbors([{ toIPAddress: { address: '10.0.0.1' }, lladdr: '02:00:00:00:00:01', device: 'eth0' }])).rejects.toMatchObject({ code: Code.NOT_FOUND });
  });

  it('a host-mode agent refuses every change', async () => {
    await expect(new Network(false).updateRoutes([])).rejects.toMatchObject({ code: Code.FAILED_PRECONDITION });
  });
});
