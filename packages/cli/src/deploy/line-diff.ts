/** A unified diff of two small texts (config files), for `--dry-run`: what would change, with context. */

// 4M cells of the LCS table (16 MiB): far beyond any real config.toml.
const MAX_CELLS = 4_000_000;

type Op = { kind: ' ' | '-' | '+'; line: string };

/** Longest-common-subsequence line diff; config files are a few hundred lines, so O(n·m) is fine. */
function diffLines(a: string[], b: string[]): Op[] {
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    const row = lcs[i] as Uint32Array;
    const below = lcs[i + 1] as Uint32Array;
    for (let j = m - 1; j >= 0; j--) row[j] = a[i] === b[j] ? (below[j + 1] as number) + 1 : Math.max(below[j] as number, row[j + 1] as number);
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] === b[j]) {
      ops.push({ kind: ' ', line: a[i++] as string });
      j++;
    } else if (i < n && (j === m || (lcs[i + 1]?.[j] as number) >= (lcs[i]?.[j + 1] as number))) ops.push({ kind: '-', line: a[i++] as string });
    else ops.push({ kind: '+', line: b[j++] as string });
  }
  return ops;
}

function lines(text: string): string[] {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}

/** `--- before` / `+++ after` and @@ hunks with `context` lines around each change; '' when the texts are equal. */
export function unifiedDiff(before: string, after: string, names: { before: string; after: string }, context = 3): string {
  const a = lines(before);
  const b = lines(after);
  if (a.length * b.length > MAX_CELLS) return `--- ${names.before}\n+++ ${names.after}\n(too large to diff here: ${a.length} lines before, ${b.length} after)\n`;
  const ops = diffLines(a, b);
  const changed = ops.map((op, k) => (op.kind !== ' ' ? k : -1)).filter((k) => k >= 0);
  if (changed.length === 0) return '';
  const out = [`--- ${names.before}`, `+++ ${names.after}`];
  let k = 0;
  while (k < changed.length) {
    const from = Math.max(0, (changed[k] as number) - context);
    let to = (changed[k] as number) + context;
    while (k + 1 < changed.length && (changed[k + 1] as number) - context <= to + 1) to = (changed[++k] as number) + context;
    to = Math.min(ops.length - 1, to);
    const oldStart = ops.slice(0, from).filter((o) => o.kind !== '+').length + 1;
    const newStart = ops.slice(0, from).filter((o) => o.kind !== '-').length + 1;
    const hunk = ops.slice(from, to + 1);
    out.push(`@@ -${oldStart},${hunk.filter((o) => o.kind !== '+').length} +${newStart},${hunk.filter((o) => o.kind !== '-').length} @@`);
    out.push(...hunk.map((o) => `${o.kind}${o.line}`));
    k++;
  }
  return `${out.join('\n')}\n`;
}
