import net from 'node:net';

/**
 * Connects to a unix socket that may not exist yet or may refuse for a moment (QEMU's chardev
 * server accepts one client at a time), retrying until the deadline.
 */
export async function dialUnix(socketPath: string, timeoutMs: number): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const s = net.connect(socketPath);
        s.once('connect', () => {
          s.removeListener('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (err) {
      if (Date.now() >= deadline) throw new Error(`cannot connect to ${socketPath}: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}
