import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { defaultConfig } from '../config/config';
import { silentLogger } from '../framework/logging';
import type { VmExit, VmSpec } from '../hypervisor/hypervisor';
import type { MigrationProgress } from '../hypervisor/migration';
import { FakeAgent } from '../test-support/fake-agent';
import { cloneSpec, obtainTemplate, templateIneligibility, type TemplateProgress, type TemplateVm } from './vm-template';

const spec: VmSpec = {
  sandboxId: 'a', dir: '/run/kata-ts/sbs/a/vm', accel: 'tcg', vcpus: 1, memoryMiB: 512, kernel: '/k',
  kernelParams: [], agentChannel: { kind: 'virtio-serial', socketPath: '/run/kata-ts/sbs/a/vm/agent.sock' },
  share: { kind: 'virtio-9p', hostPath: '/run/kata-ts/sbs/a/shared', msize: 524288 }, cpuFeatures: '', entropySource: '/dev/urandom',
};
const size = { vcpus: 1, memoryMiB: 512 };

describe('VM template eligibility', () => {
  it('clones default-sized 9p sandboxes on virtio-serial, and says why not otherwise', () => {
    const config = defaultConfig();
    expect(templateIneligibility(config, spec, size)).toBeUndefined();
    expect(templateIneligibility(config, spec, { vcpus: 2, memoryMiB: 512 })).toMatch(/size/);
    expect(templateIneligibility(config, spec, { vcpus: 1, memoryMiB: 1024 })).toMatch(/size/);
    expect(templateIneligibility(config, { ...spec, share: { kind: 'virtio-fs', socketPath: '/s' } }, size)).toMatch(/virtio-fs/);
    expect(templateIneligibility(config, { ...spec, agentChannel: { kind: 'vsock', cid: 9, port: 1024 } }, size)).toMatch(/vsock/);
    expect(templateIneligibility(config, { ...spec, nics: [{} as never] }, size)).toMatch(/hot-plug ports/);
    expect(templateIneligibility(config, { ...spec, hotplugPorts: 2, nics: [{} as never, {} as never] }, size)).toBeUndefined();
    expect(templateIneligibility(config, { ...spec, hotplugPorts: 2, nics: [{} as never, {} as never, {} as never] }, size)).toMatch(/more NICs/);
    expect(templateIneligibility({ ...config, factory: { ...config.factory, enableTemplate: false } }, spec, size)).toMatch(/enable_template/);
  });

  it('turns the sandbox spec into a clone of the template', () => {
    const clone = cloneSpec(spec, { key: 'k', dir: '/t/k', memory: '/t/k/memory', state: '/t/k/state' });
    expect(clone).toEqual({ ...spec, memoryFile: { path: '/t/k/memory', shared: false }, incoming: true, qmpSocket: '/run/kata-ts/sbs/a/vm/qmp.sock' });
  });
});

/** A template VM whose agent is a FakeAgent and whose save reports scripted migration polls. */
class FakeTemplateVm implements TemplateVm {
  readonly pid = 4321;
  readonly exited: Promise<VmExit> = new Promise(() => undefined);
  stopped = false;
  constructor(private readonly spec: VmSpec, private readonly agent: FakeAgent, private readonly polls: MigrationProgress[]) {}
  async start(): Promise<void> {
    // The guest's RAM file, as QEMU's memory-backend-file would create it.
    await fs.writeFile(this.spec.memoryFile!.path, Buffer.alloc(64 * 1024, 1));
  }
  connectAgent(): Promise<import('node:net').Socket> {
    return this.agent.connect();
  }
  helperPids(): number[] {
    return [];
  }
  diagnostics(): string[] {
    return [];
  }
  async addMemory(): Promise<void> {}
  async saveAsTemplate(file: string, onProgress?: (p: MigrationProgress) => void): Promise<void> {
    for (const p of this.polls) onProgress?.(p);
    await fs.writeFile(file, 'device state');
  }
  async stop(): Promise<void> {
    this.stopped = true;
  }
}

describe('making a VM template reports its progress', () => {
  let dir: string;
  let agent: FakeAgent;
  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-template-progress-'));
    agent = await FakeAgent.start();
  });
  afterEach(async () => {
    await agent.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('boot, kernel, agent up, warming, saving with a percentage that never goes down, saved, done; then done alone', async () => {
    const base = defaultConfig();
    const config = { ...base, factory: { ...base.factory, templatePath: path.join(dir, 'templates') } };
    const polls: MigrationProgress[] = [
      { status: 'setup', transferredBytes: 0, totalBytes: 0 },
      { status: 'active', transferredBytes: 100, totalBytes: 400 },
      // QEMU's total grew: the share done stays at 25%, not 20%.
      { status: 'active', transferredBytes: 100, totalBytes: 500 },
      { status: 'active', transferredBytes: 450, totalBytes: 500 },
      { status: 'completed', transferredBytes: 300, totalBytes: 500 },
    ];
    const vms: FakeTemplateVm[] = [];
    const events: TemplateProgress[] = [];
    const input = {
      config, spec: { ...spec, dir: path.join(dir, 'sb', 'vm') }, log: silentLogger(), onProgress: (p: TemplateProgress) => events.push(p),
      createVm: (s: VmSpec) => {
        const vm = new FakeTemplateVm(s, agent, polls);
        vms.push(vm);
        return vm;
      },
    };
    const files = await obtainTemplate(input);

    expect(events.map((e) => e.phase)).toEqual(['booting', 'kernel', 'agent-up', 'warming', 'saving', 'saving', 'saving', 'saving', 'saving', 'saved', 'done']);
    const saving = events.filter((e): e is Extract<TemplateProgress, { phase: 'saving' }> => e.phase === 'saving');
    expect(saving.map((e) => e.percent)).toEqual([0, 25, 25, 90, 100]);
    expect(saving[1]).toMatchObject({ transferredBytes: 100, totalBytes: 400 });
    const times = events.map((e) => e.elapsedMs);
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    // The settle before the save is part of it: the save starts at least 500 ms after the agent answered.
    expect(saving[0]!.elapsedMs - events[3]!.elapsedMs).toBeGreaterThanOrEqual(450);
    expect(events.at(-1)).toEqual({
      phase: 'done', made: true, key: files.key, dir: files.dir, elapsedMs: expect.any(Number), ramBytes: 64 * 1024, diskBytes: expect.any(Number),
    });
    expect((events.at(-1) as { diskBytes: number }).diskBytes).toBeGreaterThan(0);
    expect(vms).toHaveLength(1);
    expect(vms[0]!.stopped).toBe(true);
    expect(agent.methods()).toContain('Check');

    // Already made: only done, made false, and no VM.
    events.length = 0;
    await obtainTemplate(input);
    expect(events).toEqual([expect.objectContaining({ phase: 'done', made: false, key: files.key, ramBytes: 64 * 1024 })]);
    expect(vms).toHaveLength(1);
  });
});
