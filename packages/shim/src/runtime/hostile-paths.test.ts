/**
 * Issue 11 item 2, "`..` in paths": ids and spec paths that would walk out of where they belong are
 * refused with INVALID_ARGUMENT where they come in (service/ids.ts, oci/spec-paths.ts), through the shim's
 * real Task service and task runtime, before a VM is booted or anything is shared, mounted or created.
 * The host side is checked as a tree of the harness's directory (bundles, sandbox dirs) before and after.
 */
import { readdirSync } from 'node:fs';
import { Code, isTtrpcError } from 'ttrpc-ts';
import { OciTypeUrl, packJsonAny } from '@kata-ts/protocol';
import type { OciSpec } from '../oci/spec';
import { TaskHarness } from '../test-support/task-harness';

async function codeOf(p: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await p;
  } catch (err) {
    return { code: isTtrpcError(err) ? err.code : -1, message: (err as Error).message };
  }
  throw new Error('the call succeeded');
}

const tree = (dir: string) => readdirSync(dir, { recursive: true }).map(String).sort();

describe('paths with ".." from the request or the spec', () => {
  let h: TaskHarness;
  beforeEach(async () => {
    h = await TaskHarness.start();
  });
  afterEach(async () => {
    await h.close();
  });

  it.each(['..', '../../escape', 'c1/../../x', 'c1/rootfs', '.', '/abs'])('refuses container id %p: INVALID_ARGUMENT, no VM, nothing created', async (id) => {
    const bundle = await h.bundle('ok', ['true']);
    const before = tree(h.dir);
    const err = await codeOf(h.task.create({ id, bundle, stdout: '', stderr: '', stdin: '' }));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(/invalid id/);
    expect(h.bootsBegun).toBe(0);
    expect(tree(h.dir)).toEqual(before);
    for (const call of [h.task.start({ id }), h.task.kill({ id, signal: 9 }), h.task.delete({ id }), h.task.state({ id })]) {
      expect((await codeOf(call)).code).toBe(Code.INVALID_ARGUMENT);
    }
  });

  it.each(['..', '../../escape', 'p/../../x'])('refuses sandbox id %p on the Sandbox API: INVALID_ARGUMENT, no VM, nothing created', async (sandboxId) => {
    const bundle = await h.sandboxBundle('p1');
    const before = tree(h.dir);
    const err = await codeOf(h.sandbox.createSandbox({ sandboxId, bundlePath: bundle }));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(/invalid sandbox_id/);
    expect((await codeOf(h.sandbox.startSandbox({ sandboxId }))).code).toBe(Code.INVALID_ARGUMENT);
    expect(h.bootsBegun).toBe(0);
    expect(tree(h.dir)).toEqual(before);
  });

  it.each(['..', '../e', 'e/../../x'])('refuses exec id %p: INVALID_ARGUMENT, nothing reaches the agent', async (execId) => {
    await h.run('c1', ['sleep']);
    const execs = h.agent.methods().filter((m) => m === 'ExecProcess').length;
    const err = await codeOf(h.task.exec({ id: 'c1', execId, spec: packJsonAny(OciTypeUrl.Process, { args: ['true'], cwd: '/' }) }));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(/invalid exec id/);
    expect(h.agent.methods().filter((m) => m === 'ExecProcess').length).toBe(execs);
  });

  it.each<[string, Partial<OciSpec>, RegExp]>([
    ['a mount destination with ..', { mounts: [{ destination: '/data/../../../etc', type: 'bind', source: '/tmp', options: ['rbind'] }] }, /mount destination .* '\.\.'/],
    ['a relative mount destination', { mounts: [{ destination: 'data', type: 'tmpfs', source: 'tmpfs' }] }, /not an absolute path/],
    ['a bind source with ..', { mounts: [{ destination: '/data', type: 'bind', source: '/var/lib/../../etc', options: ['rbind'] }] }, /bind mount source .* '\.\.'/],
    ['an overlay lowerdir with ..', { mounts: [{ destination: '/o', type: 'overlay', source: 'overlay', options: ['lowerdir=/a:/b/../../etc'] }] }, /overlay lowerdir .* '\.\.'/],
    ['a root path with ..', { root: { path: '../../../../etc' } }, /root path .* '\.\.'/],
    ['a NUL in a destination', { mounts: [{ destination: '/data\0x', type: 'tmpfs', source: 'tmpfs' }] }, /NUL/],
  ])('refuses %s: INVALID_ARGUMENT before a VM is booted or anything shared', async (_what, extra, message) => {
    const bundle = await h.bundle('c1', ['true'], extra);
    const before = tree(h.dir);
    const err = await codeOf(h.task.create({ id: 'c1', bundle, stdout: '', stderr: '', stdin: '' }));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(err.message).toMatch(message);
    expect(h.bootsBegun).toBe(0);
    expect(h.vms).toHaveLength(0);
    expect(tree(h.dir)).toEqual(before);
  });

  it('refuses them in a later container of a running pod too: its VM and the sandbox run on, nothing shared', async () => {
    const pod = { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'p1' };
    await h.run('p1', ['sleep'], { extra: { annotations: pod } });
    const bundle = await h.bundle('c2', ['true'], {
      annotations: { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'p1' },
      mounts: [{ destination: '/etc/../../host', type: 'bind', source: '/tmp', options: ['rbind'] }],
    });
    const err = await codeOf(h.task.create({ id: 'c2', bundle, stdout: '', stderr: '', stdin: '' }));
    expect(err.code).toBe(Code.INVALID_ARGUMENT);
    expect(h.vms[0]!.share.shared).toEqual([]);
    expect(h.vms[0]!.share.rootfs.has('c2')).toBe(false);
    expect((await h.task.state({ id: 'p1' })).status).toBe(2);
    expect(h.vms[0]!.stopped).toBe(0);
  });
});
