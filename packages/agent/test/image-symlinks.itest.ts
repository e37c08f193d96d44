// Issue 11 item 2, "symlinks at mount destinations" (Kata's CVE-2020-2023..2026 are the model): an image
// whose rootfs has symlinks where the spec mounts volumes, pointing at an absolute host path, out through
// '../..', or at '/'. The agent hands the destinations to crun, which must resolve them inside the
// container's rootfs. Checked on both sides: what the container sees (its own mountinfo and the files),
// and the host (the directory the links point at is untouched; nothing mounted there in the agent's
// mount namespace). Real agent on this host (root, crun), as agent-host.itest.ts.
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describeNeeding } from '../../../e2e/harness/host-requirements';
import { hostAgentSupported, HostAgent, startHostAgent } from './harness/agent-host';
import { readAll } from './harness/io';
import { makeBusyboxRootfs } from './harness/rootfs';
import { busyboxSpec } from './harness/spec';

jest.setTimeout(60_000);

const mountPointsOf = (pid: number) => readFileSync(`/proc/${pid}/mountinfo`, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')[4]!);

describeNeeding(hostAgentSupported(), 'image symlinks at mount destinations', () => {
  let h: HostAgent;
  let n = 0;

  beforeAll(async () => {
    h = await startHostAgent();
    await h.agent.createSandbox({ sandboxId: 'sandbox1', hostname: 'pod1' });
  });
  afterAll(async () => {
    await h?.stop();
  });

  /** A volume in the share (where the shim puts them) holding one marker file. */
  function volume(name: string, marker: string): string {
    const dir = path.join(h.sharedDir, name);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'marker'), marker);
    return dir;
  }

  /** Runs `script` in a container whose rootfs got `links` (path in rootfs → target); its stdout, status and rootfs. */
  async function run(links: Record<string, string>, mounts: NonNullable<Parameters<typeof busyboxSpec>[1]>['mounts'], script: string) {
    const id = `sym${++n}`;
    const rootfs = makeBusyboxRootfs(path.join(h.sharedDir, id, 'rootfs'));
    for (const [at, target] of Object.entries(links)) {
      mkdirSync(path.dirname(path.join(rootfs, at)), { recursive: true });
      symlinkSync(target, path.join(rootfs, at));
    }
    const outsideBefore = readdirSync(h.outside);
    let status: number | undefined;
    let out = '';
    let error: string | undefined;
    try {
      await h.agent.createContainer({ containerId: id, execId: id, OCI: busyboxSpec(['sh', '-c', script], { mounts }) });
      await h.agent.startContainer({ containerId: id });
      out = (await readAll(h.agent, id, id, 'stdout')).toString();
      status = (await h.agent.waitProcess({ containerId: id, execId: id })).status ?? 0;
      await h.agent.removeContainer({ containerId: id });
    } catch (err) {
      error = (err as Error).message;
    }
    // The host: the directory every link aims at is as it was, nothing is mounted on or under it.
    expect(readdirSync(h.outside)).toEqual(outsideBefore);
    expect(mountPointsOf(h.proc.pid!).filter((m) => m === h.outside || m.startsWith(`${h.outside}/`))).toEqual([]);
    // A failed create leaves no bundle behind in the agent's state.
    if (error) expect(existsSync(path.join(h.stateDir, 'containers', id))).toBe(false);
    // The image's links are still links to where they pointed.
    for (const [at, target] of Object.entries(links)) expect(readlinkSync(path.join(rootfs, at))).toBe(target);
    return { id, rootfs, out, status, error };
  }

  it('an absolute link to a host path (/data -> <host dir>), missing inside the rootfs: a clear crun error, nothing created anywhere', async () => {
    const vol = volume('vol-abs', 'from the volume');
    const r = await run({ data: h.outside }, [{ destination: '/data/sub', type: 'bind', source: vol, options: ['rbind'] }], 'true');
    expect(r.error).toMatch(/crun .*create failed: openat2 `data`: No such file or directory/);
    expect(existsSync(path.join(r.rootfs, h.outside))).toBe(false);
    expect(existsSync(path.join(h.outside, 'sub'))).toBe(false);
  });

  it('the same link where the path also exists inside the rootfs: the volume lands at <rootfs>/<host dir>/sub, the host dir is untouched', async () => {
    const vol = volume('vol-abs2', 'from the volume');
    const id = `sym${n + 1}`;
    mkdirSync(path.join(h.sharedDir, id, 'rootfs', h.outside), { recursive: true });
    const r = await run({ data: h.outside }, [{ destination: '/data/sub', type: 'bind', source: vol, options: ['rbind'] }],
      'cat /data/sub/marker; echo; grep -o " [^ ]*/sub " /proc/self/mountinfo');
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    // Inside the container, the mount point is the link's target read inside the rootfs.
    expect(r.out).toBe(`from the volume\n ${h.outside}/sub \n`);
    expect(existsSync(path.join(r.rootfs, h.outside, 'sub'))).toBe(true);
    expect(existsSync(path.join(h.outside, 'sub'))).toBe(false);
  });

  it('a relative link that climbs out (/etc/hosts -> ../../../../<host dir>/hosts): the file is bound inside the rootfs, no file appears on the host', async () => {
    const vol = volume('vol-hosts', '10.0.0.9 attacker\n');
    const climb = `${'../'.repeat(12)}${h.outside.slice(1)}/hosts`;
    const r = await run({ 'etc/hosts': climb }, [{ destination: '/etc/hosts', type: 'bind', source: path.join(vol, 'marker'), options: ['rbind', 'ro'] }],
      'cat /etc/hosts');
    expect(r.error).toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.out).toBe('10.0.0.9 attacker\n');
    expect(existsSync(path.join(h.outside, 'hosts'))).toBe(false);
    expect(existsSync(path.join(r.rootfs, h.outside, 'hosts'))).toBe(true);
  });

  it("a link to '/' (/data -> /) with a tmpfs there: mounted on the container's own root, never the host's", async () => {
    const r = await run({ data: '/' }, [{ destination: '/data', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }],
      'echo ran');
    // crun mounts on what /data is inside the rootfs, the container's root: the tmpfs hides the container's
    // own /dev and crun says so. Nothing is mounted outside (checked in run()), the image is intact.
    expect(r.error).toMatch(/crun .*create failed: failed open\(\)ing \/dev\/null: No such file or directory/);
    expect(readdirSync(path.join(r.rootfs, 'bin')).length).toBeGreaterThan(10);
  });
});
