import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code, Server, TtrpcError } from 'ttrpc-ts';
import { AgentService, HealthService } from '@kata-ts/protocol/kata';
import { run } from '../cli';

function collect() {
  const out = { text: '', err: '', write: (t: string) => void (out.text += t), error: (t: string) => void (out.err += t) };
  return out;
}

describe('kata-ts agent-ctl', () => {
  let dir: string;
  let config: string;
  let server: Server;
  const seen: Array<{ method: string; request: unknown }> = [];

  beforeAll(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-agent-ctl-cli-'));
    config = path.join(dir, 'config.toml');
    await fs.writeFile(config, `[runtime]\nstate_dir = "${dir}"\n`);
    await fs.mkdir(path.join(dir, 'sbs', 'pod1'), { recursive: true });
    // Stands in for the shim's agent-ctl socket: the agent's services, answering as an agent would.
    server = new Server()
      .register(HealthService, { check: (req) => (seen.push({ method: 'Check', request: req }), { status: 1 }) })
      .register(AgentService, {
        getGuestDetails: (req) => (seen.push({ method: 'GetGuestDetails', request: req }), { memBlockSizeBytes: 134217728, agentDetails: { version: '0.1.0' } }),
        listProcesses: (req) => {
          seen.push({ method: 'ListProcesses', request: req });
          throw new TtrpcError(Code.NOT_FOUND, `container ${req.containerId} not found`);
        },
      });
    await server.listen(path.join(dir, 'sbs', 'pod1', 'agent-ctl.sock'));
  });

  afterAll(async () => {
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    seen.length = 0;
  });

  it('lists every RPC of the agent API with its request type', async () => {
    const out = collect();
    expect(await run(['agent-ctl', '--list'], out)).toBe(0);
    expect(out.text).toContain('grpc.Health.Check\tCheckRequest\n');
    expect(out.text).toContain('grpc.AgentService.GetGuestDetails\tGuestDetailsRequest\n');
    expect(out.text.trim().split('\n').length).toBeGreaterThan(30);
  });

  it('calls one RPC with JSON arguments and prints the reply as protobuf JSON', async () => {
    const out = collect();
    expect(await run(['--config', config, 'agent-ctl', 'pod1', 'GetGuestDetails', '{"memBlockSize": true}'], out)).toBe(0);
    expect(seen).toEqual([{ method: 'GetGuestDetails', request: expect.objectContaining({ memBlockSize: true, memHotplugProbe: false }) }]);
    const reply = JSON.parse(out.text) as { memBlockSizeBytes: string; agentDetails: { version: string } };
    expect(reply.memBlockSizeBytes).toBe('134217728');
    expect(reply.agentDetails.version).toBe('0.1.0');
    const check = collect();
    expect(await run(['--config', config, 'agent-ctl', 'pod1', 'Health.Check'], check)).toBe(0);
    expect(JSON.parse(check.text)).toEqual({ service: undefined, status: 'SERVING' });
  });

  it('reports the agent\'s error with its status and exits 1', async () => {
    const out = collect();
    expect(await run(['--config', config, 'agent-ctl', 'pod1', 'ListProcesses', '{"containerId": "c9"}'], out)).toBe(1);
    expect(out.err).toBe('kata-ts agent-ctl: grpc.AgentService.ListProcesses: NOT_FOUND: container c9 not found\n');
  });

  it('refuses bad input before anything reaches the agent (exit 2)', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['pod1', 'GetGuestDetails', '{"memBlockSize": tru'], /GetGuestDetails: the arguments are not JSON/],
      [['pod1', 'GetGuestDetails', '[1]'], /must be a JSON object/],
      [['pod1', 'GetGuestDetails', '{"memBlockSise": true}'], /unknown field memBlockSise \(fields: memBlockSize, memHotplugProbe\)/],
      [['pod1', 'NoSuchRpc'], /unknown RPC "NoSuchRpc" \(kata-ts agent-ctl --list names them\)/],
      [['pod2', 'Health.Check'], /no running sandbox pod2 .*; running: pod1$/m],
      [['../../etc', 'Health.Check'], /"..\/..\/etc" is not a sandbox id/],
      [[], /name a sandbox id/],
    ];
    for (const [argv, message] of cases) {
      const out = collect();
      expect([argv, await run(['--config', config, 'agent-ctl', ...argv], out)]).toEqual([argv, 2]);
      expect(out.err).toMatch(message);
    }
    expect(seen).toEqual([]);
  });

  it('runs a script of calls, and checks every line before making the first call', async () => {
    const script = path.join(dir, 'calls.txt');
    await fs.writeFile(script, '# guest facts\nHealth.Check\nGetGuestDetails {"memHotplugProbe": true}\n\n');
    const out = collect();
    expect(await run(['--config', config, 'agent-ctl', 'pod1', '--script', script], out)).toBe(0);
    expect(out.text.trim().split('\n').map((l) => (JSON.parse(l) as { rpc: string }).rpc)).toEqual(['grpc.Health.Check', 'grpc.AgentService.GetGuestDetails']);
    await fs.writeFile(script, 'Health.Check\nGetGuestDetails {oops}\n');
    const bad = collect();
    expect(await run(['--config', config, 'agent-ctl', 'pod1', '--script', script], bad)).toBe(2);
    expect(bad.err).toMatch(/^kata-ts agent-ctl: line 2: GetGuestDetails: the arguments are not JSON/);
    expect(seen.map((s) => s.method)).toEqual(['Check', 'GetGuestDetails']);
  });
});
