/** A metadata pair as carried on the wire (ttrpc.KeyValue). */
export interface KeyValue {
  key: string;
  value: string;
}

/** What callers may pass: single values or lists per key. */
export type MetadataInit = Record<string, string | readonly string[]> | Metadata;

/**
 * Request metadata: keys are lower-cased (as Go's MD.Set does), a key may carry several values,
 * and each value becomes its own KeyValue on the wire, in order.
 */
export class Metadata {
  private readonly entries = new Map<string, string[]>();

  static from(init?: MetadataInit): Metadata {
    if (init instanceof Metadata) return init;
    const md = new Metadata();
    for (const [key, value] of Object.entries(init ?? {})) {
      for (const v of typeof value === 'string' ? [value] : value) md.append(key, v);
    }
    return md;
  }

  static fromKeyValues(pairs: readonly KeyValue[] | null | undefined): Metadata {
    const md = new Metadata();
    for (const { key, value } of pairs ?? []) md.append(key, value);
    return md;
  }

  /** First value of a key, or undefined. */
  get(key: string): string | undefined {
    return this.entries.get(key.toLowerCase())?.[0];
  }

  getAll(key: string): readonly string[] {
    return this.entries.get(key.toLowerCase()) ?? [];
  }

  set(key: string, value: string): this {
    this.entries.set(key.toLowerCase(), [value]);
    return this;
  }

  append(key: string, value: string): this {
    const k = key.toLowerCase();
    const list = this.entries.get(k);
    if (list) list.push(value);
    else this.entries.set(k, [value]);
    return this;
  }

  /** A new Metadata with this one's entries overlaid by `other`'s (per key). */
  merge(other: Metadata): Metadata {
    const md = new Metadata();
    for (const [k, v] of this.entries) md.entries.set(k, [...v]);
    for (const [k, v] of other.entries) md.entries.set(k, [...v]);
    return md;
  }

  get size(): number {
    return this.entries.size;
  }

  toKeyValues(): KeyValue[] {
    const out: KeyValue[] = [];
    for (const [key, values] of this.entries) for (const value of values) out.push({ key, value });
    return out;
  }

  toJSON(): Record<string, string[]> {
    return Object.fromEntries(this.entries);
  }
}
