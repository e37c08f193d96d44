import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bytesCodec, Client, Code, createServiceClient, isTtrpcError, method } from 'ttrpc-ts';
import { AgentService, HealthService } from '@kata-ts/protocol/kata';
import { KataAgentClient } from '../agent/agent-client';
import { silentLogger } from '../framework/logging';
import { FakeAgent } from '../test-support/fake-agent';
import { serveAgentCtl, type AgentCtlSocket } from './agent-ctl-socket';

describe('agent-ctl socket', () => {
  let dir: string;
  let agent: FakeAgent;
  let agentClient: KataAgentClient;
  let ctl: AgentCtlSocket;
  let client: Client;

  beforeEach(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-agent-ctl-'));
    agent = await FakeAgent.start();
    agentClient = new KataAgentClient(await agent.connect());
    ctl = await serveAgentCtl(dir, agentClient, silentLogger());
    client = await Client.connect(ctl.path);
  });

  afterEach(async () => {
    client.close();
    await ctl.close();
    agentClient.close();
    await agent.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('passes calls to the agent over the shim\'s connection and its replies back unchanged', async () => {
    const health = createServiceClient(client, HealthService);
    expect((await health.check({ service: '' })).status).toBe(1);
    const agentSvc = createServiceClient(client, AgentService);
    const details = await agentSvc.getGuestDetails({ memBlockSize: true });
    expect(details.agentDetails?.version).toBe('fake');
    // The fake agent saw the call as if the shim had made it.
    expect(agent.methods()).toEqual(['Check']);
    expect(ctl.path).toBe(path.join(dir, 'agent-ctl.sock'));
  });

  it('returns the agent\'s own status, and UNIMPLEMENTED for what is not in its API', async () => {
    const agentSvc = createServiceClient(client, AgentService);
    const err = await agentSvc.startContainer({ containerId: 'nope' }).catch((e: unknown) => e);
    expect(isTtrpcError(err) && err.code).toBe(Code.NOT_FOUND);
    const unknown = await client.unary('grpc.AgentService', method('NoSuchCall', bytesCodec, bytesCodec), new Uint8Array(0)).catch((e: unknown) => e);
    expect(isTtrpcError(unknown) && unknown.code).toBe(Code.UNIMPLEMENTED);
  });

  it('fails calls with UNAVAILABLE once the agent connection is gone, and keeps serving', async () => {
    agentClient.close();
    const health = createServiceClient(client, HealthService);
    const err = await health.check({ service: '' }).catch((e: unknown) => e);
    expect(isTtrpcError(err) && err.code).toBe(Code.UNAVAILABLE);
  });
});
