/** Runs a host command to completion and collects its output, with a deadline. Never uses a shell. */
import { spawn } from 'node:child_process';

export interface RunOptions {
  /** Kill the command (SIGKILL, by its own pid) after this long. Default 30 s. */
  timeoutMs?: number;
  /** Written to stdin, which is then closed; without it stdin is /dev/null. */
  input?: string | Uint8Array;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

export interface CommandResult {
  /** Exit code, or null when the command died by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Thrown by helpers that need a command to succeed; carries the whole result. */
export class CommandError extends Error {
  override readonly name = 'CommandError';

  constructor(readonly command: readonly string[], readonly result: CommandResult) {
    const why = result.timedOut ? 'timed out' : result.signal ? `died of ${result.signal}` : `exited ${result.code}`;
    super(`${command.join(' ')} ${why}: ${result.stderr.trim() || result.stdout.trim()}`);
  }
}

/** Runs `file args` and resolves with its result whatever the exit code; rejects only if it cannot start. */
export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 30_000);
    child.stdout?.on('data', (b: Buffer) => stdout.push(b));
    child.stderr?.on('data', (b: Buffer) => stderr.push(b));
    if (options.input !== undefined) child.stdin?.end(options.input);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code, signal, timedOut,
        stdout: Buffer.concat(stdout).toString('utf8'),
        stderr: Buffer.concat(stderr).toString('utf8'),
      });
    });
  });
}

/** Runs a command that must succeed (exit 0) and returns its stdout; throws CommandError otherwise. */
export async function runOk(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  const result = await run(file, args, options);
  if (result.code !== 0) throw new CommandError([file, ...args], result);
  return result.stdout;
}
