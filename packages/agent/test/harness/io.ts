import { readdirSync, readFileSync } from 'node:fs';
import type { AgentService } from '@kata-ts/protocol/kata';
import type { ServiceClient } from 'ttrpc-ts';

/** Reads a process's stdout or stderr until EOF (an empty reply), as Kata's shim does. */
export async function readAll(agent: ServiceClient<typeof AgentService>, containerId: string, execId: string, which: 'stdout' | 'stderr', len = 32 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for (;;) {
    const req = { containerId, execId, len };
    const r = which === 'stdout' ? await agent.readStdout(req) : await agent.readStderr(req);
    if (!r.data || r.data.length === 0) return Buffer.concat(chunks);
    chunks.push(Buffer.from(r.data));
  }
}

/** Zombie processes among the descendants of `pid` ("pid comm" strings). */
export function zombiesUnder(pid: number): string[] {
  const parent = new Map<number, number>();
  const info = new Map<number, { state: string; comm: string }>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      parent.set(Number(name), Number(fields[1]));
      info.set(Number(name), { state: fields[0]!, comm: stat.slice(stat.indexOf('(') + 1, close) });
    } catch {
      // gone
    }
  }
  const out: string[] = [];
  for (const [p, i] of info) {
    let q: number | undefined = p;
    while (q && q !== pid) q = parent.get(q);
    if (q === pid && i.state === 'Z') out.push(`${p} ${i.comm}`);
  }
  return out;
}
