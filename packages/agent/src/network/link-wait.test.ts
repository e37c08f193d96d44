import { waitForLinkByMac, type LinkWaitOps } from './link-wait';

function ops(appearAfter: number, loaded = false) {
  let calls = 0;
  const log: string[] = [];
  const o: LinkWaitOps = {
    async linksByMac() {
      calls++;
      return calls > appearAfter ? new Map([['0a:58:0a:58:4d:05', 'eth0']]) : new Map();
    },
    async driverLoaded() {
      return loaded;
    },
    async loadDriver() {
      log.push('modprobe virtio_net');
    },
  };
  return { o, log };
}

describe('waitForLinkByMac', () => {
  it('finds an existing link at once, without loading anything', async () => {
    const { o, log } = ops(0);
    expect(await waitForLinkByMac(o, '0A:58:0A:58:4D:05')).toBe('eth0');
    expect(log).toEqual([]);
  });

  it('loads the driver once when the link is missing, then waits for it', async () => {
    const { o, log } = ops(3);
    expect(await waitForLinkByMac(o, '0a:58:0a:58:4d:05', 2_000, 1)).toBe('eth0');
    expect(log).toEqual(['modprobe virtio_net']);
  });

  it('gives up after the timeout (driver already loaded: no modprobe)', async () => {
    const { o, log } = ops(Infinity, true);
    expect(await waitForLinkByMac(o, '02:00:00:00:00:01', 30, 5)).toBeUndefined();
    expect(log).toEqual([]);
  });
});
