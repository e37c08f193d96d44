import { addArgs, planRouteUpdate, routeDest } from './route-plan';

const r = (o: object) => ({ dest: '', gateway: '', device: 'eth0', source: '', scope: 0, family: 0, flags: 0, mtu: 0, ...o });

describe('UpdateRoutes planning', () => {
  it('keeps kernel-made routes, deletes the others, adds device routes before gateway routes', () => {
    const current = [
      r({ dest: '10.88.77.0/24', scope: 253 }),
      r({ dest: '', gateway: '10.0.2.2' }),
      r({ dest: '127.0.0.0/8', device: 'lo' }),
      r({ dest: 'fe80::/64', family: 1, scope: 253 }),
    ];
    const wanted = [r({ dest: '', gateway: '10.88.77.1' }), r({ dest: '10.99.0.7/32', scope: 253 }), r({ dest: '10.66.0.0/16', gateway: '10.88.77.254', flags: 4, mtu: 1400 })];
    expect(planRouteUpdate(current, new Set(['eth0 10.88.77.0/24']), wanted).map((a) => a.join(' '))).toEqual([
      'route del default via 10.0.2.2 dev eth0',
      'route replace 10.99.0.7/32 dev eth0 scope link',
      'route replace default via 10.88.77.1 dev eth0',
      'route replace 10.66.0.0/16 via 10.88.77.254 dev eth0 onlink mtu 1400',
    ]);
    expect(addArgs(r({ dest: '', gateway: 'fd00::1', family: 1 }))).toEqual(['-6', 'route', 'replace', 'default', 'via', 'fd00::1', 'dev', 'eth0']);
  });

  it.each([
    [{ device: 'eth0; reboot' }, /invalid route device/],
    [{ device: '' }, /invalid route device/],
    [{ dest: '10.0.0.0/33' }, /invalid prefix/],
    [{ dest: 'fd00::/64' }, /invalid route destination/],
    [{ dest: '10.0.0.0/8/1' }, /invalid route destination/],
    [{ gateway: 'nope' }, /invalid route gateway/],
    [{ source: 'fd00::1' }, /invalid route source/],
  ])('rejects %j', (bad, msg) => {
    expect(() => planRouteUpdate([], new Set(), [r(bad)])).toThrow(msg);
  });

  it('reads "" and "default" as the default route', () => {
    expect(routeDest('', 0)).toBe('default');
    expect(routeDest('10.1.2.3', 0)).toBe('10.1.2.3');
  });
});
