/**
 * Prometheus text exposition format (version 0.0.4), the payload of the agent's GetMetrics and of
 * every /metrics endpoint kata-ts serves: written by the agent and the shim, read back by the shim
 * (the agent's text, which it does not trust) and by `kata-ts monitor` (each shim's text, merged).
 *
 * Only what the format needs for gauges, counters and histograms: `# HELP`, `# TYPE` and sample
 * lines `name{label="value",...} value [timestamp]`. A family's samples follow its HELP/TYPE lines;
 * a histogram's `_bucket`, `_sum` and `_count` samples belong to the family named without them.
 */

export type FamilyType = 'gauge' | 'counter' | 'histogram' | 'summary' | 'untyped';

export type Labels = Record<string, string>;

export interface Sample {
  /** The sample's own name: the family name, or it plus _bucket/_sum/_count for histograms. */
  name: string;
  labels: Labels;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: FamilyType;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FAMILY_TYPES = new Set<FamilyType>(['gauge', 'counter', 'histogram', 'summary', 'untyped']);

/** Whether `name` is a valid metric name. */
export function isMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

/** A family with samples built from `[labels, value]` pairs (all named after the family). */
export function family(name: string, help: string, type: FamilyType, samples: Array<[Labels, number]>): Family {
  return { name, help, type, samples: samples.map(([labels, value]) => ({ name, labels, value })) };
}

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** Renders `{a="x",b="y"}` (nothing for no labels). */
export function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

/** Writes families as exposition text; a family without samples still says what it is. */
export function writeExposition(families: readonly Family[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) lines.push(`${s.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** What a reader accepts: text from a peer that is not trusted is held to these. */
export interface ParseLimits {
  /** Families whose name does not start with one of these are dropped (default: all kept). */
  prefixes?: readonly string[];
  /** Samples beyond this many are dropped (default 100 000). */
  maxSamples?: number;
  /** Labels per sample beyond this make the sample invalid (default 16). */
  maxLabels?: number;
  /** Longest label value or help text kept; longer ones are cut (default 1024). */
  maxValueLength?: number;
}

export interface ParseResult {
  families: Family[];
  /** Lines that were not valid exposition text, or were dropped by the limits. */
  dropped: number;
}

/** Reads exposition text line by line: invalid lines are counted and skipped, never thrown. */
export function parseExposition(text: string, limits: ParseLimits = {}): ParseResult {
  const maxSamples = limits.maxSamples ?? 100_000;
  const maxLabels = limits.maxLabels ?? 16;
  const maxValueLength = limits.maxValueLength ?? 1024;
  const allowed = (name: string) => !limits.prefixes || limits.prefixes.some((p) => name.startsWith(p));
  const byName = new Map<string, Family>();
  let current: Family | undefined;
  let samples = 0;
  let dropped = 0;

  const declare = (name: string): Family | undefined => {
    if (!isMetricName(name) || !allowed(name)) return undefined;
    let f = byName.get(name);
    if (!f) {
      f = { name, help: '', type: 'untyped', samples: [] };
      byName.set(name, f);
    }
    return f;
  };

  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s*(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
      if (!m) continue; // a plain comment
      const f = declare(m[2]!);
      if (!f) {
        dropped++;
        current = undefined;
        continue;
      }
      current = f;
      const rest = m[3] ?? '';
      if (m[1] === 'HELP') f.help = unescapeHelp(rest).slice(0, maxValueLength);
      else if (FAMILY_TYPES.has(rest as FamilyType)) f.type = rest as FamilyType;
      else dropped++;
      continue;
    }
    const sample = parseSample(line, maxLabels, maxValueLength);
    if (!sample || samples >= maxSamples) {
      dropped++;
      continue;
    }
    const owner = current && belongsTo(sample.name, current) ? current : declare(sample.name);
    if (!owner) {
      dropped++;
      continue;
    }
    owner.samples.push(sample);
    samples++;
  }
  return { families: [...byName.values()], dropped };
}

const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];

function belongsTo(sampleName: string, f: Family): boolean {
  if (sampleName === f.name) return true;
  if (f.type !== 'histogram' && f.type !== 'summary') return false;
  return HISTOGRAM_SUFFIXES.some((s) => sampleName === f.name + s);
}

function unescapeHelp(v: string): string {
  return v.replace(/\\(\\|n)/g, (_, c: string) => (c === 'n' ? '\n' : '\\'));
}

function parseValue(text: string): number | undefined {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return undefined;
  return Number(text);
}

/** One sample line, or undefined when it is not valid. */
function parseSample(line: string, maxLabels: number, maxValueLength: number): Sample | undefined {
  const nameEnd = line.search(/[{\s]/);
  if (nameEnd <= 0) return undefined;
  const name = line.slice(0, nameEnd);
  if (!isMetricName(name)) return undefined;
  const labels: Labels = {};
  let i = nameEnd;
  if (line[i] === '{') {
    i++;
    let count = 0;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const eq = line.indexOf('=', i);
      if (eq < 0) return undefined;
      const key = line.slice(i, eq).trim();
      if (!LABEL_NAME.test(key) || line[eq + 1] !== '"' || ++count > maxLabels || key in labels) return undefined;
      let value = '';
      let j = eq + 2;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\') {
          const next = line[++j];
          value += next === 'n' ? '\n' : next ?? '';
        } else {
          value += line[j];
        }
      }
      if (j >= line.length) return undefined; // unterminated value
      labels[key] = value.slice(0, maxValueLength);
      i = j + 1;
    }
  }
  const rest = line.slice(i).trim().split(/\s+/);
  if (rest.length < 1 || rest.length > 2 || rest[0] === '') return undefined;
  if (rest[1] !== undefined && !/^-?\d+$/.test(rest[1])) return undefined; // a timestamp, in ms
  const value = parseValue(rest[0]!);
  if (value === undefined) return undefined;
  return { name, labels, value };
}
