import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Code, isTtrpcError } from 'ttrpc-ts';
import { OciTypeUrl, unpackJsonAny } from '@kata-ts/protocol';
import { CriTypeUrl, criCodecs } from '@kata-ts/protocol/cri';
import type { OciSpec } from '../oci/spec';
import { TaskHarness } from '../test-support/task-harness';

async function code(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return isTtrpcError(err) ? err.code : -1;
  }
}

/** CreateSandboxRequest.options as containerd's CRI sends them. */
function podOptions(config: Parameters<typeof criCodecs.podSandboxConfig.encode>[0]) {
  return { type_url: CriTypeUrl.PodSandboxConfig, value: criCodecs.podSandboxConfig.encode(config) };
}

const inPod = (pod: string) => ({ annotations: { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': pod } });

describe('Sandbox service over a fake agent', () => {
  let h: TaskHarness;

  beforeEach(async () => {
    h = await TaskHarness.start();
  });

  afterEach(async () => {
    await h.close();
  });

  /** CreateSandbox + StartSandbox for `id` (a pod with no network). */
  async function startPod(id: string, config: Parameters<typeof criCodecs.podSandboxConfig.encode>[0] = {}): Promise<number> {
    await h.sandbox.createSandbox({ sandboxId: id, bundlePath: await h.sandboxBundle(id), options: podOptions(config) });
    return (await h.sandbox.startSandbox({ sandboxId: id })).pid;
  }

  it('answers NOT_FOUND for a sandbox id it does not serve, before and after one exists', async () => {
    const unknown = { sandboxId: 'nope' };
    const calls = () => [
      h.sandbox.startSandbox(unknown), h.sandbox.platform(unknown), h.sandbox.stopSandbox(unknown), h.sandbox.waitSandbox(unknown),
      h.sandbox.sandboxStatus(unknown), h.sandbox.pingSandbox(unknown), h.sandbox.shutdownSandbox(unknown),
      h.sandbox.sandboxMetrics(unknown), h.sandbox.updateSandbox(unknown),
    ];
    expect(await Promise.all(calls().map(code))).toEqual(Array(9).fill(Code.NOT_FOUND));
    await startPod('pod');
    const err = await h.sandbox.sandboxStatus(unknown).catch((e: Error) => e);
    expect(err).toMatchObject({ code: Code.NOT_FOUND, message: expect.stringContaining('sandbox nope not found') });
    expect(await Promise.all(calls().map(code))).toEqual(Array(9).fill(Code.NOT_FOUND));
    expect(await code(h.sandbox.startSandbox({ sandboxId: '' }))).toBe(Code.INVALID_ARGUMENT);
  });

  it('boots the pod VM on StartSandbox with no container, sized and named from the PodSandboxConfig', async () => {
    await h.sandbox.createSandbox({
      sandboxId: 'pod',
      bundlePath: await h.sandboxBundle('pod'),
      netnsPath: '',
      options: podOptions({
        hostname: 'web-0',
        annotations: { 'example.com/team': 'a' },
        dnsConfig: { servers: ['10.0.0.10'], searches: ['ns.svc.cluster.local'], options: ['ndots:5'] },
        linux: { resources: { cpuPeriod: 100000, cpuQuota: 200000, memoryLimitInBytes: 256 * 1048576 } },
      }),
    });
    expect(h.vms).toHaveLength(0);
    expect(await h.sandbox.sandboxStatus({ sandboxId: 'pod' })).toMatchObject({ sandboxId: 'pod', state: 'SANDBOX_NOTREADY', pid: 0 });

    const started = await h.sandbox.startSandbox({ sandboxId: 'pod' });
    expect(started.pid).toBe(4242);
    expect(started.createdAt?.seconds).toBeGreaterThan(1_600_000_000);
    expect(unpackJsonAny<OciSpec>(started.spec, OciTypeUrl.Spec)).toMatchObject({ hostname: 'web-0', annotations: { 'example.com/team': 'a' } });
    expect(h.vms).toHaveLength(1);
    const boot = h.vms[0]!.request;
    expect(boot).toMatchObject({ sandboxId: 'pod', kind: 'sandbox', dns: ['nameserver 10.0.0.10', 'search ns.svc.cluster.local', 'options ndots:5'] });
    expect(boot.spec.hostname).toBe('web-0');
    expect(boot.spec.annotations).toMatchObject({
      'example.com/team': 'a',
      'io.kubernetes.cri.sandbox-cpu-quota': '200000',
      'io.kubernetes.cri.sandbox-cpu-period': '100000',
      'io.kubernetes.cri.sandbox-memory': String(256 * 1048576),
    });
    expect(h.agent.methods()).toEqual(['CreateSandbox']);
    expect(await h.sandbox.sandboxStatus({ sandboxId: 'pod' })).toMatchObject({ state: 'SANDBOX_READY', pid: 4242 });
    const record = JSON.parse(await fs.readFile(path.join(h.dir, 'bundles', 'pod', 'kata-ts.json'), 'utf8'));
    expect(record).toMatchObject({ sandboxId: 'pod', ownsSandbox: true });
    expect(await h.sandbox.platform({ sandboxId: 'pod' })).toMatchObject({ platform: { os: 'linux' } });
  });

  it('refuses what the state forbids: a second start, a second create, another pod, foreign options', async () => {
    await startPod('pod');
    expect(await code(h.sandbox.startSandbox({ sandboxId: 'pod' }))).toBe(Code.FAILED_PRECONDITION);
    expect(await code(h.sandbox.createSandbox({ sandboxId: 'pod', bundlePath: h.dir }))).toBe(Code.ALREADY_EXISTS);
    expect(await code(h.sandbox.createSandbox({ sandboxId: 'other', bundlePath: h.dir }))).toBe(Code.FAILED_PRECONDITION);
    await h.sandbox.stopSandbox({ sandboxId: 'pod' });
    expect(await code(h.sandbox.startSandbox({ sandboxId: 'pod' }))).toBe(Code.FAILED_PRECONDITION);
    expect(await code(h.sandbox.sandboxMetrics({ sandboxId: 'pod' }))).toBe(Code.UNIMPLEMENTED);
    expect(await code(h.sandbox.updateSandbox({ sandboxId: 'pod' }))).toBe(Code.UNIMPLEMENTED);
  });

  it('refuses sandbox options that are not a PodSandboxConfig', async () => {
    const options = { type_url: 'example.com/Other', value: new Uint8Array([1, 2]) };
    expect(await code(h.sandbox.createSandbox({ sandboxId: 'pod', bundlePath: h.dir, options }))).toBe(Code.INVALID_ARGUMENT);
  });

  it('runs the pod containers in that VM; deleting them leaves the pod, StopSandbox ends it and wakes WaitSandbox', async () => {
    await startPod('pod');
    const waited = h.sandbox.waitSandbox({ sandboxId: 'pod' });
    const app = await h.bundle('app', ['exit', '3'], inPod('pod'));
    expect((await h.task.create({ id: 'app', bundle: app })).pid).toBe(4242);
    await h.task.start({ id: 'app' });
    expect((await h.task.wait({ id: 'app' })).exitStatus).toBe(3);
    expect(h.vms).toHaveLength(1);
    await h.task.delete({ id: 'app' });
    // containerd calls Shutdown after each task's Delete: the pod's VM outlives its containers.
    await h.task.shutdown({ id: 'app' });
    expect(h.exitRequested).toBe(0);
    expect(h.vms[0]!.stopped).toBe(0);
    expect((await h.sandbox.sandboxStatus({ sandboxId: 'pod' })).state).toBe('SANDBOX_READY');

    await h.sandbox.stopSandbox({ sandboxId: 'pod', timeoutSecs: 5 });
    const exit = await waited;
    expect(exit.exitStatus).toBe(0);
    expect(exit.exitedAt?.seconds).toBeGreaterThan(1_600_000_000);
    expect(h.vms[0]!.stopped).toBeGreaterThan(0);
    const status = await h.sandbox.sandboxStatus({ sandboxId: 'pod', verbose: true });
    expect(status).toMatchObject({ state: 'SANDBOX_NOTREADY', exitedAt: exit.exitedAt });
    expect(JSON.parse(status.info?.['kata-ts'] ?? '{}')).toMatchObject({ state: 'stopped', hypervisorPid: 4242 });
    await h.sandbox.stopSandbox({ sandboxId: 'pod' }); // idempotent
    expect(await code(h.task.create({ id: 'late', bundle: await h.bundle('late', ['sleep'], inPod('pod')) }))).toBe(Code.FAILED_PRECONDITION);

    await h.sandbox.shutdownSandbox({ sandboxId: 'pod' });
    expect(h.exitRequested).toBe(1);
    expect(await code(h.sandbox.sandboxStatus({ sandboxId: 'pod' }))).toBe(Code.NOT_FOUND);
  });

  it('StopSandbox kills the containers still running (their real exit, 137) before the VM goes', async () => {
    await startPod('pod');
    await h.task.create({ id: 'app', bundle: await h.bundle('app', ['sleep'], inPod('pod')) });
    await h.task.start({ id: 'app' });
    const appWait = h.task.wait({ id: 'app' });
    await h.sandbox.stopSandbox({ sandboxId: 'pod', timeoutSecs: 5 });
    expect((await appWait).exitStatus).toBe(137);
    expect(h.agent.calls.find((c) => c.method === 'SignalProcess')?.request).toMatchObject({ containerId: 'app', signal: 9 });
  });

  it('refuses a container that asks for the pod PID namespace: no pause container holds one', async () => {
    await startPod('pod');
    const shared = { ...inPod('pod'), linux: { namespaces: [{ type: 'pid', path: '/proc/4242/ns/pid' }] } };
    const err = await h.task.create({ id: 'app', bundle: await h.bundle('app', ['sleep'], shared) }).catch((e: Error) => e);
    expect(err).toMatchObject({ code: Code.FAILED_PRECONDITION, message: expect.stringContaining('PID namespace') });
    expect(h.agent.methods()).not.toContain('CreateContainer');
    expect(h.vms[0]!.share.released).toContain('app');
  });

  it('reports the VM dying on its own as the sandbox exit (255)', async () => {
    await startPod('pod');
    const waited = h.sandbox.waitSandbox({ sandboxId: 'pod' });
    h.vms[0]!.die('test');
    expect((await waited).exitStatus).toBe(255);
    expect((await h.sandbox.sandboxStatus({ sandboxId: 'pod' })).state).toBe('SANDBOX_NOTREADY');
  });

  it('ShutdownSandbox of a sandbox never started lets the shim go without a VM', async () => {
    await h.sandbox.createSandbox({ sandboxId: 'pod', bundlePath: await h.sandboxBundle('pod') });
    await h.sandbox.pingSandbox({ sandboxId: 'pod' });
    await h.sandbox.shutdownSandbox({ sandboxId: 'pod' });
    expect(h.vms).toHaveLength(0);
    expect(h.exitRequested).toBe(1);
    expect(await code(h.sandbox.shutdownSandbox({ sandboxId: 'pod' }))).toBe(Code.NOT_FOUND);
  });
});
