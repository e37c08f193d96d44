import { execFile, spawn } from 'node:child_process';

/** A helper command failed; carries its output for the error message. */
export class CommandError extends Error {
  override readonly name = 'CommandError';
}

/** Runs a command (no shell) and resolves with its stdout; rejects with its stderr. */
export function run(cmd: string, args: string[], timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (!err) resolve(stdout);
      else reject(new CommandError(`${cmd} ${args.join(' ')}: ${(stderr || err.message).trim().slice(0, 2000)}`));
    });
  });
}

/** Like run(), with `fd` handed to the command as its descriptor 3 (e.g. a path as /proc/self/fd/3). */
export function runWithFd(cmd: string, args: string[], fd: number, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe', fd], timeout: timeoutMs });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout = (stdout + d).slice(-(1 << 20))));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-4096)));
    child.once('error', (err) => reject(new CommandError(`${cmd} ${args.join(' ')}: ${err.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new CommandError(`${cmd} ${args.join(' ')}: ${(stderr || `exit ${code ?? signal}`).trim().slice(0, 2000)}`));
    });
  });
}
