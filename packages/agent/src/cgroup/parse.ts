// Parsers for cgroup v2 interface files. Pure functions, unit-tested with literal file contents.

/** "key value" lines (cpu.stat, memory.stat, memory.events, cgroup.events) → map. */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** A single-value file: a number, or undefined for "max" (no limit) and garbage. */
export function parseLimit(text: string): number | undefined {
  const t = text.trim();
  if (/^\d+$/.test(t)) return Number(t);
  return undefined;
}

/** One device's line of io.stat. */
export interface IoStatEntry {
  major: number;
  minor: number;
  values: Map<string, number>;
}

/** io.stat: "8:0 rbytes=1 wbytes=2 rios=3 wios=4 dbytes=0 dios=0" per device. */
export function parseIoStat(text: string): IoStatEntry[] {
  const out: IoStatEntry[] = [];
  for (const line of text.split('\n')) {
    const parts = line.trim().split(/\s+/);
    const dev = /^(\d+):(\d+)$/.exec(parts[0] ?? '');
    if (!dev) continue;
    const values = new Map<string, number>();
    for (const kv of parts.slice(1)) {
      const m = /^([a-z]+)=(\d+)$/.exec(kv);
      if (m) values.set(m[1]!, Number(m[2]));
    }
    out.push({ major: Number(dev[1]), minor: Number(dev[2]), values });
  }
  return out;
}

/** cgroup.procs / cgroup.threads: one pid per line. */
export function parsePids(text: string): number[] {
  return text.split('\n').filter((l) => /^\d+$/.test(l.trim())).map((l) => Number(l.trim()));
}

/** cgroup v1 cpu.shares → v2 cpu.weight (the conversion runc and crun use). */
export function sharesToWeight(shares: number): number {
  if (shares <= 0) return 0;
  return Math.max(1, Math.min(10000, 1 + Math.floor(((shares - 2) * 9999) / 262142)));
}
