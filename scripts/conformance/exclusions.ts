/**
 * vm-exclusions.txt: the critest specs kata-ts may fail where runc passes (a VM runtime cannot do what
 * they check). A line is a spec name as the summary prints it, or `<daemon>: <spec name>` (daemon
 * `containerd` or `crio`) for a spec that only that daemon's VM path cannot pass.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export const EXCLUSIONS_FILE = path.join(__dirname, 'vm-exclusions.txt');

export interface Exclusion {
  /** Only on this daemon (run.ts's daemon names); every daemon when unset. */
  daemon?: string;
  spec: string;
}

const QUALIFIED = /^(containerd|crio): (\[.*)$/;

export function parseExclusions(text: string): Exclusion[] {
  const out: Exclusion[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const q = QUALIFIED.exec(line);
    out.push(q ? { daemon: q[1], spec: q[2]! } : { spec: line });
  }
  return out;
}

export function readExclusions(file = EXCLUSIONS_FILE): Exclusion[] {
  return parseExclusions(readFileSync(file, 'utf8'));
}

/** The spec names excluded on a daemon. */
export function excludedOn(daemon: string, list: readonly Exclusion[]): Set<string> {
  return new Set(list.filter((e) => !e.daemon || e.daemon === daemon).map((e) => e.spec));
}

/**
 * A ginkgo --skip expression matching exactly these spec names. Ginkgo matches it against the suite's
 * description, a space, then the spec's full text, so a name is anchored at the end and after a space.
 */
export function skipExpression(specs: Iterable<string>): string | undefined {
  const escaped = [...specs].map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return escaped.length > 0 ? `(?:^|\\s)(?:${escaped.join('|')})$` : undefined;
}
