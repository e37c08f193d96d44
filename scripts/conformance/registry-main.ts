/**
 * The registry as a process of its own, so it can be started inside the run's network namespace
 * (`nsenter --net=<netns> tsx registry-main.ts ...`), where the daemons under test reach it on loopback.
 * Prints "listening <port>" on stdout once it accepts connections; logs requests to stderr; exits on
 * SIGTERM or SIGINT.
 *
 * usage: tsx scripts/conformance/registry-main.ts --store <dir> [--host 127.0.0.1] [--port 0]
 */
import { loadStore, registryPort, startRegistry } from './registry';

function option(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const value = i > 0 ? process.argv[i + 1] : fallback;
  if (value === undefined) throw new Error(`registry: --${name} is required`);
  return value;
}

async function main(): Promise<void> {
  const store = loadStore(option('store'));
  const server = await startRegistry(store, option('host', '127.0.0.1'), Number(option('port', '0')), (line) => process.stderr.write(`${line}\n`));
  process.stdout.write(`listening ${registryPort(server)}\n`);
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`registry: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
