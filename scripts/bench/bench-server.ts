/**
 * One benchmark server process: `bench-server.ts ttrpc|grpc <socket path>`. Prints "ready" once it
 * listens. Both servers run alone in a process of their own, so the two are measured the same way.
 */
import * as grpc from '@grpc/grpc-js';
import { echoServer } from '../../packages/ttrpc/test/echo-service';
import { grpcEchoServer } from './grpc-echo';

async function main(): Promise<void> {
  const [kind, socketPath] = process.argv.slice(2);
  if (!socketPath || (kind !== 'ttrpc' && kind !== 'grpc')) throw new Error('usage: bench-server ttrpc|grpc <socket>');
  if (kind === 'ttrpc') {
    await echoServer().listen(socketPath);
  } else {
    const server = grpcEchoServer();
    await new Promise<number>((resolve, reject) =>
      server.bindAsync(`unix:${socketPath}`, grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
  }
  // Exit (rather than die) on SIGTERM, so that --cpu-prof gets to write its profile.
  process.on('SIGTERM', () => process.exit(0));
  process.stdout.write('ready\n');
}

main().catch((err) => {
  process.stderr.write(`bench-server: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
