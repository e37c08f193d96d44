/**
 * ListProcesses with Kata 1.x's semantics (Kata dropped the RPC in 2.x; kept for our own tools): "json" answers the container's pids as a JSON array;
 * "table" runs `ps` (the caller's args, default -ef; no shell) and keeps the header plus the lines
 * whose PID column is one of the container's. The args are bounded and plain: they go to ps only.
 */
import { InvalidArgumentError } from '../errors';

/** Runs ps with these args and resolves with its stdout. */
export type PsRunner = (args: string[]) => Promise<string>;

const MAX_ARGS = 16;
const ARG = /^[A-Za-z0-9,=_%:.+-]{1,128}$/;

export async function listProcesses(pids: readonly number[], format: string, args: readonly string[], ps: PsRunner): Promise<Uint8Array> {
  if (format === 'json') return Buffer.from(JSON.stringify(pids));
  if (format !== 'table') throw new InvalidArgumentError(`invalid format ${JSON.stringify(format)}: expected "table" or "json"`);
  if (args.length > MAX_ARGS) throw new InvalidArgumentError(`too many ps arguments (${args.length} > ${MAX_ARGS})`);
  const bad = args.find((a) => !ARG.test(a));
  if (bad !== undefined) throw new InvalidArgumentError(`invalid ps argument ${JSON.stringify(bad.slice(0, 64))}`);
  const lines = (await ps(args.length ? [...args] : ['-ef'])).split('\n');
  const header = lines[0] ?? '';
  const pidColumn = header.trim().split(/\s+/).indexOf('PID');
  if (pidColumn < 0) throw new InvalidArgumentError(`ps ${args.join(' ')} printed no PID column`);
  const wanted = new Set(pids);
  const kept = lines.slice(1).filter((line) => wanted.has(Number(line.trim().split(/\s+/)[pidColumn])));
  return Buffer.from(`${[header, ...kept].join('\n')}\n`);
}
