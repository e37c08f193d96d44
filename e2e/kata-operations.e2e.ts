/**
 * Operating a running sandbox (issue 10) through the installed `kata-ts` command, a private containerd
 * and a real VM: `kata-ts agent-ctl` calls the sandbox's agent through its shim's agent-ctl socket, and
 * the agent's own log lines reach the shim's log (containerd's, here) over the VM's log port.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KataCtr, NO_LEFTOVERS, describeKata, installedConfigWith, run, sandboxFootprint, settledLeftovers, type PrivateContainerd } from './harness';

const TEST_TIMEOUT_MS = 240_000;

describeKata('kata-ts operations on a running sandbox', () => {
  let ctd: PrivateContainerd;
  let kata: KataCtr;
  let tmpDir: string;
  let config: string;
  const id = `kata-ops-${process.pid}`;

  const agentCtl = (...args: string[]) => run('kata-ts', ['agent-ctl', ...args], { timeoutMs: 60_000 });

  beforeAll(async () => {
    tmpDir = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-ops-e2e-'));
    config = path.join(tmpDir, 'config.toml');
    writeFileSync(config, installedConfigWith({}));
    ({ ctd, kata } = await KataCtr.start());
    await kata.runDetached(id, config, ['sh', '-c', 'exec sleep 100000']);
  }, 240_000);

  afterAll(async () => {
    if (kata) await kata.remove(id).catch(() => undefined);
    if (ctd) expect(await settledLeftovers(sandboxFootprint(ctd, [id]))).toEqual(NO_LEFTOVERS);
    await ctd?.stop();
    if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
  }, 120_000);

  it('agent-ctl lists the agent API and calls Health.Check, GetGuestDetails, ListInterfaces and ListProcesses', async () => {
    const list = await agentCtl('--list');
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('grpc.AgentService.ListProcesses\tListProcessesRequest\n');

    const health = await agentCtl(id, 'Health.Check');
    expect(health).toMatchObject({ code: 0 });
    expect(JSON.parse(health.stdout)).toMatchObject({ status: 'SERVING' });

    const details = JSON.parse((await agentCtl(id, 'GetGuestDetails', '{"memBlockSize": true, "memHotplugProbe": true}')).stdout) as { memBlockSizeBytes: string; agentDetails: { storageHandlers: string[] } };
    expect(Number(details.memBlockSizeBytes)).toBe(128 << 20);
    expect(details.agentDetails.storageHandlers).toContain('9p');

    const interfaces = JSON.parse((await agentCtl(id, 'ListInterfaces')).stdout) as { Interfaces: Array<{ name: string; IPAddresses: Array<{ address: string }> }> };
    expect(interfaces.Interfaces.find((i) => i.name === 'lo')?.IPAddresses.map((a) => a.address)).toContain('127.0.0.1');

    const ps = await agentCtl(id, 'ListProcesses', JSON.stringify({ containerId: id, format: 'table' }));
    expect(ps).toMatchObject({ code: 0 });
    const table = Buffer.from((JSON.parse(ps.stdout) as { processList: string }).processList, 'base64').toString();
    expect(table.split('\n')[0]).toMatch(/^\s*PID\b/);
    expect(table).toMatch(/^\s*\d+\s.*sleep 100000\s*$/m);

    // The shim logged each operator call with its method.
    const logged = readFileSync(ctd.layout.logFile, 'utf8').split('\n').filter((l) => l.includes('"msg":"agent-ctl call"') && l.includes(`"sandbox":"${id}"`));
    expect(logged.map((l) => /"rpc":"([^"]+)"/.exec(l)?.[1])).toEqual(['grpc.Health/Check', 'grpc.AgentService/GetGuestDetails', 'grpc.AgentService/ListInterfaces', 'grpc.AgentService/ListProcesses']);
  }, TEST_TIMEOUT_MS);

  it('writes the agent\'s log lines into the shim\'s log, at their level, with the sandbox id', () => {
    const agentLines = readFileSync(ctd.layout.logFile, 'utf8').split('\n').filter((l) => l.includes('"subsystem":"agent"'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const created = agentLines.find((r) => r.msg === 'container created' && r.guestContainer === id);
    expect(created).toMatchObject({ level: 30, sandbox: id, guestName: 'kata-agent' });
    expect(typeof created?.guestTime).toBe('string');
    expect(agentLines.find((r) => r.msg === 'sandbox created')).toMatchObject({ sandbox: id, guestSandbox: id });
  });

  it('agent-ctl answers bad input with a clear error and a non-zero exit', async () => {
    const unknown = await agentCtl('no-such-sandbox', 'Health.Check');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(new RegExp(`no running sandbox no-such-sandbox .*; running: .*${id}`));
    const malformed = await agentCtl(id, 'GetGuestDetails', '{"memBlockSize": ');
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(/GetGuestDetails: the arguments are not JSON/);
    const notFound = await agentCtl(id, 'ListProcesses', '{"containerId": "nope", "format": "table"}');
    expect(notFound.code).toBe(1);
    expect(notFound.stderr).toMatch(/grpc.AgentService.ListProcesses: NOT_FOUND: /);
    // The sandbox is untouched by all of it.
    expect(await kata.exec(id, 'still', 'echo fine')).toBe('fine\n');
  }, TEST_TIMEOUT_MS);
});
