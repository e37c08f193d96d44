import { hexToIpv4, hexToIpv6, maskBits, parseNetDev, parseRoutes4, parseRoutes6 } from './parse';

describe('network table parsers', () => {
  it('decodes addresses', () => {
    expect(hexToIpv4('0100000A')).toBe('10.0.0.1');
    expect(maskBits('255.255.255.0')).toBe(24);
    expect(hexToIpv6('fe800000000000000000000000000001')).toBe('fe80::1');
    expect(hexToIpv6('20010db8000000000001000000000002')).toBe('2001:db8::1:0:0:2');
  });

  it('parses /proc/net/route', () => {
    const text = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n'
      + 'eth0\t00000000\t0100000A\t0003\t0\t0\t0\t00000000\t0\t0\t0\n'
      + 'eth0\t0000000A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n';
    expect(parseRoutes4(text)).toEqual([
      { dest: '', gateway: '10.0.0.1', device: 'eth0', source: '', scope: 0, family: 0, flags: 0, mtu: 0 },
      { dest: '10.0.0.0/24', gateway: '', device: 'eth0', source: '', scope: 253, family: 0, flags: 0, mtu: 0 },
    ]);
  });

  it('parses /proc/net/ipv6_route without local and multicast routes', () => {
    const text = 'fe800000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n'
      + 'ff000000000000000000000000000000 08 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n'
      + '00000000000000000000000000000001 80 00000000000000000000000000000000 00 00000000000000000000000000000000 00000000 00000001 00000000 00000001 lo\n';
    expect(parseRoutes6(text)).toEqual([{ dest: 'fe80::/64', gateway: '', device: 'eth0', source: '', scope: 253, family: 1, flags: 0, mtu: 0 }]);
  });

  it('parses /proc/net/dev', () => {
    const text = 'Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed multicast|bytes packets errs drop fifo colls carrier compressed\n'
      + '  eth0: 100 2 0 0 0 0 0 0 300 4 0 1 0 0 0 0\n';
    expect(parseNetDev(text)).toEqual([{ name: 'eth0', rxBytes: 100, rxPackets: 2, rxErrors: 0, rxDropped: 0, txBytes: 300, txPackets: 4, txErrors: 0, txDropped: 1 }]);
  });
});
