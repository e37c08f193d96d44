import { execFile } from 'node:child_process';

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
