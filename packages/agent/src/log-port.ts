/**
 * Where the agent logs inside a VM: the virtio-serial port agent.log.0, which the shim reads into its
 * own log (with the sandbox id). The serial console stays the kernel's: under TCG every byte through
 * the emulated UART is slow, and a shim adopting a pool VM never sees that VM's console.
 *
 * Writes never wait: the port is non-blocking, and a line it cannot take now (no host connected yet,
 * or its buffers full) is dropped and counted; the next line that goes through says how many were
 * lost. Errors (level >= 50) also go to stderr, the console, so they survive a host that is not listening.
 */
import { writeSync } from 'node:fs';
import type { CharDevice } from 'node-vsock';
import { findVirtioPort } from './channels/virtio-serial';

export const LOG_PORT_NAME = 'agent.log.0';

/** A pino destination: one write per record. */
export interface LineDestination {
  write(line: string): void;
}

export function logPortDestination(port: Pick<CharDevice, 'write'>, stderrFd = 2): LineDestination {
  let dropped = 0;
  /** A line went out cut short: the next one starts on a fresh line, so the reader can parse it. */
  let cut = false;
  return {
    write(line: string): void {
      if (/"level":(5|6)\d/.test(line)) {
        try {
          writeSync(stderrFd, line);
        } catch {
          // the console is best effort
        }
      }
      const lost = dropped > 0 ? `${JSON.stringify({ level: 40, msg: 'agent log lines dropped (the log port was full or not connected)', dropped })}\n` : '';
      const data = Buffer.from(`${cut ? '\n' : ''}${lost}${line}`);
      let written: number;
      try {
        written = port.write(data);
      } catch {
        written = 0;
      }
      if (written === 0) {
        dropped++;
        return;
      }
      dropped = 0;
      cut = written < data.length;
    },
  };
}

/** The log port when this agent runs in a VM that has one; undefined elsewhere (then: stderr). */
export async function openLogPort(): Promise<CharDevice | undefined> {
  const device = await findVirtioPort(LOG_PORT_NAME);
  if (!device) return undefined;
  try {
    // node-vsock is required at run time, where its addon is loaded.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return (require('node-vsock') as typeof import('node-vsock')).CharDevice.open(device);
  } catch (err) {
    process.stderr.write(`kata-agent: log port ${device} not opened: ${(err as Error).message}\n`);
    return undefined;
  }
}
