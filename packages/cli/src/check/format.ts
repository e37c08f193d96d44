/** `kata-ts check` output: one line per check and a verdict, or one JSON document. */
import { lookupLines } from '../config-lookup';
import type { LookupEntry } from '../config-lookup';
import { exitCode, type Check } from './evaluate';

export function formatText(checks: Check[]): string {
  const width = Math.max(...checks.map((c) => c.name.length));
  const lines = checks.map((c) => `${c.status.padEnd(4)}  ${c.name.padEnd(width)}  ${c.reason}`);
  const config = checks.find((c) => c.name === 'config');
  const lookup = config?.data?.lookup as LookupEntry[] | undefined;
  if (lookup) lines.push('', 'configuration lookup (first match wins):', ...lookupLines(lookup).map((l) => `  ${l}`));
  lines.push('', exitCode(checks) === 0 ? 'kata-ts can run pods on this host' : `kata-ts cannot run pods on this host: ${failed(checks)} failed`);
  return `${lines.join('\n')}\n`;
}

function failed(checks: Check[]): string {
  return checks.filter((c) => c.status === 'fail').map((c) => c.name).join(', ');
}

export function formatJson(checks: Check[]): string {
  const code = exitCode(checks);
  return `${JSON.stringify({ ok: code === 0, exitCode: code, checks }, null, 2)}\n`;
}
