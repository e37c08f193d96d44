import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { dnsFromSpec, resolvConfLines } from './dns';
import { netnsPathOf } from './netns';

describe('dns and netns from the sandbox spec', () => {
  it('takes the lines of the file mounted on /etc/resolv.conf, without comments', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-dns-'));
    try {
      const file = path.join(dir, 'resolv.conf');
      writeFileSync(file, '# generated\nnameserver 10.88.77.1\n\nsearch kata.test\n; old\noptions ndots:5\n');
      const spec = { mounts: [{ destination: '/etc/hosts', source: '/x' }, { destination: '/etc/resolv.conf', source: file, type: 'bind' }] };
      expect(await dnsFromSpec(spec)).toEqual(['nameserver 10.88.77.1', 'search kata.test', 'options ndots:5']);
      expect(await dnsFromSpec({ mounts: [{ destination: '/etc/resolv.conf', source: path.join(dir, 'missing') }] })).toEqual([]);
      expect(await dnsFromSpec({})).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(resolvConfLines('')).toEqual([]);
  });

  it('finds the network namespace path; none without a path', () => {
    expect(netnsPathOf({ linux: { namespaces: [{ type: 'pid' }, { type: 'network', path: '/var/run/netns/cni-1' }] } })).toBe('/var/run/netns/cni-1');
    expect(netnsPathOf({ linux: { namespaces: [{ type: 'network' }] } })).toBeUndefined();
    expect(netnsPathOf({})).toBeUndefined();
  });
});
