/** `kata-ts deploy|undeploy crio`: writes or removes our drop-in file (crio-dropin.ts) in CRI-O's drop-in directory. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { crioDropinName, isCrioDropin, otherDefinitions, planCrioDeploy, type CrioSettings } from './crio-dropin';
import { ensureDirectory, readTextFile, removeFile, writeFileAtomic } from './files';
import { unifiedDiff } from './line-diff';
import type { Outcome } from './outcome';

export interface CrioTargetOptions {
  /** CRI-O's drop-in directory (/etc/crio/crio.conf.d). */
  dropinDir: string;
  dryRun: boolean;
}

const RESTART = 'restart CRI-O to load it: systemctl restart crio';

/** Warnings about other drop-ins that define the same handler: the later ones win over ours. */
async function overrides(dir: string, handler: string, ours: string): Promise<string[]> {
  const names = (await fs.readdir(dir).catch(() => [] as string[])).filter(isCrioDropin);
  const files = await Promise.all(names.map(async (name) => ({ name, text: await fs.readFile(path.join(dir, name), 'utf8').catch(() => '') })));
  const { earlier, later } = otherDefinitions(handler, ours, files);
  const warnings = later.map((n) => `${path.join(dir, n)} also defines runtime handler "${handler}" and sorts after ${ours}, so CRI-O uses its settings, not ours`);
  return [...warnings, ...earlier.map((n) => `${path.join(dir, n)} also defines runtime handler "${handler}"; ${ours} sorts after it and wins`)];
}

export async function deployCrio(o: CrioTargetOptions & { settings: CrioSettings }): Promise<Outcome> {
  const name = crioDropinName(o.settings.handler);
  const file = path.join(o.dropinDir, name);
  const current = await readTextFile(file);
  const plan = planCrioDeploy(file, current.text, o.settings);
  const handler = `runtime handler "${o.settings.handler}"`;
  const outcome: Outcome = {
    summary: '', changed: plan.change !== 'none', warnings: await overrides(o.dropinDir, o.settings.handler, name),
    details: [`the shim (${o.settings.runtimePath}) loads ${o.settings.kataConfig} (runtime_config_path)`],
    next: [RESTART, `kubectl apply -f deploy/runtimeclass-kata.yaml (RuntimeClass "${o.settings.handler}"), then run pods with runtimeClassName: ${o.settings.handler}`],
  };
  const done = plan.change === 'create' ? `wrote ${file} with ${handler}` : `rewrote ${file} (it differed from what kata-ts writes) with ${handler}`;
  if (plan.change === 'none') {
    outcome.summary = `${file} already has ${handler} as kata-ts writes it: nothing changed`;
  } else if (o.dryRun) {
    outcome.changed = false; // nothing to restart for
    outcome.summary = `dry run, nothing written: would have ${done}`;
    outcome.preview = current.text === undefined ? plan.text : unifiedDiff(current.text, plan.text, { before: file, after: `${file} (after deploy)` });
  } else {
    if (await ensureDirectory(o.dropinDir)) outcome.details.push(`created ${o.dropinDir}`);
    await writeFileAtomic(current.path, plan.text, current.text === undefined ? {} : current);
    outcome.summary = done;
  }
  return outcome;
}

export async function undeployCrio(o: CrioTargetOptions & { handler: string }): Promise<Outcome> {
  const file = path.join(o.dropinDir, crioDropinName(o.handler));
  // Reading first refuses a directory or an unreadable path with a clear message before anything is removed.
  const current = await readTextFile(file);
  const outcome: Outcome = { summary: '', changed: current.text !== undefined, details: [], warnings: [],
    next: [`delete the pods that use runtimeClassName: ${o.handler}, then restart CRI-O: systemctl restart crio`] };
  if (current.text === undefined) outcome.summary = `${file} does not exist: nothing to remove`;
  else if (o.dryRun) {
    outcome.changed = false; // nothing to restart for
    outcome.summary = `dry run, nothing written: would have removed ${file} (runtime handler "${o.handler}")`;
  } else {
    await removeFile(file);
    outcome.summary = `removed ${file} (runtime handler "${o.handler}")`;
  }
  return outcome;
}
