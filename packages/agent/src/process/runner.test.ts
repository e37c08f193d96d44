import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Runner, type RunnerEvent } from './runner';

describe('Runner', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-runner-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A stand-in kata-runner: a shell script given the runner's fds. */
  const fakeRunner = (body: string) => {
    const file = path.join(dir, 'runner');
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
    return new Runner({ runner: file, command: ['true'], pidFile: path.join(dir, 'pid'), drainMs: 0 });
  };

  const record = (runner: Runner) => {
    const seen: string[] = [];
    runner.on('status', (e: RunnerEvent) => seen.push(`${e.kind} ${e.kind === 'pid' ? e.pid : e.status}`));
    const done = new Promise<string[]>((resolve) => runner.once('runner-exit', () => resolve([...seen, 'runner-exit'])));
    return done;
  };

  it('reports the exit status before runner-exit', async () => {
    expect(await record(fakeRunner('echo "pid 7" >&3; echo "exit 42" >&3'))).toEqual(['pid 7', 'exit 42', 'runner-exit']);
  });

  it('reads status still in the pipe after the runner process exited (exit is not the end of its output)', async () => {
    // The status arrives after the runner's own exit: a child of it still holds fd 3.
    const events = await record(fakeRunner('( sleep 0.3; echo "pid 7" >&3; echo "exit 42" >&3 ) & exit 0'));
    expect(events).toEqual(['pid 7', 'exit 42', 'runner-exit']);
  });
});
