/**
 * Reading, comparing and pruning parsed TOML documents (smol-toml, integers as BigInt so that an
 * integer and a float never compare equal): deploy proves an edit changed only its own table by
 * comparing the documents before and after with that table taken out of both.
 */
import { TomlDate, parse, type TomlTable } from 'smol-toml';

export type TomlDoc = TomlTable;

/** Parses with integers as BigInt: `1` and `1.0` stay distinguishable, and large integers exact. */
export function parseToml(text: string): TomlDoc {
  return parse(text, { integersAsBigInt: true });
}

export function isTable(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** The value at `path`, or undefined when any step is missing or not a table. */
export function getPath(doc: unknown, path: readonly string[]): unknown {
  let node = doc;
  for (const key of path) {
    if (!isTable(node) || !Object.prototype.hasOwnProperty.call(node, key)) return undefined;
    node = node[key];
  }
  return node;
}

/** A deep copy of `doc` with `path` set to `value` (missing tables on the way are made). */
export function withPath(doc: TomlDoc, path: readonly string[], value: unknown): TomlDoc {
  const copy = clone(doc) as TomlDoc;
  let node: Record<string, unknown> = copy;
  for (const key of path.slice(0, -1)) {
    if (!isTable(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1] as string] = clone(value);
  return copy;
}

/**
 * A deep copy of `doc` without `path`, and without the tables on the way that held nothing else:
 * removing a header-defined table also drops parents that only existed because of it, so both sides
 * of a comparison are pruned the same way.
 */
export function withoutPath(doc: TomlDoc, path: readonly string[]): TomlDoc {
  const copy = clone(doc) as TomlDoc;
  const chain: Record<string, unknown>[] = [copy];
  for (const key of path.slice(0, -1)) {
    const next = chain[chain.length - 1]?.[key];
    if (!isTable(next)) return copy;
    chain.push(next);
  }
  delete chain[chain.length - 1]?.[path[path.length - 1] as string];
  for (let depth = chain.length - 1; depth > 0; depth--) {
    if (Object.keys(chain[depth] as object).length > 0) break;
    delete chain[depth - 1]?.[path[depth - 1] as string];
  }
  return copy;
}

/** Deep equality of parsed TOML values: same types (BigInt vs number), same keys, dates by their TOML text. */
export function sameValue(a: unknown, b: unknown): boolean {
  if (a instanceof TomlDate || b instanceof TomlDate) return a instanceof TomlDate && b instanceof TomlDate && a.toISOString() === b.toISOString();
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => sameValue(v, b[i]));
  }
  if (isTable(a) || isTable(b)) {
    if (!isTable(a) || !isTable(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && sameValue(a[k], b[k]));
  }
  return Object.is(a, b);
}

function clone(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(clone);
  if (isTable(value)) return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, clone(v)]));
  return value; // primitives, BigInt and TomlDate (never mutated here)
}
