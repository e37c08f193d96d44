/** `ip -json` output of a CNI bridge pod's netns (containerd CRI + bridge/host-local), for the unit tests. */
export const CNI_ADDR_JSON = JSON.stringify([
  { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], mtu: 65536, link_type: 'loopback', address: '00:00:00:00:00:00',
    addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }, { family: 'inet6', local: '::1', prefixlen: 128, scope: 'host' }] },
  { ifindex: 3, link_index: 7, ifname: 'eth0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], mtu: 1450, link_type: 'ether',
    address: '0A:58:0a:58:4d:05', linkinfo: { info_kind: 'veth' },
    addr_info: [
      { family: 'inet', local: '10.88.77.5', prefixlen: 24, scope: 'global' },
      { family: 'inet6', local: 'fd00:77::5', prefixlen: 64, scope: 'global' },
      { family: 'inet6', local: 'fe80::858:aff:fe58:4d05', prefixlen: 64, scope: 'link' },
    ] },
  { ifindex: 4, ifname: 'tap0_kata', mtu: 1450, link_type: 'ether', address: '92:31:b3:76:82:77', linkinfo: { info_kind: 'tun' }, addr_info: [] },
  { ifindex: 5, ifname: 'tunl0', mtu: 1480, link_type: 'ipip', address: '0.0.0.0', addr_info: [] },
  { ifindex: 6, ifname: 'eth1', mtu: 1500, link_type: 'ether', address: '02:00:00:00:00:01', linkinfo: { info_kind: 'macvlan' }, addr_info: [] },
]);

export const CNI_ROUTES4_JSON = JSON.stringify([
  { dst: 'default', gateway: '10.88.77.1', dev: 'eth0', flags: [] },
  { dst: '10.66.0.0/16', gateway: '10.88.77.254', dev: 'eth0', flags: ['onlink'], metrics: [{ mtu: 1400 }] },
  { dst: '10.88.77.0/24', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '10.88.77.5', flags: [] },
  { dst: '10.99.0.7', dev: 'eth0', scope: 'link', flags: [] },
  { type: 'blackhole', dst: '10.98.0.0/16', flags: [] },
]);

export const CNI_ROUTES6_JSON = JSON.stringify([
  { dst: 'fd00:77::/64', dev: 'eth0', protocol: 'kernel', metric: 256, flags: [] },
  { dst: 'fe80::/64', dev: 'eth0', protocol: 'kernel', metric: 256, flags: [] },
  { dst: 'default', gateway: 'fd00:77::1', dev: 'eth0', metric: 1024, flags: [] },
]);
