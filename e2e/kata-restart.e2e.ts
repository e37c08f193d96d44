/**
 * containerd restart with a kata task running (reference §2.8): a private containerd runs
 * `ctr run -d ... sleep` on io.containerd.kata.v2, is stopped by its pid and started again with the
 * same config, root and state, on every containerd of the matrix. containerd must reload the shim from
 * the bundle (`address`, or 2.x's bootstrap.json), see the
 * task RUNNING, exec into it, receive the shim's events on its new ttrpc socket, and kill + delete
 * must leave nothing behind. The shim and QEMU must live through the restart untouched.
 *
 * Uses the installed shim, configuration and guest image (scripts/install.sh). One VM boot.
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  EventWatcher, KATA_STATE_DIR, NO_LEFTOVERS, PrivateContainerd, containerdMatrix, describeKata, ensureTestImage, findLeftovers, isAlive,
  listeningPids, readGuestManifest, run, waitUntil,
} from './harness';

const RUNTIME = 'io.containerd.kata.v2';
const TEST_TIMEOUT_MS = 240_000;


describeKata('kata-ts across a containerd restart', () => describe.each(containerdMatrix())('%s', (_label, flavour) => {
  let ctd: PrivateContainerd;
  let image: string;
  const id = `kata-restart-${process.pid}`;

  beforeAll(async () => {
    ctd = await PrivateContainerd.start({ flavour });
    const img = await ensureTestImage();
    await ctd.importImage(img.tarPath);
    image = img.ref;
  }, 120_000);

  afterAll(async () => {
    if (ctd && process.env.KATA_TS_E2E_KEEP_LOG) writeFileSync(process.env.KATA_TS_E2E_KEEP_LOG, readFileSync(ctd.layout.logFile));
    await ctd?.stop();
  }, 120_000);

  it('keeps the task RUNNING, exec-able and killable after containerd is stopped and started again', async () => {
    const ctrArgs = (args: string[]) => ctd.ctrArgs(args);
    const started = await run(ctd.program('ctr'), ctrArgs(['run', '-d', '--null-io', '--runtime', RUNTIME, image, id, 'sh', '-c', 'echo before > /tmp/mark; exec sleep 600']), { timeoutMs: 180_000 });
    expect(started).toMatchObject({ code: 0 });
    const socket = ctd.shimSocket(id);
    const [shimPid] = await listeningPids(socket);
    const before = (await ctd.tasks()).find((t) => t.id === id);
    expect(before?.status).toBe('RUNNING');
    const qemuPid = before!.pid;
    expect(shimPid).toBeGreaterThan(0);

    const oldContainerd = ctd.pid;
    await ctd.restart();
    expect(ctd.pid).not.toBe(oldContainerd);
    expect(await isAlive(oldContainerd)).toBe(false);
    // The shim and its VM outlived containerd (the daemon is detached from it) and still serve the same socket.
    expect(await isAlive(shimPid!)).toBe(true);
    expect(await isAlive(qemuPid)).toBe(true);
    expect(await listeningPids(socket)).toEqual([shimPid]);

    // containerd reloaded the shim from the bundle and sees the task as it is.
    expect((await ctd.tasks()).find((t) => t.id === id)).toEqual({ id, pid: qemuPid, status: 'RUNNING' });
    const exec = await ctd.ctr(['task', 'exec', '--exec-id', 'after-restart', id, 'sh', '-c', 'cat /tmp/mark; uname -r; exit 3'], { timeoutMs: 60_000 });
    expect(exec).toMatchObject({ code: 3, stdout: `before\n${readGuestManifest().kernel.version}\n` });

    // Events reach the new containerd: the shim's publisher re-dialled containerd's ttrpc socket.
    const events = await EventWatcher.start(ctd);
    try {
      await ctd.ctrOk(['task', 'kill', '-s', 'SIGKILL', id]);
      const exit = await events.waitFor((l) => l.includes('/tasks/exit') && l.includes(`"container_id":"${id}"`) && !l.includes('"id":"after-restart"'), 30_000);
      expect(exit).toMatch(/"exit_status":137/);
    } finally {
      await events.stop();
    }
    expect(await waitUntil(async () => (await ctd.tasks()).find((t) => t.id === id)?.status === 'STOPPED', 30_000, 100)).toBe(true);
    await ctd.ctrOk(['task', 'delete', id]);
    await ctd.ctrOk(['containers', 'delete', id]);

    const footprint = { paths: [path.join(KATA_STATE_DIR, 'sbs', id), socket, ctd.bundleDir(id)], pids: [shimPid!, qemuPid] };
    let left = await findLeftovers(footprint);
    await waitUntil(async () => JSON.stringify((left = await findLeftovers(footprint))) === JSON.stringify(NO_LEFTOVERS), 20_000, 200);
    expect(left).toEqual(NO_LEFTOVERS);
  }, TEST_TIMEOUT_MS);

  // Issue 11: containerd SIGKILLed while the shim was still booting a pod's VM. containerd 1.x reloads
  // the shim and gets the task once the create finished; 2.x finds a shim with no task, calls it
  // leaked and sends Delete + Shutdown. Either way the pod must be removable and the VM must not
  // outlive its shim.
  it('removes a pod whose create was cut short by containerd being killed, leaving no VM behind', async () => {
    const crashId = `${id}-crash`;
    const ctr = spawn(ctd.program('ctr'), ctd.ctrArgs(['run', '-d', '--null-io', '--runtime', RUNTIME, image, crashId, 'sleep', '600']), { stdio: 'ignore' });
    const ctrExited = new Promise((resolve) => ctr.once('exit', resolve));
    // The sandbox record names QEMU as soon as it runs: from then on the create is mid-boot.
    const recordPath = path.join(KATA_STATE_DIR, 'sbs', crashId, 'sandbox.json');
    let record: { shimPid?: number; hypervisorPid?: number } = {};
    expect(await waitUntil(() => {
      try {
        record = JSON.parse(readFileSync(recordPath, 'utf8')) as typeof record;
      } catch {
        return false;
      }
      return (record.hypervisorPid ?? 0) > 0;
    }, 120_000, 20)).toBe(true);
    const created = (await ctd.tasks()).some((t) => t.id === crashId);
    const socket = ctd.shimSocket(crashId);
    await ctd.restart(15_000, true);
    await ctrExited;

    // 1.x: the task comes back once the shim's create is done; 2.x: the shim was reaped and left.
    await waitUntil(async () => (await ctd.tasks()).some((t) => t.id === crashId) || !(await isAlive(record.shimPid!)), 60_000, 200);
    const task = (await ctd.tasks()).find((t) => t.id === crashId);
    process.stderr.write(`${ctd.flavour.label}: create ${created ? 'had' : 'had not'} returned when containerd was killed; afterwards the task is ${task ? task.status : 'gone (shim reaped)'}\n`);
    if (task) {
      expect(['CREATED', 'RUNNING']).toContain(task.status);
      await ctd.ctrOk(['task', 'kill', '-s', 'SIGKILL', crashId]);
      expect(await waitUntil(async () => (await ctd.tasks()).find((t) => t.id === crashId)?.status === 'STOPPED', 30_000, 100)).toBe(true);
      await ctd.ctrOk(['task', 'delete', crashId]);
    }
    await ctd.ctrOk(['containers', 'delete', crashId]);

    const footprint = { paths: [path.join(KATA_STATE_DIR, 'sbs', crashId), socket, ctd.bundleDir(crashId)], pids: [record.shimPid!, record.hypervisorPid!] };
    let left = await findLeftovers(footprint);
    await waitUntil(async () => JSON.stringify((left = await findLeftovers(footprint))) === JSON.stringify(NO_LEFTOVERS), 30_000, 200);
    expect(left).toEqual(NO_LEFTOVERS);
  }, TEST_TIMEOUT_MS);
}));
