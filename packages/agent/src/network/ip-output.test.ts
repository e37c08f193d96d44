import { ipv4Network, ipv6Network, parseAddrOneline } from './ip-output';

describe('busybox ip output', () => {
  it('parses `ip -o addr show`', () => {
    const text = '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever\n'
      + '3: eth0    inet 10.88.77.5/24 scope global eth0\\       valid_lft forever preferred_lft forever\n'
      + '3: eth0    inet6 fe80::858:aff:fe58:4d05/64 scope link tentative \\       valid_lft forever preferred_lft forever\n';
    const m = parseAddrOneline(text);
    expect(m.get('eth0')).toEqual([{ family: 0, address: '10.88.77.5', mask: '24' }, { family: 1, address: 'fe80::858:aff:fe58:4d05', mask: '64' }]);
    expect(m.get('lo')).toHaveLength(1);
    expect(parseAddrOneline('garbage')).toEqual(new Map());
  });

  it('computes connected prefixes as the kernel tables print them', () => {
    expect(ipv4Network('10.88.77.5', 24)).toBe('10.88.77.0/24');
    expect(ipv4Network('10.1.2.3', 0)).toBe('0.0.0.0/0');
    expect(ipv6Network('fd00:77::5', 64)).toBe('fd00:77::/64');
    expect(ipv6Network('2001:db8:1:2:3:4:5:6', 48)).toBe('2001:db8:1::/48');
  });
});
