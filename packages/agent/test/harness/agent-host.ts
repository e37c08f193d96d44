import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentService, HealthService } from '@kata-ts/protocol/kata';
import { Client, createServiceClient, ServiceClient } from 'ttrpc-ts';

const PKG = path.resolve(__dirname, '../..');

/** Builds dist/native/kata-runner if it is missing or stale. */
export function ensureRunner(): string {
  execFileSync(process.execPath, [path.join(PKG, 'scripts/build-native.mjs')], { stdio: 'inherit' });
  return path.join(PKG, 'dist/native/kata-runner');
}

/** Whether this machine can run the host-mode agent tests (root, crun, unshare, busybox). */
export function hostAgentSupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root';
  for (const bin of ['/usr/bin/crun', '/usr/bin/unshare', '/bin/busybox']) if (!existsSync(bin)) return `needs ${bin}`;
  return undefined;
}

export interface HostAgent {
  agent: ServiceClient<typeof AgentService>;
  health: ServiceClient<typeof HealthService>;
  client: Client;
  socket: string;
  kataRoot: string;
  sharedDir: string;
  stateDir: string;
  /** A directory outside every root the agent may write to (hostile tests check it stays empty). */
  outside: string;
  proc: ChildProcess;
  /** Lines the agent logged (stderr). */
  logs: string[];
  /** Opens another connection. */
  connect(): Promise<Client>;
  stop(): Promise<void>;
}

/**
 * Starts the agent from source (tsx) in host mode on a unix socket, inside a private mount namespace
 * where a cgroup v2 hierarchy is mounted at /sys/fs/cgroup (this host's cgroup v1 hybrid layout makes
 * crun refuse to work otherwise). Everything lives in a temp dir, removed by stop().
 */
export async function startHostAgent(extraArgs: string[] = []): Promise<HostAgent> {
  const runner = ensureRunner();
  const base = mkdtempSync(path.join(os.tmpdir(), 'kata-agent-test-'));
  const kataRoot = path.join(base, 'kata');
  const sharedDir = path.join(kataRoot, 'shared/containers');
  const stateDir = path.join(base, 'state');
  const outside = path.join(base, 'outside');
  for (const d of [sharedDir, stateDir, outside]) mkdirSync(d, { recursive: true });
  const socket = path.join(base, 'agent.sock');
  const script = 'mount --make-rprivate / && umount -l /sys/fs/cgroup 2>/dev/null; mount -t cgroup2 none /sys/fs/cgroup && exec "$@"';
  // AGENT_TEST_BUNDLE=1 runs the bundle the guest image ships instead of the sources.
  const entry = process.env.AGENT_TEST_BUNDLE ? [path.join(PKG, 'dist/kata-agent.js')] : ['--require', 'tsx/cjs', path.join(PKG, 'src/main.ts')];
  const proc = spawn('unshare', ['-m', 'sh', '-c', script, 'sh', process.execPath, ...entry,
    '--listen', `unix:${socket}`, '--kata-root', kataRoot, '--state-dir', stateDir, '--runner', runner, '--log-level', 'debug', ...extraArgs], {
    stdio: ['ignore', 'inherit', 'pipe'],
    cwd: PKG,
    env: { ...process.env, TSX_TSCONFIG_PATH: path.join(PKG, 'tsconfig.json') },
  });
  const logs: string[] = [];
  let pending = '';
  proc.stderr!.setEncoding('utf8');
  proc.stderr!.on('data', (d: string) => {
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop()!;
    logs.push(...lines);
    if (logs.length > 5000) logs.splice(0, logs.length - 5000);
    if (process.env.AGENT_TEST_LOGS) process.stderr.write(d);
  });
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  const connect = async (): Promise<Client> => Client.connect(socket, { timeoutMs: 2000 });
  let client: Client | undefined;
  const deadline = Date.now() + 30_000;
  while (!client) {
    if (proc.exitCode !== null) throw new Error(`agent exited with ${proc.exitCode}:\n${logs.slice(-30).join('\n')}`);
    try {
      client = await connect();
    } catch {
      if (Date.now() > deadline) throw new Error(`agent did not listen on ${socket}:\n${logs.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const stop = async (): Promise<void> => {
    client!.close();
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(t);
    }
    rmSync(base, { recursive: true, force: true });
    // crun leaves the (empty) parent of the container cgroups in the host's v2 hierarchy.
    for (const parent of ['/sys/fs/cgroup/unified/kata', '/sys/fs/cgroup/kata']) {
      try {
        rmdirSync(parent);
      } catch {
        // not there, or another agent's containers still use it
      }
    }
  };
  return {
    agent: createServiceClient(client, AgentService),
    health: createServiceClient(client, HealthService),
    client, socket, kataRoot, sharedDir, stateDir, outside, proc, logs, connect, stop,
  };
}
