/**
 * A task service wired for unit tests: TaskRuntime + the ttrpc Task and Sandbox services on a unix
 * socket, a FakeAgent behind a FakeVm, a publisher that records events, bundles and FIFOs in a temp dir.
 */
import { execFileSync } from 'node:child_process';
import { constants, openSync, promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Client, Server, createServiceClient, type ServiceClient } from 'ttrpc-ts';
import { SandboxService, TaskService } from '@kata-ts/protocol/containerd';
import { defaultConfig } from '../config/config';
import { silentLogger, type Logger } from '../framework/logging';
import type { Publisher, TaskEvent } from '../framework/publisher';
import type { OciSpec } from '../oci/spec';
import { PodSandboxes } from '../runtime/pod-sandbox';
import type { BootRequest, PodVm } from '../runtime/pod-vm';
import { TaskRuntime } from '../runtime/task-runtime';
import { rpcErrorToStatus } from '../service/rpc-errors';
import { createSandboxService } from '../service/sandbox-service';
import { createTaskService } from '../service/task-service';
import { FakeAgent } from './fake-agent';
import { FakeVm } from './fake-vm';

export class RecordingPublisher implements Publisher {
  readonly events: TaskEvent[] = [];
  publish(event: TaskEvent): void {
    this.events.push(event);
  }
  async close(): Promise<void> {}
  topics(): string[] {
    return this.events.map((e) => e.topic);
  }
}

export interface TaskHarnessOptions {
  /**
   * Boots the pod's VM in place of a FakeVm on the harness's FakeAgent (e.g. a real Sandbox whose
   * agent channel runs through a HostileAgent); `dir` is the sandbox directory. Such VMs are not in `vms`.
   */
  bootVm?: (agent: FakeAgent, req: BootRequest, dir: string) => Promise<PodVm>;
  /** The runtime's logger (default: silent). */
  log?: Logger;
}

export class TaskHarness {
  readonly publisher = new RecordingPublisher();
  readonly vms: FakeVm[] = [];
  exitRequested = 0;
  /** Boots that have begun (a held boot counts before it completes). */
  bootsBegun = 0;
  private bootGate: Promise<void> | undefined;
  task!: ServiceClient<typeof TaskService>;
  sandbox!: ServiceClient<typeof SandboxService>;
  runtime!: TaskRuntime;
  private client!: Client;
  private readonly server = new Server({ toStatus: rpcErrorToStatus(silentLogger()) });

  private constructor(readonly dir: string, readonly agent: FakeAgent) {}

  static async start(opts: TaskHarnessOptions = {}): Promise<TaskHarness> {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-task-'));
    const h = new TaskHarness(dir, await FakeAgent.start());
    h.runtime = new TaskRuntime({
      namespace: 'test',
      log: opts.log ?? silentLogger(),
      publisher: h.publisher,
      requestExit: () => h.exitRequested++,
      oomFiles: true,
      loadConfig: async () => defaultConfig(),
      bootSandbox: async (req) => {
        h.bootsBegun++;
        await h.bootGate;
        await req.createHooks?.(undefined); // as boot.ts does before the VM starts (no netns here)
        if (opts.bootVm) return opts.bootVm(h.agent, req, path.join(dir, 'sbs', req.sandboxId));
        const vm = await FakeVm.boot(h.agent, req, path.join(dir, 'sbs', req.sandboxId));
        h.vms.push(vm);
        return vm;
      },
    });
    h.server.register(TaskService, createTaskService(h.runtime));
    h.server.register(SandboxService, createSandboxService(new PodSandboxes(h.runtime, silentLogger())));
    const sock = path.join(dir, 'shim.sock');
    await h.server.listen(sock);
    h.client = await Client.connect(sock);
    h.task = createServiceClient(h.client, TaskService);
    h.sandbox = createServiceClient(h.client, SandboxService);
    return h;
  }

  /** Holds every VM boot until the returned function is called (a create caught mid-boot). */
  holdBoots(): () => void {
    let release!: () => void;
    this.bootGate = new Promise((r) => (release = r));
    return () => {
      this.bootGate = undefined;
      release();
    };
  }

  /** Writes a bundle with config.json for `args` (and extra spec fields); returns its path. */
  async bundle(id: string, args: string[], extra: Partial<OciSpec> = {}): Promise<string> {
    const bundle = path.join(this.dir, 'bundles', id);
    await fs.mkdir(path.join(bundle, 'rootfs'), { recursive: true });
    const spec: OciSpec = { ociVersion: '1.0.2', process: { args, cwd: '/', env: ['PATH=/bin'] }, root: { path: 'rootfs' }, ...extra };
    await fs.writeFile(path.join(bundle, 'config.json'), JSON.stringify(spec));
    return bundle;
  }

  /** An empty bundle directory, as containerd's shim sandbox controller makes for a pod (no config.json). */
  async sandboxBundle(id: string): Promise<string> {
    const bundle = path.join(this.dir, 'bundles', id);
    await fs.mkdir(bundle, { recursive: true });
    return bundle;
  }

  /** Makes a FIFO (as containerd's client does) and returns its path. */
  fifo(name: string): string {
    const p = path.join(this.dir, 'fifo', name);
    execFileSync('mkdir', ['-p', path.dirname(p)]);
    execFileSync('mkfifo', [p]);
    return p;
  }

  /** Opens a FIFO for reading like ctr does and collects everything until EOF. */
  collect(fifoPath: string): Promise<string> {
    const fd = openSync(fifoPath, constants.O_RDONLY | constants.O_NONBLOCK);
    const sock = new net.Socket({ fd, readable: true, writable: false });
    const chunks: Buffer[] = [];
    return new Promise((resolve) => {
      sock.on('data', (d: Buffer) => chunks.push(d));
      sock.on('end', () => resolve(Buffer.concat(chunks).toString()));
      sock.on('error', () => resolve(Buffer.concat(chunks).toString()));
    });
  }

  /** Create (with stdout/stderr FIFOs unless given) and Start; returns the collected stdout promise. */
  async run(id: string, args: string[], opts: { stdin?: string; extra?: Partial<OciSpec> } = {}): Promise<{ stdout: Promise<string>; stderr: Promise<string> }> {
    const bundle = await this.bundle(id, args, opts.extra);
    const stdoutPath = this.fifo(`${id}-stdout`);
    const stderrPath = this.fifo(`${id}-stderr`);
    const stdout = this.collect(stdoutPath);
    const stderr = this.collect(stderrPath);
    await this.task.create({ id, bundle, stdout: stdoutPath, stderr: stderrPath, stdin: opts.stdin ?? '' });
    await this.task.start({ id });
    return { stdout, stderr };
  }

  async close(): Promise<void> {
    this.client.close();
    await this.runtime.close();
    await this.server.close();
    await this.agent.close();
    await fs.rm(this.dir, { recursive: true, force: true });
  }
}
