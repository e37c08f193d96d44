/**
 * The Echo fixture server as a process of its own: `node --require tsx/cjs echo-server-main.ts <socket>`.
 * Tests that must watch the server from outside (does it crash? how much memory does it hold?) run it
 * here. Prints "ready" once it listens; exits 0 on SIGTERM. Crashes and Node warnings go to stderr.
 */
import { echoServer } from './echo-service';

async function main(): Promise<void> {
  const socketPath = process.argv[2];
  if (!socketPath) throw new Error('usage: echo-server-main <socket path>');
  const server = echoServer();
  await server.listen(socketPath);
  process.on('SIGTERM', () => {
    void server.close().then(() => process.exit(0));
  });
  process.stdout.write('ready\n');
}

main().catch((err) => {
  process.stderr.write(`echo-server-main: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
