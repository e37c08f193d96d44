import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Duplex } from 'node:stream';
import pino from 'pino';
import { defaultConfig, type ShimConfig } from '../config/config';
import { silentLogger } from '../framework/logging';
import type { Hypervisor, VmExit, VmSpec } from '../hypervisor/hypervisor';
import { FakeAgent } from '../test-support/fake-agent';
import { RecordingShare } from '../test-support/fake-vm';
import { Sandbox, type SandboxShareLike } from './sandbox';

class FakeShare extends RecordingShare implements SandboxShareLike {
  readonly sharedDir = '/fake/shared';
  setups = 0;
  teardowns = 0;
  async setup(): Promise<void> {
    this.setups++;
  }
  async teardown(): Promise<void> {
    this.teardowns++;
  }
}

class FakeHypervisor implements Hypervisor {
  readonly pid = 777;
  stops = 0;
  private end!: (e: VmExit) => void;
  readonly exited = new Promise<VmExit>((r) => (this.end = r));
  constructor(private readonly dial: () => Promise<Duplex>) {}
  async start(): Promise<void> {}
  connectAgent(): Promise<Duplex> {
    return this.dial();
  }
  diagnostics(): string[] {
    return ['qemu: something went wrong'];
  }
  helperPids(): number[] {
    return [];
  }
  readonly added: number[] = [];
  async addMemory(mib: number): Promise<void> {
    this.added.push(mib);
  }
  crash(): void {
    this.end({ code: 1, signal: null });
  }
  async stop(): Promise<void> {
    this.stops++;
    this.end({ code: null, signal: 'SIGKILL' });
  }
}

