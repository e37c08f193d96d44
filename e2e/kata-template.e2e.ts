/**
 * VM templates end to end (shim [factory] enable_template): through a private containerd and the
 * installed shim, with the templates kept in this test's own directory (a configuration passed with
 * `ctr run --runtime-config-path`). The first sandbox makes the template; every sandbox then runs in
 * a clone (QEMU started with -incoming and the template's RAM file mapped privately). Clones must be
 * real, separate guests: the right wall clock, different random numbers, their own containers; and a
 * configuration with enable_template = false still boots cold.
 */
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeKata, kataCtrSuite } from './harness';
import { listProcesses } from './harness/procfs';

const TEST_TIMEOUT_MS = 300_000;


describeKata('kata-ts VM templates through ctr', () => {
  const s = kataCtrSuite('kata-tpl');
  let templates: string;
  let withTemplates: string;
  let cold: string;

  const newId = (what: string) => s.newId(what);
  const runDetached = (id: string, config: string) => s.kata.runDetached(id, config, ['sleep', '100000']);
  const exec = (id: string, execId: string, script: string) => s.kata.exec(id, execId, script);
  const qemuOf = (id: string) => s.kata.qemuOf(id);
  const remove = (id: string) => s.kata.remove(id);

  beforeAll(() => {
    templates = path.join(s.tmpDir, 'templates');
    withTemplates = s.config('templates', { enable_template: true, template_path: templates });
    cold = s.config('cold', { enable_template: false, template_path: templates });
  });

  afterEach(async () => {
    // No template VM may outlive its making.
    expect((await listProcesses()).filter((p) => p.state !== 'Z' && p.argv.some((a) => a.includes(templates))
      && !s.ids.some((id) => p.argv.includes(`sandbox-${id}`)))).toEqual([]);
  }, 60_000);

  it('makes the template once; sandboxes are clones with their own clock, randomness and containers', async () => {
    const a = newId('a');
    const b = newId('b');
    await runDetached(a, withTemplates);
    const keys = readdirSync(templates).filter((k) => /^[0-9a-f]{32}$/.test(k));
    expect(keys).toHaveLength(1);
    const dir = path.join(templates, keys[0]!);
    expect(readdirSync(dir).sort()).toEqual(['memory', 'ready', 'state']);
    await runDetached(b, withTemplates);
    expect(readdirSync(templates).filter((k) => /^[0-9a-f]{32}$/.test(k))).toEqual(keys);

    for (const id of [a, b]) {
      const argv = (await qemuOf(id)).argv.join(' ');
      expect(argv).toContain('-incoming defer');
      expect(argv).toContain(`mem-path=${path.join(dir, 'memory')},share=off`);
    }
    const qa = await qemuOf(a);
    const qb = await qemuOf(b);
    expect(qa.pid).not.toBe(qb.pid);

    // The clock was set when the clone resumed (the template's is minutes old by now).
    const probe = 'date +%s; cat /proc/sys/kernel/random/uuid; head -c 16 /dev/urandom | od -An -tx1 | tr -d " \\n"; echo; uname -r';
    const [outA, outB] = [await exec(a, 'p1', probe), await exec(b, 'p1', probe)];
    const [dateA, uuidA, randA, kernelA] = outA.trim().split('\n');
    const [dateB, uuidB, randB, kernelB] = outB.trim().split('\n');
    const now = Date.now() / 1000;
    expect(Math.abs(Number(dateA) - now)).toBeLessThan(30);
    expect(Math.abs(Number(dateB) - now)).toBeLessThan(30);
    // Same starting memory, yet the RNGs differ: the kernel reseeded on the VM generation id change.
    expect(uuidA).toMatch(/^[0-9a-f-]{36}$/);
    expect(uuidA).not.toBe(uuidB);
    expect(randA).toMatch(/^[0-9a-f]{32}$/);
    expect(randA).not.toBe(randB);
    expect(kernelA).toBe(kernelB);
    expect(kernelA).not.toBe(os.release());

    // Separate guests: what one container writes, the other VM does not see.
    await exec(a, 'w', 'echo only-in-a > /tmp/mark');
    expect(await exec(a, 'r', 'cat /tmp/mark')).toBe('only-in-a\n');
    expect(await exec(b, 'r', 'cat /tmp/mark 2>/dev/null || echo absent')).toBe('absent\n');

    await remove(a);
    await remove(b);
    expect(existsSync(path.join(dir, 'memory'))).toBe(true); // the template outlives its clones
  }, TEST_TIMEOUT_MS);

  it('boots cold when enable_template is false', async () => {
    const id = newId('cold');
    await runDetached(id, cold);
    const argv = (await qemuOf(id)).argv.join(' ');
    expect(argv).not.toContain('-incoming');
    expect(argv).not.toContain('memory-backend-file');
    expect(await exec(id, 'x', 'echo cold-ok')).toBe('cold-ok\n');
    await remove(id);
  }, TEST_TIMEOUT_MS);
});
