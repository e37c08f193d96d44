/**
 * Where each table header of a TOML text is, and how far the text it owns reaches, so deploy can cut
 * out and put in whole tables while every other byte (comments, order, spacing) stays as the user wrote
 * it. smol-toml parses but cannot write comments back; this scanner only finds offsets, and callers
 * re-parse the edited text to prove that nothing else changed.
 *
 * Meant for text that has already parsed as TOML: it skips strings (also multi-line ones), comments and
 * values spanning lines (arrays, inline tables) so that a `[` inside them is never taken for a header.
 */
import { parse } from 'smol-toml';

/** One `[table]` or `[[array.of.tables]]` header and the lines it owns, up to the next header. */
export interface TomlSection {
  /** The header's key path, unquoted: [plugins."io.containerd.grpc.v1.cri"] → ['plugins', 'io.containerd.grpc.v1.cri']. */
  path: string[];
  arrayOfTables: boolean;
  /** Offset of the first character of the header's line. */
  start: number;
  /** Offset of the next header's line (or the end of the text). */
  end: number;
  /**
   * Offset just past the section's last line that holds a key or value (or past the header line).
   * Blank and comment lines between here and `end` usually introduce the next header.
   */
  contentEnd: number;
}

/** The sections of `text`, in order; what precedes the first header (top-level keys) belongs to none. */
export function tableSections(text: string): TomlSection[] {
  const sections: TomlSection[] = [];
  let open: Omit<TomlSection, 'end'> | undefined;
  let depth = 0; // brackets and braces of a value still open at the end of a line
  let i = 0;
  while (i < text.length) {
    const lineStart = i;
    const first = skipBlanks(text, i);
    if (depth === 0 && text[first] === '[') {
      const header = readHeader(text, first);
      if (open) sections.push({ ...open, end: lineStart });
      i = afterLine(text, header.next);
      open = { path: header.path, arrayOfTables: header.arrayOfTables, start: lineStart, contentEnd: i };
      continue;
    }
    let content = false;
    while (i < text.length) {
      const c = text[i];
      if (c === '\n') {
        i++;
        break;
      }
      if (c === ' ' || c === '\t' || c === '\r') i++;
      else if (c === '#') i = lineEnd(text, i);
      else if (c === '"' || c === "'") {
        content = true;
        i = skipString(text, i);
      } else {
        content = true;
        if (c === '[' || c === '{') depth++;
        else if ((c === ']' || c === '}') && depth > 0) depth--;
        i++;
      }
    }
    if (content && open) open.contentEnd = i;
  }
  if (open) sections.push({ ...open, end: text.length });
  return sections;
}

function skipBlanks(text: string, i: number): number {
  while (text[i] === ' ' || text[i] === '\t') i++;
  return i;
}

/** Offset of the newline ending the line at `i` (or the end of the text). */
function lineEnd(text: string, i: number): number {
  const nl = text.indexOf('\n', i);
  return nl < 0 ? text.length : nl;
}

/** Offset just past the newline ending the line at `i`. */
function afterLine(text: string, i: number): number {
  return Math.min(text.length, lineEnd(text, i) + 1);
}

/** Offset just past the string starting at `i` (basic, literal, or either multi-line form). */
function skipString(text: string, i: number): number {
  const quote = text[i] as '"' | "'";
  const escapes = quote === '"';
  const triple = quote.repeat(3);
  if (text.startsWith(triple, i)) {
    let j = i + 3;
    while (j < text.length) {
      if (escapes && text[j] === '\\') j += 2;
      else if (text.startsWith(triple, j)) {
        j += 3;
        // Up to two quotes may end the content right before the closing delimiter ("""a"""").
        for (let extra = 0; extra < 2 && text[j] === quote; extra++) j++;
        return j;
      } else j++;
    }
    return j;
  }
  let j = i + 1;
  while (j < text.length && text[j] !== quote && text[j] !== '\n') j += escapes && text[j] === '\\' ? 2 : 1;
  return j + 1;
}

/** Reads the header at `i` (its `[`): the key path and the offset past its closing bracket(s). */
function readHeader(text: string, i: number): { path: string[]; arrayOfTables: boolean; next: number } {
  const arrayOfTables = text[i + 1] === '[';
  const keyStart = i + (arrayOfTables ? 2 : 1);
  let j = keyStart;
  while (j < text.length && text[j] !== ']' && text[j] !== '\n') j = text[j] === '"' || text[j] === "'" ? skipString(text, j) : j + 1;
  const key = text.slice(keyStart, j);
  return { path: keyPath(key), arrayOfTables, next: j + (arrayOfTables ? 2 : 1) };
}

/** Unquotes a dotted key with the TOML parser itself (`a."b.c"` → ['a', 'b.c']), so escapes are handled as TOML does. */
function keyPath(key: string): string[] {
  const path: string[] = [];
  let node: unknown = parse(`${key} = 0`);
  while (typeof node === 'object' && node !== null) {
    const name = Object.keys(node)[0];
    if (name === undefined) break;
    path.push(name);
    node = (node as Record<string, unknown>)[name];
  }
  return path;
}
