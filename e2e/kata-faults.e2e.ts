/**
 * Faults an operator meets (issue 11), each through a private containerd, the installed shim and a
 * real VM, and each ending with nothing of the pod left on the host:
 *   - the VM freezes (QEMU stopped with SIGSTOP): the agent stops answering, the periodic Health.Check
 *     declares the VM dead within its configured interval + timeout, the task exits 255, QEMU is killed;
 *   - the shim daemon is SIGKILLed while its VM boots: containerd's cleanup (`shim delete`) finds the
 *     sandbox record and takes the VM down;
 *   - a VM template whose saved state is truncated: the clone fails, the sandbox boots cold, the broken
 *     template is discarded and the next sandbox makes a new one and clones again.
 */
import { spawn } from 'node:child_process';
import { readFileSync, readdirSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { EventWatcher, KATA_STATE_DIR, NO_LEFTOVERS, describeKata, isAlive, kataCtrSuite, settledLeftovers, waitUntil } from './harness';

const RUNTIME = 'io.containerd.kata.v2';
const TEST_TIMEOUT_MS = 300_000;
/** Health.Check every second, dead after 3 s of silence (the shipped defaults are 5 s and 15 s). */
const HEALTH = { health_check_interval: 1, health_check_timeout: 3 };

describeKata('kata-ts under faults', () => {
  const s = kataCtrSuite('kata-fault', 30_000);

  /** The shim's log lines (they reach containerd's log) about one sandbox. */
  const shimLog = (id: string) => readFileSync(s.ctd.layout.logFile, 'utf8').split('\n').filter((l) => l.includes(`"sandbox":"${id}"`));
  /** The sandbox record the shim writes as soon as QEMU runs (what `shim delete` cleans up from). */
  const sandboxRecord = (id: string): { shimPid?: number; hypervisorPid?: number } => {
    try {
      return JSON.parse(readFileSync(path.join(KATA_STATE_DIR, 'sbs', id, 'sandbox.json'), 'utf8')) as { shimPid?: number; hypervisorPid?: number };
    } catch {
      return {};
    }
  };

  it('declares a frozen VM dead through the health check: the task exits 255 and QEMU is killed', async () => {
    const id = s.newId('frozen');
    await s.kata.runDetached(id, s.config('health', HEALTH), ['sleep', '600']);
    const qemu = await s.kata.qemuOf(id);
    const events = await EventWatcher.start(s.ctd);
    const frozenAt = Date.now();
    process.kill(qemu.pid, 'SIGSTOP');
    let exitLine: string;
    try {
      exitLine = await events.waitFor((l) => l.includes('/tasks/exit') && l.includes(`"container_id":"${id}"`), 60_000);
    } finally {
      await events.stop();
      if (await isAlive(qemu.pid)) process.kill(qemu.pid, 'SIGCONT');
    }
    const detectedMs = Date.now() - frozenAt;
    process.stderr.write(`frozen VM: task exit after ${detectedMs} ms (health check every ${HEALTH.health_check_interval} s, timeout ${HEALTH.health_check_timeout} s)\n`);
    expect(exitLine).toMatch(/"exit_status":255/);
    // Within one interval + the timeout, with slack for a loaded TCG host; far below the shipped 5 + 15 s.
    expect(detectedMs).toBeLessThan((HEALTH.health_check_interval + HEALTH.health_check_timeout) * 1000 + 8_000);
    expect(shimLog(id).some((l) => l.includes('agent health check failed'))).toBe(true);
    expect(await waitUntil(async () => !(await isAlive(qemu.pid)), 20_000, 100)).toBe(true);
    expect((await s.ctd.tasks()).find((t) => t.id === id)?.status).toBe('STOPPED');
    await s.ctd.ctrOk(['task', 'delete', id]);
    await s.ctd.ctrOk(['containers', 'delete', id]);
  }, TEST_TIMEOUT_MS);

  it('takes the VM down when the shim daemon is killed while the VM boots', async () => {
    const id = s.newId('shimkill');
    const ctr = spawn(s.ctd.program('ctr'), s.ctd.ctrArgs(['run', '-d', '--null-io', '--runtime', RUNTIME, s.kata.image, id, 'sleep', '600']), { stdio: ['ignore', 'ignore', 'pipe'] });
    let ctrErr = '';
    ctr.stderr!.on('data', (d: Buffer) => (ctrErr += d.toString()));
    const ctrExit = new Promise<number | null>((resolve) => ctr.once('exit', resolve));
    let record = sandboxRecord(id);
    expect(await waitUntil(() => (record = sandboxRecord(id)).hypervisorPid !== undefined && record.hypervisorPid > 0, 120_000, 20)).toBe(true);
    const tasksBefore = await s.ctd.tasks();
    process.kill(record.shimPid!, 'SIGKILL');
    expect(await ctrExit).not.toBe(0);
    expect(ctrErr).not.toBe('');
    expect(tasksBefore.some((t) => t.id === id)).toBe(false); // it was still being created
    // containerd saw its shim die during Create and ran `containerd-shim-kata-v2 delete` in the bundle.
    expect(await waitUntil(async () => !(await isAlive(record.hypervisorPid!)), 30_000, 100)).toBe(true);
    expect((await s.ctd.tasks()).some((t) => t.id === id)).toBe(false);
    await s.ctd.ctrOk(['containers', 'delete', id]);
    expect(await settledLeftovers({ paths: [path.join(KATA_STATE_DIR, 'sbs', id), s.ctd.bundleDir(id)], pids: [record.shimPid!, record.hypervisorPid!] })).toEqual(NO_LEFTOVERS);
  }, TEST_TIMEOUT_MS);

  it('boots cold past a truncated template, discards it, and the next sandbox makes a new one', async () => {
    const templates = path.join(s.tmpDir, 'templates');
    const withTemplates = s.config('templates', { enable_template: true, template_path: templates });
    const keys = () => readdirSync(templates).filter((k) => /^[0-9a-f]{32}$/.test(k));
    const first = s.newId('tpl-first');
    await s.kata.runDetached(first, withTemplates, ['sleep', '600']);
    await s.kata.remove(first);
    expect(keys()).toHaveLength(1);
    const state = path.join(templates, keys()[0]!, 'state');
    truncateSync(state, Math.floor(statSync(state).size / 2));

    const cold = s.newId('tpl-cold');
    await s.kata.runDetached(cold, withTemplates, ['sleep', '600']);
    expect(await s.kata.exec(cold, 'e1', 'echo alive')).toBe('alive\n');
    const coldLog = shimLog(cold);
    expect(coldLog.some((l) => l.includes('starting from the VM template failed: booting cold'))).toBe(true);
    expect((await s.kata.qemuOf(cold)).argv).not.toContain('-incoming');
    await s.kata.remove(cold);

    const again = s.newId('tpl-again');
    await s.kata.runDetached(again, withTemplates, ['sleep', '600']);
    expect(await s.kata.exec(again, 'e1', 'echo alive')).toBe('alive\n');
    expect((await s.kata.qemuOf(again)).argv.join(' ')).toContain('-incoming defer');
    expect(shimLog(again).some((l) => l.includes('booting a template VM'))).toBe(true);
    expect(keys()).toHaveLength(1);
    expect(readdirSync(path.join(templates, keys()[0]!)).sort()).toEqual(['memory', 'ready', 'state']);
    await s.kata.remove(again);
  }, TEST_TIMEOUT_MS);
});
