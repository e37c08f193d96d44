import { promises as fs } from 'node:fs';
import path from 'node:path';
import { TaskHarness } from '../test-support/task-harness';
import type { OciSpec } from '../oci/spec';

/** A hook that appends "<name> <status> <pid> <netns annotation>" to <dir>/hooks.log. */
const logHook = (dir: string, name: string, fail = false) => ({
  path: '/bin/sh',
  args: ['sh', '-c', `s=$(cat); echo "${name} $(echo "$s" | sed -n 's/.*"status":"\\([a-z]*\\)".*/\\1/p') $(echo "$s" | sed -n 's/.*"pid":\\([0-9]*\\).*/\\1/p')" >> ${dir}/hooks.log${fail ? '; exit 2' : ''}`],
});

describe('OCI hooks through the task service (fake agent)', () => {
  let h: TaskHarness;
  beforeEach(async () => {
    h = await TaskHarness.start();
  });
  afterEach(async () => {
    await h.close();
  });
  const logged = () => fs.readFile(path.join(h.dir, 'hooks.log'), 'utf8').catch(() => '');

  it('runs prestart and createRuntime before the VM boots, poststart after start, poststop after delete', async () => {
    const extra: Partial<OciSpec> = {
      hooks: {
        prestart: [logHook(h.dir, 'prestart')],
        createRuntime: [logHook(h.dir, 'createRuntime')],
        poststart: [logHook(h.dir, 'poststart')],
        poststop: [logHook(h.dir, 'poststop')],
      },
    };
    const { stdout } = await h.run('c1', ['echo', 'hi'], { extra });
    await h.task.wait({ id: 'c1' });
    expect(await stdout).toBe('hi\n');
    const pid = h.vms[0]!.pid;
    expect(await logged()).toBe(`prestart creating 0\ncreateRuntime creating 0\npoststart running ${pid}\n`);
    await h.task.delete({ id: 'c1' });
    expect((await logged()).split('\n').at(-2)).toBe(`poststop stopped ${pid}`);
  });

  it('fails Create when a createRuntime hook fails, and boots no VM', async () => {
    const bundle = await h.bundle('c1', ['echo'], { hooks: { createRuntime: [logHook(h.dir, 'createRuntime', true)] } });
    await expect(h.task.create({ id: 'c1', bundle, stdout: '', stderr: '', stdin: '' })).rejects.toThrow(/OCI hook \/bin\/sh exited 2/);
    expect(await logged()).toBe('createRuntime creating 0\n');
    expect(h.vms).toHaveLength(0);
  });
});
