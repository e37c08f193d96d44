/**
 * A pod start split into phases from the shim's own log lines in containerd's log (shared by
 * start-phases.ts and bench.ts): "VM restored from its template", "agent is up", "container created"
 * (bootMs, rootfsMs, agentCreateMs) and the Create, Start and Delete RPCs with their durations.
 */

export interface Phases {
  totalMs: number;
  /** How the VM came: a warm pool VM, a template clone or a cold boot. */
  vm: 'pool' | 'clone' | 'cold';
  restoreMs?: number;
  agentUpMs?: number;
  bootMs?: number;
  rootfsMs?: number;
  agentCreateMs?: number;
  createRpcMs?: number;
  startRpcMs?: number;
  deleteRpcMs?: number;
}

interface ShimLine {
  id?: string;
  subsystem?: string;
  msg?: string;
  ms?: number;
  rpc?: string;
  bootMs?: number;
  rootfsMs?: number;
  agentCreateMs?: number;
}

/** The shim's own JSON lines for container `id` in containerd's log (containerd quotes them in msg="..."). */
export function shimLines(logText: string, id: string): ShimLine[] {
  const out: ShimLine[] = [];
  for (const line of logText.split('\n')) {
    const start = line.indexOf('{"level"');
    if (start < 0) continue;
    const json = line.slice(start).replace(/\\"/g, '"').replace(/"\s*runtime=.*$/, '').replace(/"$/, '');
    try {
      const parsed = JSON.parse(json) as ShimLine;
      // The agent's own lines reach the shim's log too (subsystem agent), some with the same messages.
      if (parsed.id === id && parsed.subsystem !== 'agent') out.push(parsed);
    } catch {
      // not a shim line
    }
  }
  return out;
}

export function phasesOf(lines: ShimLine[], totalMs: number): Phases {
  const find = (msg: string) => lines.find((l) => l.msg === msg);
  const rpc = (name: string) => lines.find((l) => l.msg === 'rpc done' && l.rpc?.endsWith(`/${name}`))?.ms;
  const created = find('container created');
  const vm = find('adopted a warm pool VM') ? 'pool' : find('VM restored from its template') ? 'clone' : 'cold';
  return {
    totalMs,
    vm,
    restoreMs: find('VM restored from its template')?.ms,
    agentUpMs: find('agent is up')?.ms,
    bootMs: created?.bootMs,
    rootfsMs: created?.rootfsMs,
    agentCreateMs: created?.agentCreateMs,
    createRpcMs: rpc('Create'),
    startRpcMs: rpc('Start'),
    deleteRpcMs: rpc('Delete'),
  };
}
