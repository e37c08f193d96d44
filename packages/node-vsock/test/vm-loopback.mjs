#!/usr/bin/env node
// AF_VSOCK round trip over guest loopback (CID 1), for the test VM; never run it on a host whose
// vsock peer is not yours. Needs the vsock and vsock_loopback kernel modules.
//
//   node vm-loopback.mjs [bytes]          default 1 MiB; port from VSOCK_LOOPBACK_PORT (default 1024)
//
// Listens on (VMADDR_CID_ANY, port), connects to (VMADDR_CID_LOCAL, port), sends the bytes through
// an echo and compares sha256 both ways; also checks that a port nobody listens on is refused
// with ECONNREFUSED. Prints "VSOCK_LOOPBACK_OK <bytes>" and exits 0, or "VSOCK_LOOPBACK_FAIL <why>"
// and exits 1.
//
// The package is loaded from ../dist (override with NODE_VSOCK_DIST=/path/to/dist/index.js); the
// addon from $NODE_VSOCK_NATIVE_DIR, ../build/Release or /usr/lib/kata-ts/native.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const distPath = process.env.NODE_VSOCK_DIST ?? fileURLToPath(new URL('../dist/index.js', import.meta.url));
const bytes = Number(process.argv[2] ?? 1024 * 1024);
const port = Number(process.env.VSOCK_LOOPBACK_PORT ?? 1024);
const unusedPort = port + 1;

function fail(why) {
  console.log(`VSOCK_LOOPBACK_FAIL ${why}`);
  process.exit(1);
}

const watchdog = setTimeout(() => fail('timed out after 60 s'), 60_000);
const sha256 = (data) => createHash('sha256').update(data).digest('hex');

async function main() {
  if (!existsSync(distPath)) fail(`${distPath} not found; run \`pnpm -F node-vsock build\` or set NODE_VSOCK_DIST`);
  const vsock = require(distPath);
  if (!existsSync('/dev/vsock')) console.log('note: /dev/vsock is missing (is the vsock module loaded?)');
  try {
    console.log(`local cid: ${vsock.getLocalCid()}`);
  } catch (error) {
    console.log(`local cid: unavailable (${error.code})`);
  }

  // Echo server on every local address.
  const server = vsock.createServer((socket) => {
    console.log(`accepted from ${JSON.stringify(socket.remoteAddress)} on ${JSON.stringify(socket.localAddress)}`);
    socket.on('error', (error) => fail(`server side: ${error.message}`));
    socket.pipe(socket);
  });
  server.listen(port, vsock.VMADDR_CID_ANY);
  const [listenError] = await Promise.race([once(server, 'listening').then(() => []), once(server, 'error')]);
  if (listenError) {
    const hint = listenError.code === 'EADDRINUSE' ? ' (is the agent listening there? set VSOCK_LOOPBACK_PORT)' : '';
    fail(`listen: ${listenError.message}${hint}`);
  }
  console.log(`listening on ${JSON.stringify(server.address())}`);

  // Client over loopback.
  const client = await vsock
    .connectVsock({ cid: vsock.VMADDR_CID_LOCAL, port, timeout: 5000 })
    .catch((error) => fail(`connect: ${error.message} (code ${error.code}; is vsock_loopback loaded?)`));
  console.log(`connected from ${JSON.stringify(client.localAddress)} to ${JSON.stringify(client.remoteAddress)}`);
  const payload = randomBytes(bytes);
  const chunks = [];
  client.on('data', (chunk) => chunks.push(chunk));
  client.on('error', (error) => fail(`client side: ${error.message}`));
  const ended = once(client, 'end');
  client.end(payload);
  await ended;
  const echoed = Buffer.concat(chunks);
  if (echoed.length !== payload.length) fail(`echoed ${echoed.length} bytes, sent ${payload.length}`);
  if (sha256(echoed) !== sha256(payload)) fail('sha256 of the echo differs from what was sent');
  console.log(`echo ok: ${echoed.length} bytes, sha256 ${sha256(echoed)}`);

  // A port nobody listens on must be refused, with the code callers retry on.
  const refused = await vsock
    .connectVsock({ cid: vsock.VMADDR_CID_LOCAL, port: unusedPort, timeout: 5000 })
    .then((socket) => {
      socket.destroy();
      return undefined;
    })
    .catch((error) => error);
  if (!refused) fail(`connect to unused port ${unusedPort} succeeded`);
  if (refused.code !== 'ECONNREFUSED') fail(`connect to unused port ${unusedPort}: expected ECONNREFUSED, got ${refused.code} (${refused.message})`);
  console.log(`unused port refused: ${refused.message}`);

  await new Promise((resolve) => server.close(resolve));
  clearTimeout(watchdog);
  console.log(`VSOCK_LOOPBACK_OK ${echoed.length}`);
}

main().catch((error) => fail(error?.stack ?? String(error)));
