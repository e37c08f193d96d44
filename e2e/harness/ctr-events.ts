/**
 * `ctr events` as a test probe: collects the lines containerd's event stream prints and waits for one
 * that matches. start() returns only once the subscription is live (a probe event made with
 * `ctr namespaces label` has come through), so nothing published afterwards can be missed.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { PrivateContainerd } from './containerd';
import { waitUntil } from './teardown';

export class EventWatcher {
  /** Every line printed so far: "<time> <namespace> <topic> <event as JSON>". */
  readonly lines: string[] = [];
  private readonly waiters = new Set<() => void>();
  private exited = false;

  private constructor(private readonly child: ChildProcess) {
    let partial = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      this.lines.push(...parts);
      for (const wake of this.waiters) wake();
    });
    child.once('exit', () => {
      this.exited = true;
      for (const wake of this.waiters) wake();
    });
  }

  /** Spawns `ctr events` on `ctd` and waits until it is subscribed. */
  static async start(ctd: PrivateContainerd, timeoutMs = 10_000): Promise<EventWatcher> {
    const child = spawn(ctd.program('ctr'), ['--address', ctd.layout.address, 'events'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const watcher = new EventWatcher(child);
    try {
      await watcher.handshake(ctd, timeoutMs);
    } catch (err) {
      await watcher.stop();
      throw err;
    }
    return watcher;
  }

  /** The first line (already seen or yet to come) that satisfies `match`; rejects after `timeoutMs`. */
  waitFor(match: (line: string) => boolean, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const line = this.lines.find(match);
        if (line !== undefined) done(() => resolve(line));
        else if (this.exited) done(() => reject(new Error(`ctr events exited; lines:\n${this.lines.join('\n')}`)));
      };
      const timer = setTimeout(() => done(() => reject(new Error(`no matching event in ${timeoutMs} ms; lines:\n${this.lines.join('\n')}`))), timeoutMs);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  /** Ends `ctr events` (the process this watcher started) and waits for it. */
  async stop(): Promise<void> {
    if (!this.exited) this.child.kill('SIGTERM');
    await waitUntil(() => this.exited, 5_000);
  }

  /** Labels the fixture's namespace until the /namespaces/update event for that label shows up. */
  private async handshake(ctd: PrivateContainerd, timeoutMs: number): Promise<void> {
    await ctd.ctr(['namespaces', 'create', ctd.namespace], { namespace: 'default' }); // fails harmlessly if it exists
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline && !this.exited) {
      const probe = `kata-ts-probe=${randomBytes(4).toString('hex')}`;
      await ctd.ctrOk(['namespaces', 'label', ctd.namespace, probe]);
      const [key, value] = probe.split('=');
      const seen = await this.waitFor((l) => l.includes('/namespaces/update') && l.includes(`"${key}":"${value}"`), 500).catch(() => undefined);
      if (seen) return;
    }
    throw new Error(`ctr events did not subscribe within ${timeoutMs} ms`);
  }
}