describe('Sandbox', () => {
  let dir: string;
  let agent: FakeAgent;
  let share: FakeShare;
  let config: ShimConfig;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-sb-'));
    agent = await FakeAgent.start();
    share = new FakeShare();
    config = defaultConfig();
    config.agent.dialTimeout = 2;
    config.agent.healthCheckInterval = 0;
  });

  afterEach(async () => {
    await agent.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const create = (hv: FakeHypervisor) =>
    Sandbox.create({
      id: 'sb', dir: path.join(dir, 'sbs', 'sb'), config, hostname: 'host1', log: silentLogger(),
      vmSpec: () => ({ agentChannel: { kind: 'virtio-serial', socketPath: '/nonexistent/agent.sock' } }) as VmSpec, createHypervisor: () => hv, createShare: () => share,
    });

  it('boots, waits for the agent and sends CreateSandbox with the 9p share storage', async () => {
    const hv = new FakeHypervisor(() => agent.connect());
    const sb = await create(hv);
    const req = agent.calls.find((c) => c.method === 'CreateSandbox')?.request;
    expect(req).toMatchObject({
      sandboxId: 'sb', hostname: 'host1',
      storages: [{ driver: '9p', source: 'kataShared', fstype: '9p', mountPoint: '/run/kata-containers/shared/containers', options: expect.arrayContaining(['msize=524288']) }],
    });
    expect(JSON.parse(await fs.readFile(path.join(sb.dir, 'sandbox.json'), 'utf8'))).toMatchObject({ sandboxId: 'sb', hypervisorPid: 777 });
    const deaths: string[] = [];
    sb.onDeath((r) => deaths.push(r));
    await sb.stop();
    expect(agent.methods()).toContain('DestroySandbox');
    expect(hv.stops).toBe(1);
    expect(share.teardowns).toBe(1);
    await expect(fs.stat(sb.dir)).rejects.toThrow();
    expect(deaths).toEqual([]);
  });

  it('logs a cold boot\'s phases at info with their ms, and nothing more for a clone or an adopted pool VM', async () => {
    const bootWith = async (spec: Partial<VmSpec>, name?: string): Promise<Array<{ msg: string; ms?: number; level: number }>> => {
      const lines: string[] = [];
      const hv = new FakeHypervisor(() => agent.connect());
      if (name) Object.assign(hv, { name });
      const sb = await Sandbox.create({
        id: 'sb', dir: path.join(dir, 'sbs', 'sb'), config, hostname: 'h', log: pino({ level: 'info' }, { write: (l: string) => void lines.push(l) }),
        vmSpec: () => ({ agentChannel: { kind: 'virtio-serial', socketPath: '/nonexistent/agent.sock' }, ...spec }) as VmSpec,
        createHypervisor: () => hv, createShare: () => share,
      }).catch(() => undefined); // the fake agent has no SetGuestDateTime, which a clone calls after 'agent is up'
      await sb?.stop();
      return lines.map((l) => JSON.parse(l) as { msg: string; ms?: number; level: number });
    };
    const cold = await bootWith({});
    const phases = cold.filter((l) => /^cold boot: |^agent is up$/.test(l.msg));
    expect(phases.map((l) => l.msg)).toEqual([
      'cold boot: QEMU started, the guest kernel is booting',
      'cold boot: agent channel connected, waiting for the agent to answer',
      'agent is up',
    ]);
    for (const l of phases) {
      expect(l.level).toBe(30); // info
      expect(typeof l.ms).toBe('number');
    }
    // The hot paths: a clone of a template, a pool VM taken over.
    for (const quiet of [await bootWith({ incoming: true }), await bootWith({}, 'kata-pool-1')]) {
      expect(quiet.filter((l) => l.msg.startsWith('cold boot'))).toEqual([]);
      expect(quiet.filter((l) => l.msg === 'agent is up')).toHaveLength(1);
    }
  });

  it('reports death at once when the hypervisor process ends', async () => {
    const hv = new FakeHypervisor(() => agent.connect());
    const sb = await create(hv);
    const death = new Promise<string>((r) => sb.onDeath(r));
    hv.crash();
    expect(await death).toMatch(/hypervisor exited \(code 1/);
    expect(sb.alive).toBe(false);
    expect(() => sb.ensureAlive()).toThrow(/dead/);
    await sb.stop();
  });

  it('reports death when a periodic Health.Check fails', async () => {
    config.agent.healthCheckInterval = 0.05;
    const sb = await create(new FakeHypervisor(() => agent.connect()));
    const death = new Promise<string>((r) => sb.onDeath(r));
    agent.unhealthy = true;
    expect(await death).toMatch(/health check failed/);
    await sb.stop();
  });

  it('fails with what the hypervisor said when the VM ends before the agent answers, and cleans up', async () => {
    const silent = net.createServer(() => undefined);
    const sock = path.join(dir, 'silent.sock');
    await new Promise<void>((r) => silent.listen(sock, r));
    const hv = new FakeHypervisor(() => new Promise((resolve) => { const s = net.connect(sock, () => resolve(s)); }));
    setTimeout(() => hv.crash(), 300);
    await expect(create(hv)).rejects.toThrow(/VM exited before its agent answered: qemu: something went wrong/);
    expect(hv.stops).toBe(1);
    expect(share.teardowns).toBe(1);
    await expect(fs.stat(path.join(dir, 'sbs'))).rejects.toThrow();
    silent.close();
  });

  it('grows memory by whole 128 MiB DIMMs within maxmem and the slots, onlining each, never shrinking', async () => {
    const hv = new FakeHypervisor(() => agent.connect());
    const sb = await Sandbox.create({
      id: 'sb', dir: path.join(dir, 'sbs', 'sb'), config, hostname: 'h', log: silentLogger(),
      vmSpec: () => ({ memoryMiB: 512, maxMemoryMiB: 1024, memorySlots: 2, agentChannel: { kind: 'virtio-serial', socketPath: '/nonexistent/agent.sock' } }) as VmSpec, createHypervisor: () => hv, createShare: () => share,
    });
    await sb.ensureMemory(500); // already there
    await sb.ensureMemory(700); // +188 -> two blocks
    await sb.ensureMemory(600); // never shrinks
    await sb.ensureMemory(5000); // capped by maxmem
    await sb.ensureMemory(5000); // no slot left: keeps what it has
    expect(hv.added).toEqual([256, 256]);
    expect(agent.methods().filter((m) => m === 'OnlineCPUMem')).toHaveLength(2);
    await sb.stop();
  });
});
