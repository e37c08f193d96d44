/** What a deploy or undeploy did (or would do, with --dry-run), and how it is printed. */
import type { Output } from '../output';

export interface Outcome {
  /** One sentence: what was done, or would be. */
  summary: string;
  changed: boolean;
  /** Facts under the summary: the table written, the backup, the configuration the shim loads. */
  details: string[];
  /** Things that keep pods from running, or that the user lost (comments of a rewritten file). */
  warnings: string[];
  /** What to do next (restart the runtime...); only printed when something changed or would change. */
  next: string[];
  /** --dry-run: the file that would be written, or a diff against the current one. */
  preview?: string;
}

/** Prints `outcome` of `kata-ts <verb> <target>`: the summary and details on stdout, warnings on stderr. */
export function printOutcome(prefix: string, outcome: Outcome, out: Output): void {
  const lines = [`${prefix}: ${outcome.summary}`, ...outcome.details.map((d) => `  ${d}`)];
  out.write(`${lines.join('\n')}\n`);
  if (outcome.preview) out.write(`\n${outcome.preview}${outcome.preview.endsWith('\n') ? '' : '\n'}\n`);
  for (const w of outcome.warnings) out.error(`${prefix}: warning: ${w}\n`);
  if (outcome.changed) out.write(outcome.next.map((n) => `next: ${n}\n`).join(''));
}
