/**
 * A sandbox's agent-ctl socket, `<sandbox dir>/agent-ctl.sock`: ttrpc serving the agent's own
 * services (grpc.AgentService, grpc.Health), each call passed to the guest as bytes over the shim's
 * one connection to the agent, and the agent's reply (or status) passed back unchanged.
 *
 * Why through the shim: Kata's kata-agent-ctl dials the agent's vsock port itself, but a
 * virtio-serial channel takes one client, the shim. `kata-ts agent-ctl` speaks to this socket instead.
 * It is a root-equivalent door into the guest, so it is only for the shim's own user (peer uid check)
 * in the sandbox's 0700 directory, and every call is logged with its method.
 */
import path from 'node:path';
import { bytesCodec, method, Server, type CallContext, type ServiceDescriptor } from 'ttrpc-ts';
import { AgentService, HealthService } from '@kata-ts/protocol/kata';
import type { AgentClient } from '../agent/agent-client';
import type { Logger } from '../framework/logging';
import { sameUserOnly } from '../framework/peer-check';

export const AGENT_CTL_SOCKET = 'agent-ctl.sock';

/** A call without a deadline of its own: long enough for a slow guest, short enough not to pin the shim. */
const DEFAULT_TIMEOUT_MS = 60_000;
/** The longest a caller may ask for (WaitProcess on a long-running process is not what this is for). */
const MAX_TIMEOUT_MS = 10 * 60_000;


/** The same service, every method taking and returning bytes. */
function passThrough(service: ServiceDescriptor): ServiceDescriptor {
  const methods: ServiceDescriptor['methods'] = {};
  for (const [key, m] of Object.entries(service.methods)) methods[key] = method(m.name, bytesCodec, bytesCodec);
  return { name: service.name, methods };
}

function timeoutOf(ctx: CallContext): number {
  if (ctx.deadline === undefined) return DEFAULT_TIMEOUT_MS;
  return Math.max(1, Math.min(MAX_TIMEOUT_MS, ctx.deadline - Date.now()));
}

export interface AgentCtlSocket {
  readonly path: string;
  close(): Promise<void>;
}

/** Serves the agent-ctl socket in `sandboxDir` until close(). */
export async function serveAgentCtl(sandboxDir: string, agent: AgentClient, log: Logger): Promise<AgentCtlSocket> {
  const socketPath = path.join(sandboxDir, AGENT_CTL_SOCKET);
  const server = new Server({ accept: sameUserOnly(log) });
  for (const service of [AgentService, HealthService] as ServiceDescriptor[]) {
    const implementation: Record<string, (req: Uint8Array, ctx: CallContext) => Promise<Uint8Array>> = {};
    for (const [key, m] of Object.entries(service.methods)) {
      implementation[key] = (request, ctx) => {
        log.info({ rpc: `${service.name}/${m.name}`, bytes: request.length }, 'agent-ctl call');
        return agent.forward(service.name, m.name, request, timeoutOf(ctx));
      };
    }
    server.register(passThrough(service), implementation);
  }
  await server.listen(socketPath);
  return {
    path: socketPath,
    close: () => server.close(),
  };
}
