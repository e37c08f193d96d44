/**
 * `kata-ts exec <sandbox-id>` (Kata's `kata-runtime exec`): an interactive root shell in the
 * sandbox's VM, outside its containers, for debugging. Only with [agent.kata] debug_console_enabled
 * (the VM then has a console port): the sandbox shim's <sandbox dir>/debug-console.sock relays
 * frames (@kata-ts/protocol/debug-console) to the agent, which runs /bin/sh on a pty.
 *
 * The host terminal is put in raw mode while attached (every key, ^C and ^Z included, goes to the
 * guest's pty) and restored however this ends; its size is sent at the start and on every change.
 * The shell's exit status is this command's; 255 when the connection ends without one (as ssh).
 * What the guest sends is only ever written to the terminal, frame by frame, after the checks of
 * ConsoleFrameDecoder (unknown or oversized frames end the session).
 */
import net from 'node:net';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { ConsoleFrameDecoder, encodeData, encodeFrame, FrameType, GUEST_FRAMES, type ConsoleFrame } from '@kata-ts/protocol/debug-console';
import { DEBUG_CONSOLE_SOCKET } from '@kata-ts/shim';
import { existsSync } from 'node:fs';
import { loadEffectiveConfig } from '../config-lookup';
import type { Output } from '../output';
import { resolveSandbox, SandboxLookupError } from '../sandbox-resolve';

export interface ExecArgs {
  config?: string;
  sandbox?: string;
}

/** The user's terminal (process.stdin/stdout; streams in tests). */
export interface Terminal {
  input: Readable & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };
  output: Writable & { rows?: number; columns?: number };
  /** Registers the size-change handler (SIGWINCH); returns its removal. */
  onResize(handler: () => void): () => void;
  /** Registers a handler for signals that end the command (SIGTERM, SIGHUP); returns its removal. */
  onTerminate(handler: (signal: NodeJS.Signals) => void): () => void;
}

export const processTerminal: Terminal = {
  input: process.stdin,
  output: process.stdout,
  onResize: (h) => {
    process.stdout.on('resize', h);
    return () => void process.stdout.off('resize', h);
  },
  onTerminate: (h) => {
    const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP', 'SIGINT'];
    for (const s of signals) process.on(s, h);
    return () => signals.forEach((s) => process.off(s, h));
  },
};

/** Exit status when the session ends without the shell's (connection lost, refused, bad frame). */
const NO_STATUS = 255;

export async function execCommand(args: ExecArgs, out: Output, term: Terminal = processTerminal): Promise<number> {
  const fail = (message: string, code: number): number => {
    out.error(`kata-ts exec: ${message}\n`);
    return code;
  };
  if (!args.sandbox) return fail('name a sandbox id (kata-ts exec <sandbox-id>)', 2);
  const { config, error } = await loadEffectiveConfig(args.config);
  if (error) return fail(error, 2);
  if (!config.agent.debugConsoleEnabled) {
    return fail(`the debug console is disabled: set debug_console_enabled = true in [agent.kata] of ${config.source} `
      + '(it gives root in every VM started afterwards; see README "kata-ts exec")', 2);
  }
  let dir: string;
  try {
    dir = resolveSandbox(config.runtime.stateDir, args.sandbox).dir;
  } catch (err) {
    if (err instanceof SandboxLookupError) return fail(err.message, 2);
    throw err;
  }
  const socketPath = path.join(dir, DEBUG_CONSOLE_SOCKET);
  if (!existsSync(socketPath)) return fail(`sandbox ${path.basename(dir)} has no debug console (its VM was started while debug_console_enabled was false)`, 2);
  let socket: net.Socket;
  try {
    socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(socketPath, () => resolve(s));
      s.once('error', reject);
    });
  } catch (err) {
    return fail(`cannot connect to ${socketPath}: ${(err as Error).message}`, 1);
  }
  return attach(socket, term, out);
}

/** Runs one console session on a connected socket; resolves with the exit status. */
export function attach(socket: net.Socket, term: Terminal, out: Output): Promise<number> {
  const { input, output } = term;
  const raw = !!input.isTTY && typeof input.setRawMode === 'function';
  const decoder = new ConsoleFrameDecoder(GUEST_FRAMES);
  return new Promise<number>((resolve) => {
    let status: number | undefined;
    let done = false;
    const send = (frames: Buffer[]): void => {
      if (!socket.destroyed) for (const f of frames) socket.write(f);
    };
    const onInput = (data: Buffer): void => send(encodeData(FrameType.INPUT, Buffer.isBuffer(data) ? data : Buffer.from(data)));
    const onResize = (): void => send([encodeFrame({ type: FrameType.RESIZE, rows: output.rows ?? 0, cols: output.columns ?? 0 })]);
    const finish = (code: number): void => {
      if (done) return;
      done = true;
      offResize();
      offTerminate();
      input.off('data', onInput);
      input.pause();
      if (raw) input.setRawMode!(false);
      socket.destroy();
      resolve(code);
    };
    const offResize = term.onResize(onResize);
    const offTerminate = term.onTerminate((signal) => finish(128 + (signal === 'SIGHUP' ? 1 : signal === 'SIGINT' ? 2 : 15)));
    const onFrame = (f: ConsoleFrame): void => {
      switch (f.type) {
        case FrameType.OUTPUT:
          // The terminal sets the pace: a guest printing faster than it shows waits (the relay has backpressure).
          if (!output.write(f.data)) {
            socket.pause();
            output.once('drain', () => socket.resume());
          }
          return;
        case FrameType.EXIT:
          status = f.status & 0xff;
          return finish(status);
        case FrameType.ERROR:
          out.error(`kata-ts exec: ${f.message.replace(/[^\x20-\x7e]/g, '?')}\n`);
          return finish(NO_STATUS);
      }
    };
    socket.on('data', (chunk: Buffer) => {
      let frames: ConsoleFrame[];
      try {
        frames = decoder.push(chunk);
      } catch (err) {
        out.error(`\r\nkata-ts exec: ${(err as Error).message}; session ended\n`);
        return finish(NO_STATUS);
      }
      for (const f of frames) if (!done) onFrame(f);
    });
    socket.on('error', () => undefined);
    socket.once('close', () => {
      if (!done) out.error('\r\nkata-ts exec: the console connection closed without an exit status\n');
      finish(status ?? NO_STATUS);
    });
    send([encodeFrame({ type: FrameType.OPEN, rows: output.rows ?? 0, cols: output.columns ?? 0 })]);
    if (raw) input.setRawMode!(true);
    input.on('data', onInput);
    input.resume();
  });
}
