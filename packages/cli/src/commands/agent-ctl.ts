/**
 * `kata-ts agent-ctl` (Kata's kata-agent-ctl): calls a running sandbox's agent by hand.
 *   kata-ts agent-ctl <sandbox-id> <rpc> [json]     one call, its reply printed as JSON
 *   kata-ts agent-ctl <sandbox-id> --script <file>  one call per line: `<rpc> [json]` (# comments)
 *   kata-ts agent-ctl --list                        every RPC, with its request type
 * RPC names are the wire names (GetGuestDetails), optionally with the service (Health.Check,
 * grpc.AgentService.ListInterfaces). Arguments are the request message as JSON, with protobuf's JSON
 * field names (e.g. {"containerId": "c1"}). The call goes through the sandbox shim's agent-ctl socket
 * (<state dir>/sbs/<id>/agent-ctl.sock): the agent's channel belongs to the shim.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import protobuf from 'protobufjs';
import { kataReflection } from '@kata-ts/protocol/kata-reflection';
import { AGENT_CTL_SOCKET } from '@kata-ts/shim';
import { bytesCodec, Client, codeName, isTtrpcError, method } from 'ttrpc-ts';
import { loadEffectiveConfig } from '../config-lookup';
import { resolveSandbox, SANDBOX_ID, SandboxLookupError } from '../sandbox-resolve';
import type { Output } from '../output';

export interface AgentCtlArgs {
  config?: string;
  sandbox?: string;
  rpc?: string;
  json?: string;
  script?: string;
  list: boolean;
  timeout: number;
}

interface Rpc {
  /** e.g. grpc.AgentService */
  service: string;
  /** the wire name, e.g. GetGuestDetails */
  method: string;
  request: protobuf.Type;
  response: protobuf.Type;
}

class UsageError extends Error {}

/** The services an agent serves, in the order --list prints them. */
const SERVICES = ['grpc.AgentService', 'grpc.Health'];
/** protobuf JSON: enums by name, 64-bit numbers as strings, bytes as base64, every field shown. */
const TO_JSON: protobuf.IConversionOptions = { longs: String, enums: String, bytes: String, defaults: true, arrays: true, json: true };

/** Every RPC under each name it may be called by: GetGuestDetails, AgentService.X, Agent.X, grpc.AgentService.X. */
function allRpcs(): { list: Rpc[]; byName: Map<string, Rpc> } {
  const root = protobuf.Root.fromJSON(kataReflection as protobuf.INamespace);
  const list: Rpc[] = [];
  const byName = new Map<string, Rpc>();
  for (const serviceName of SERVICES) {
    const service = root.lookupService(serviceName);
    const short = serviceName.replace(/^grpc\./, '');
    for (const m of service.methodsArray) {
      const rpc = { service: serviceName, method: m.name, request: root.lookupType(m.requestType), response: root.lookupType(m.responseType) };
      list.push(rpc);
      for (const name of [m.name, `${short}.${m.name}`, `${short.replace(/Service$/, '')}.${m.name}`, `${serviceName}.${m.name}`]) {
        if (!byName.has(name)) byName.set(name, rpc);
      }
    }
  }
  return { list, byName };
}

function parseRequest(rpc: Rpc, text: string | undefined): Uint8Array {
  let value: unknown = {};
  if (text !== undefined && text.trim() !== '') {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new UsageError(`${rpc.method}: the arguments are not JSON: ${(err as Error).message}`);
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UsageError(`${rpc.method}: the arguments must be a JSON object`);
  const known = Object.keys(rpc.request.fields);
  const unknown = Object.keys(value).filter((k) => !known.includes(k));
  if (unknown.length > 0) throw new UsageError(`${rpc.method}: unknown field ${unknown.join(', ')} (fields: ${known.join(', ') || 'none'})`);
  try {
    return rpc.request.encode(rpc.request.fromObject(value as Record<string, unknown>)).finish();
  } catch (err) {
    throw new UsageError(`${rpc.method}: ${(err as Error).message}`);
  }
}

/** Each script line: `<rpc> [json]`; blank lines and # comments skipped. */
function scriptCalls(text: string): Array<{ line: number; rpc: string; json?: string }> {
  const calls: Array<{ line: number; rpc: string; json?: string }> = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const space = line.search(/\s/);
    calls.push(space < 0 ? { line: i + 1, rpc: line } : { line: i + 1, rpc: line.slice(0, space), json: line.slice(space + 1) });
  });
  return calls;
}

export async function agentCtlCommand(args: AgentCtlArgs, out: Output): Promise<number> {
  const rpcs = allRpcs();
  if (args.list) {
    for (const rpc of rpcs.list) out.write(`${rpc.service}.${rpc.method}\t${rpc.request.name}\n`);
    return 0;
  }
  try {
    if (!args.sandbox) throw new UsageError('name a sandbox id (kata-ts agent-ctl <sandbox-id> <rpc> [json]), or --list');
    if (!SANDBOX_ID.test(args.sandbox)) throw new UsageError(`${JSON.stringify(args.sandbox)} is not a sandbox id`);
    const calls = args.script !== undefined
      ? scriptCalls(await fs.readFile(args.script, 'utf8').catch((err: Error) => { throw new UsageError(`--script: ${err.message}`); }))
      : args.rpc ? [{ line: 0, rpc: args.rpc, json: args.json }] : [];
    if (calls.length === 0) throw new UsageError('name an RPC (see --list), or --script <file>');
    // Every call is checked before the first goes out: a typo on line 9 must not leave lines 1-8 done.
    const planned = calls.map((c) => {
      const rpc = rpcs.byName.get(c.rpc);
      const where = c.line ? `line ${c.line}: ` : '';
      if (!rpc) throw new UsageError(`${where}unknown RPC ${JSON.stringify(c.rpc)} (kata-ts agent-ctl --list names them)`);
      try {
        return { rpc, request: parseRequest(rpc, c.json) };
      } catch (err) {
        throw new UsageError(`${where}${(err as Error).message}`);
      }
    });

    const { config, error } = await loadEffectiveConfig(args.config);
    if (error) throw new UsageError(error);
    let sandboxDir: string;
    try {
      sandboxDir = resolveSandbox(config.runtime.stateDir, args.sandbox).dir;
    } catch (err) {
      throw err instanceof SandboxLookupError ? new UsageError(err.message) : err;
    }
    const socket = path.join(sandboxDir, AGENT_CTL_SOCKET);
    const client = await Client.connect(socket, { timeoutMs: 5_000 });
    try {
      for (const { rpc, request } of planned) {
        try {
          const reply = await client.unary(rpc.service, method(rpc.method, bytesCodec, bytesCodec), request, { timeoutMs: args.timeout * 1000 });
          const json = rpc.response.toObject(rpc.response.decode(reply), TO_JSON);
          out.write(planned.length > 1 ? `${JSON.stringify({ rpc: `${rpc.service}.${rpc.method}`, reply: json })}\n` : `${JSON.stringify(json, null, 2)}\n`);
        } catch (err) {
          const why = isTtrpcError(err) ? `${codeName(err.code)}: ${err.message}` : (err as Error).message;
          out.error(`kata-ts agent-ctl: ${rpc.service}.${rpc.method}: ${why}\n`);
          return 1;
        }
      }
    } finally {
      client.close();
    }
    return 0;
  } catch (err) {
    out.error(`kata-ts agent-ctl: ${(err as Error).message}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}
