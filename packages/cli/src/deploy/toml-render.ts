/** Writes the small tables deploy adds (strings, booleans, string arrays, sub-tables) as TOML text. */

/** A table deploy writes: plain values first, then sub-tables, in insertion order. */
export type TableValue = string | boolean | string[] | PlainTable;
export interface PlainTable {
  [key: string]: TableValue;
}

/** A key as TOML needs it: bare when it can be, quoted otherwise (`io.containerd.grpc.v1.cri` has dots). */
export function tomlKey(key: string): string {
  return /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
}

/** `plugins."io.containerd.grpc.v1.cri".containerd` */
export function tomlKeyPath(path: readonly string[]): string {
  return path.map(tomlKey).join('.');
}

// TOML basic strings share JSON's escapes (\" \\ \n \t \uXXXX), so JSON.stringify writes a valid one.
function tomlValue(value: string | boolean | string[]): string {
  if (Array.isArray(value)) return `[${value.map((v) => JSON.stringify(v)).join(', ')}]`;
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

/** `[path]` with the plain values of `table` (indented by `indent`), then each sub-table as `[path.key]`. */
export function renderTable(path: readonly string[], table: PlainTable, indent = '  '): string {
  const lines = [`[${tomlKeyPath(path)}]`];
  const subTables: [string, PlainTable][] = [];
  for (const [key, value] of Object.entries(table)) {
    if (typeof value === 'object' && !Array.isArray(value)) subTables.push([key, value]);
    else lines.push(`${indent}${tomlKey(key)} = ${tomlValue(value)}`);
  }
  return [`${lines.join('\n')}\n`, ...subTables.map(([key, sub]) => renderTable([...path, key], sub, indent))].join('');
}
