/**
 * The conformance gate: in a results directory of scripts/conformance.sh, every spec kata-ts fails
 * where runc passes on the same daemon must be listed in vm-exclusions.txt (a VM runtime cannot pass it,
 * and the README says why). Exits 1 naming any other, or when a daemon's kata or runc run is missing.
 *
 * usage: tsx scripts/conformance/gate.ts <results dir>
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { excludedOn, readExclusions } from './exclusions';
import { contrast, readGinkgoJson, type RunReport } from './report';

function readRuns(dir: string): RunReport[] {
  const runs = JSON.parse(readFileSync(path.join(dir, 'runs.json'), 'utf8')) as Omit<RunReport, 'specs'>[];
  return runs.map((r) => ({ ...r, specs: r.file && existsSync(path.join(dir, r.file)) ? readGinkgoJson(path.join(dir, r.file)) : [] }));
}

function main(): number {
  const dir = process.argv[2];
  if (!dir) throw new Error('usage: gate.ts <results dir>');
  const exclusions = readExclusions();
  const runs = readRuns(dir);
  const problems: string[] = [];
  for (const daemon of new Set(runs.map((r) => r.daemon))) {
    const kata = runs.find((r) => r.daemon === daemon && r.runtime === 'kata');
    const runc = runs.find((r) => r.daemon === daemon && r.runtime === 'runc');
    if (!kata?.specs.length || !runc?.specs.length) {
      problems.push(`${daemon}: no complete kata and runc runs to compare`);
      continue;
    }
    // Runs recorded before runs.json named the daemon: the report file is <daemon>-<runtime>.json.
    const excluded = excludedOn(kata.name ?? kata.file?.split('-')[0] ?? '', exclusions);
    for (const [spec] of contrast(kata, 'failed', runc, 'passed')) {
      if (!excluded.has(spec.name)) problems.push(`${daemon}: kata-ts fails, runc passes: ${spec.name}\n    ${spec.message.split('\n')[0]}`);
    }
  }
  if (problems.length === 0) {
    process.stdout.write(`conformance gate: every spec runc passes passes with kata-ts, but those listed in vm-exclusions.txt (${exclusions.length})\n`);
    return 0;
  }
  process.stdout.write(`conformance gate: FAILED\n${problems.map((p) => `  ${p}`).join('\n')}\n`);
  return 1;
}

process.exit(main());
