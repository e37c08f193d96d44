/**
 * Reads critest's ginkgo JSON reports and compares runtimes: specs passed / failed / skipped per
 * runtime per daemon, and the specs kata-ts fails where runc passes on the same daemon.
 */
import { readFileSync } from 'node:fs';

/** One spec's outcome. */
export interface SpecOutcome {
  /** Describe/Context texts and the It text, joined by spaces (as ginkgo prints them). */
  name: string;
  /** passed | failed | skipped | notrun: failed covers ginkgo's panicked/timedout/interrupted/aborted,
   *  skipped is a Skip() inside the spec, notrun a spec the focus/skip filters left out. */
  state: 'passed' | 'failed' | 'skipped' | 'notrun';
  seconds: number;
  /** The failure or skip message, first lines. */
  message: string;
}

/** One critest run: which daemon, which runtime, what came out. */
export interface RunReport {
  daemon: string;
  /** run.ts's name of the daemon (containerd, crio), which vm-exclusions.txt qualifies lines with. */
  name?: string;
  runtime: string;
  specs: SpecOutcome[];
  /** Wall time of the critest run. */
  seconds: number;
  /** Set when critest produced no report (it did not start, or died before writing one). */
  error?: string;
  /** The ginkgo JSON report's file name in the results directory. */
  file?: string;
}

interface GinkgoSpec {
  LeafNodeType: string;
  LeafNodeText: string;
  ContainerHierarchyTexts: string[] | null;
  State: string;
  RunTime: number;
  Failure?: { Message?: string };
}

const FAILED = new Set(['failed', 'panicked', 'timedout', 'interrupted', 'aborted']);

/** Parses a ginkgo --json-report file into one outcome per It. */
export function readGinkgoJson(file: string): SpecOutcome[] {
  const suites = JSON.parse(readFileSync(file, 'utf8')) as { SpecReports: GinkgoSpec[] | null }[];
  return suites.flatMap((s) => s.SpecReports ?? []).filter((s) => s.LeafNodeType === 'It').map((s) => {
    const message = (s.Failure?.Message ?? '').trim().split('\n').slice(0, 6).join('\n');
    const state = s.State === 'passed' ? 'passed' : FAILED.has(s.State) ? 'failed' : message ? 'skipped' : 'notrun';
    return { name: [...(s.ContainerHierarchyTexts ?? []), s.LeafNodeText].join(' '), state, seconds: s.RunTime / 1e9, message };
  });
}

const count = (r: RunReport, state: SpecOutcome['state']) => r.specs.filter((s) => s.state === state).length;

/** The per-run table: daemon, runtime, passed, failed, skipped, not run, minutes. */
export function summaryTable(runs: RunReport[]): string {
  const rows = [['daemon', 'runtime', 'passed', 'failed', 'skipped', 'not run', 'minutes']];
  for (const r of runs) {
    rows.push(r.error
      ? [r.daemon, r.runtime, '-', '-', '-', '-', (r.seconds / 60).toFixed(1)]
      : [r.daemon, r.runtime, ...(['passed', 'failed', 'skipped', 'notrun'] as const).map((s) => String(count(r, s))), (r.seconds / 60).toFixed(1)]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => row.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** The specs with state `a` in run `x` whose state in run `y` is `b` (same daemon, two runtimes), with y's outcome. */
export function contrast(x: RunReport, a: SpecOutcome['state'], y: RunReport, b: SpecOutcome['state']): [SpecOutcome, SpecOutcome][] {
  const other = new Map(y.specs.map((s) => [s.name, s]));
  return x.specs.flatMap((s): [SpecOutcome, SpecOutcome][] => {
    const o = other.get(s.name);
    return s.state === a && o?.state === b ? [[s, o]] : [];
  }).sort(([p], [q]) => p.name.localeCompare(q.name));
}

/** One spec line and the first line of the message that explains it (kata's, else runc's). */
function specLines([kata, runc]: [SpecOutcome, SpecOutcome]): string[] {
  const message = (kata.message || runc.message).split('\n')[0]!.slice(0, 220);
  return [`  - ${kata.name}`, ...(message ? [`      ${kata.message ? 'kata' : 'runc'}: ${message}`] : [])];
}

/** The whole human-readable summary: the table, then per daemon what kata-ts fails that runc passes, and what both fail. */
export function renderSummary(runs: RunReport[]): string {
  const out = [summaryTable(runs), ''];
  for (const r of runs.filter((run) => run.error)) out.push(`${r.daemon} / ${r.runtime}: no report (${r.error})`, '');
  for (const daemon of [...new Set(runs.map((r) => r.daemon))]) {
    const kata = runs.find((r) => r.daemon === daemon && r.runtime === 'kata' && !r.error);
    const runc = runs.find((r) => r.daemon === daemon && r.runtime === 'runc' && !r.error);
    if (!kata || !runc) continue;
    const sections: [string, [SpecOutcome, SpecOutcome][]][] = [
      [`${daemon}: kata-ts FAILS, runc passes`, contrast(kata, 'failed', runc, 'passed')],
      [`${daemon}: kata-ts skips, runc passes`, contrast(kata, 'skipped', runc, 'passed')],
      [`${daemon}: kata-ts passes, runc fails`, contrast(kata, 'passed', runc, 'failed')],
      [`${daemon}: kata-ts passes, runc skips`, contrast(kata, 'passed', runc, 'skipped')],
      [`${daemon}: both fail`, contrast(kata, 'failed', runc, 'failed')],
    ];
    for (const [title, specs] of sections) out.push(`${title} (${specs.length})`, ...specs.flatMap(specLines), '');
  }
  return out.join('\n');
}
