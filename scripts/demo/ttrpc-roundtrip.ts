/**
 * Interim demo: a ttrpc-ts server and client exchanging a unary call and a server stream over a unix
 * socket, with the call's round-trip time. Replaced by the container-in-a-VM demo once the shim lands.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client, Server, createServiceClient } from 'ttrpc-ts';
import { HealthService, agent } from '@kata-ts/protocol/kata';

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(tmpdir(), 'kata-ts-demo-'));
  const socket = path.join(dir, 'agent.sock');
  const server = new Server().register(HealthService, {
    check: () => ({ status: agent.HealthCheckResponse.ServingStatus.SERVING }),
    version: () => ({ grpcVersion: 'demo', agentVersion: '0.1.0' }),
  });
  await server.listen(socket);
  const client = await Client.connect(socket);
  const health = createServiceClient(client, HealthService);
  const t0 = process.hrtime.bigint();
  const res = await health.check({ service: '' });
  const us = Number(process.hrtime.bigint() - t0) / 1000;
  console.log(`grpc.Health/Check over ttrpc-ts on ${socket}: status=${agent.HealthCheckResponse.ServingStatus[res.status]} in ${us.toFixed(0)} µs`);
  client.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
