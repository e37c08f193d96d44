/**
 * Text surgery on a TOML file: take out every `[table]` under some key paths and put a block of ours
 * in its place (or at the end), leaving all other bytes as they were, comments included. Callers
 * prove the result by re-parsing it (see containerd-edit.ts); this file only moves text.
 */
import { tableSections, type TomlSection } from './toml-sections';

/** Starts the comment line that introduces each table deploy wrote; undeploy takes it out with the table. */
export const MARKER_PREFIX = '# kata-ts deploy: ';

function startsWith(path: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= path.length && prefix.every((key, i) => path[i] === key);
}

/** Start of the line before offset `start` (which starts a line), or undefined at the top of the text. */
function previousLine(text: string, start: number): { start: number; text: string } | undefined {
  if (start === 0) return undefined;
  const from = text.lastIndexOf('\n', start - 2) + 1;
  return { start: from, text: text.slice(from, start - 1) };
}

/** Widens a cut that starts at a header to take our marker line before it, and (when asked) the blank line that we put before that. */
function withMarker(text: string, start: number, takeBlankLine: boolean): number {
  const marker = previousLine(text, start);
  if (!marker?.text.startsWith(MARKER_PREFIX)) return start;
  const blank = previousLine(text, marker.start);
  return takeBlankLine && blank !== undefined && blank.text.trim() === '' ? blank.start : marker.start;
}

/** `text` with `block` added at the end, after a blank line. */
export function appendBlock(text: string, block: string): string {
  if (text.trim() === '') return `${text}${block}`;
  return `${text}${text.endsWith('\n') ? '' : '\n'}\n${block}`;
}

/**
 * `text` without the header-defined tables at or under `paths` (and our marker line), with
 * `replacement` where the first of them was. Blank and comment lines that end a removed table stay
 * when the next table is not removed: they usually introduce it. Undefined when no header defines
 * anything under `paths` (the caller appends, or falls back to rewriting the whole file).
 */
export function spliceTables(text: string, paths: readonly (readonly string[])[], replacement?: string): string | undefined {
  const sections = tableSections(text);
  const ours = new Set<TomlSection>(sections.filter((s) => !s.arrayOfTables && paths.some((p) => startsWith(s.path, p))));
  if (ours.size === 0) return undefined;
  let out = '';
  let pos = 0;
  let first = true;
  sections.forEach((section, i) => {
    if (!ours.has(section)) return;
    const next = sections[i + 1];
    const start = first ? withMarker(text, section.start, replacement === undefined) : section.start;
    out += text.slice(pos, start);
    if (first && replacement !== undefined) out += replacement;
    pos = next !== undefined && ours.has(next) ? section.end : section.contentEnd;
    first = false;
  });
  return out + text.slice(pos);
}
