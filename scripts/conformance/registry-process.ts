/** Starts registry-main.ts as a child inside a netns and stops it again (by its pid). */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../../e2e/harness/test-image';
import { terminate } from '../../e2e/harness/teardown';

export interface RegistryProcess {
  port: number;
  stop(): Promise<void>;
}

/** Runs the registry on 127.0.0.1 of `netnsPath`, serving `store`; its request log goes to `logFile`. */
export function startRegistryProcess(store: string, netnsPath: string, logFile: string): Promise<RegistryProcess> {
  const main = path.join(REPO_ROOT, 'scripts', 'conformance', 'registry-main.ts');
  const log = openSync(logFile, 'a');
  let child: ChildProcess;
  try {
    // One process (nsenter execs node; `--import tsx` compiles in-process), so its pid is the registry's.
    child = spawn('nsenter', [`--net=${netnsPath}`, '--', process.execPath, '--import', 'tsx', main, '--store', store], {
      stdio: ['ignore', 'pipe', log], cwd: REPO_ROOT,
    });
  } finally {
    closeSync(log);
  }
  const stop = async () => {
    if (child.pid && child.exitCode === null) await terminate(child.pid, 5_000);
  };
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => fail(new Error(`registry did not start in 30 s (see ${logFile})`)), 30_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      void stop().then(() => reject(err));
    };
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`registry exited ${code} (see ${logFile})`)));
    child.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /listening (\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve({ port: Number(m[1]), stop });
    });
  });
}
