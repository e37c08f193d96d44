/**
 * The host ends of a process's stdio, as containerd's client gave them: FIFOs (plain paths or
 * fifo://), file:// (append to a file), binary:// (a logging binary fed through fds 3 and 4), or ""
 * (not wanted). FIFOs are opened without ever blocking (pitfall: a client that never opens its end
 * would hang the shim): stdout/stderr O_RDWR, stdin O_RDONLY|O_NONBLOCK plus a writer the shim holds
 * so the container does not see EOF before the client attaches; CloseIO drops that writer.
 */
import { spawn } from 'node:child_process';
import { closeSync, constants, createWriteStream, openSync } from 'node:fs';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';

export interface StdioPaths {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

/** Opened host stdio of one process. */
export interface HostIo {
  stdin?: Readable;
  stdout?: Writable;
  stderr?: Writable;
  /** Drops the shim's own writer on the stdin FIFO (CloseIO), so EOF reaches the container once the client closes. */
  releaseStdin(): void;
  /** Closes every host end (after output has been drained). */
  close(): void;
}

export interface OpenContext {
  containerId: string;
  namespace: string;
}

type Target = { kind: 'none' } | { kind: 'fifo'; path: string } | { kind: 'file'; path: string } | { kind: 'binary'; path: string; args: string[] };

/** Reads a stdout/stderr string: "", a path, fifo://, file:// or binary://. */
export function parseTarget(value: string): Target {
  if (!value) return { kind: 'none' };
  if (!value.includes('://')) return { kind: 'fifo', path: value };
  const url = new URL(value);
  const p = decodeURIComponent(url.pathname);
  switch (url.protocol) {
    case 'fifo:':
      return { kind: 'fifo', path: p };
    case 'file:':
      return { kind: 'file', path: p };
    case 'binary:': {
      const args: string[] = [];
      for (const [k, v] of url.searchParams) args.push(k, ...(v ? [v] : []));
      return { kind: 'binary', path: p, args };
    }
    default:
      throw new Error(`unsupported stdio URI scheme ${url.protocol}`);
  }
}

function fifoWriter(path: string): Writable {
  // O_RDWR: never blocks at open, and holds the FIFO open if the client re-opens it.
  const fd = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
  return new net.Socket({ fd, readable: false, writable: true });
}

function fileWriter(path: string): Writable {
  return createWriteStream(path, { flags: 'a', mode: 0o640 });
}

/** Starts a binary:// logger: fd 3 gets stdout, fd 4 stderr; it is ready once it closes or writes to fd 5. */
async function binaryWriters(target: Extract<Target, { kind: 'binary' }>, ctx: OpenContext): Promise<{ stdout: Writable; stderr: Writable }> {
  const child = spawn(target.path, target.args, {
    env: { ...process.env, CONTAINER_ID: ctx.containerId, CONTAINER_NAMESPACE: ctx.namespace },
    stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
    detached: true,
  });
  child.unref();
  const pipes = child.stdio as unknown as Array<Readable & Writable>;
  const ready = pipes[5] as Readable;
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    const done = () => resolve();
    ready.once('data', done);
    ready.once('end', done);
    ready.once('close', done);
    child.once('exit', (code) => reject(new Error(`logging binary ${target.path} exited (${code}) before it was ready`)));
  });
  ready.destroy();
  return { stdout: pipes[3] as Writable, stderr: pipes[4] as Writable };
}

/** Opens the stdio of one process. */
export async function openHostIo(paths: StdioPaths, ctx: OpenContext): Promise<HostIo> {
  const opened: Array<Readable | Writable> = [];
  let stdinWriterFd: number | undefined;
  let stdin: Readable | undefined;
  let stdout: Writable | undefined;
  let stderr: Writable | undefined;
  try {
    if (paths.stdin) {
      const readFd = openSync(paths.stdin, constants.O_RDONLY | constants.O_NONBLOCK);
      stdin = new net.Socket({ fd: readFd, readable: true, writable: false });
      opened.push(stdin);
      stdinWriterFd = openSync(paths.stdin, constants.O_WRONLY | constants.O_NONBLOCK);
    }
    const out = parseTarget(paths.stdout);
    const err = paths.terminal ? ({ kind: 'none' } as Target) : parseTarget(paths.stderr);
    if (out.kind === 'binary') {
      const writers = await binaryWriters(out, ctx);
      stdout = writers.stdout;
      stderr = paths.terminal ? undefined : writers.stderr;
      opened.push(writers.stdout, writers.stderr);
    } else {
      const open = (t: Target): Writable | undefined => (t.kind === 'fifo' ? fifoWriter(t.path) : t.kind === 'file' ? fileWriter(t.path) : undefined);
      stdout = open(out);
      if (stdout) opened.push(stdout);
      // The same file for both streams is opened once, as runc does.
      const same = err.kind !== 'none' && err.kind !== 'binary' && out.kind === err.kind && 'path' in out && 'path' in err && out.path === err.path;
      stderr = same ? stdout : open(err);
      if (stderr && !same) opened.push(stderr);
    }
  } catch (e) {
    for (const s of opened) s.destroy();
    if (stdinWriterFd !== undefined) closeSync(stdinWriterFd);
    throw e;
  }
  for (const s of opened) s.on('error', () => undefined);
  const releaseStdin = () => {
    if (stdinWriterFd === undefined) return;
    closeSync(stdinWriterFd);
    stdinWriterFd = undefined;
  };
  return {
    stdin,
    stdout,
    stderr,
    releaseStdin,
    close: () => {
      releaseStdin();
      for (const s of opened) s.destroy();
    },
  };
}
