/**
 * `kata-ts deploy|undeploy containerd`: reads config.toml, plans the edit (containerd-edit.ts), and
 * unless --dry-run keeps a backup and writes the new file atomically. Any problem with the file stops
 * everything before the first write, so a refused file is left byte for byte as it was.
 */
import path from 'node:path';
import type { HandlerSettings } from './containerd-schema';
import { planContainerdDeploy, planContainerdUndeploy, type ContainerdPlan } from './containerd-edit';
import type { ContainerdVersion } from './containerd-version';
import { ensureDirectory, readTextFile, writeBackup, writeFileAtomic, type TextFile } from './files';
import { unifiedDiff } from './line-diff';
import type { Outcome } from './outcome';

export interface ContainerdTargetOptions {
  /** containerd's config.toml. */
  config: string;
  dryRun: boolean;
  settings: HandlerSettings;
  /** The installed containerd, when known (--containerd-version or `containerd --version`). */
  containerd?: ContainerdVersion;
  now?: Date;
}

const RESTART = 'restart containerd to load it: systemctl restart containerd';

function shown(config: string, file: TextFile): string {
  return file.path === config ? config : `${config} (-> ${file.path})`;
}

/** Writes the plan: backup of the old bytes first (unless the file is new), then the new text. */
async function apply(file: TextFile, plan: ContainerdPlan, now: Date | undefined, outcome: Outcome): Promise<void> {
  if (file.bytes === undefined) {
    if (await ensureDirectory(path.dirname(file.path))) outcome.details.push(`created ${path.dirname(file.path)}`);
    await writeFileAtomic(file.path, plan.text);
    return;
  }
  const backup = await writeBackup(file.path, file.bytes, file, now);
  await writeFileAtomic(file.path, plan.text, file);
  outcome.details.push(`backup of the previous file: ${backup}`);
  if (plan.rewritten) {
    outcome.warnings.push(`${file.path} was rewritten whole, so its comments and layout are gone (the handler was written as dotted keys `
      + `or an inline table, which kata-ts does not edit in place); the original, comments included, is in ${backup}`);
  }
}

function preview(config: string, file: TextFile, plan: ContainerdPlan, verb: string): string {
  return file.text === undefined ? plan.text : unifiedDiff(file.text, plan.text, { before: config, after: `${config} (after ${verb})` });
}

export async function deployContainerd(o: ContainerdTargetOptions): Promise<Outcome> {
  const file = await readTextFile(o.config);
  const plan = planContainerdDeploy({ file: o.config, text: file.text, settings: o.settings, containerd: o.containerd });
  const where = shown(o.config, file);
  const handler = `runtime handler "${o.settings.handler}"`;
  const details = [`[${plan.table}] (config version ${plan.schema})`, ...plan.notes,
    `the shim loads ${o.settings.kataConfig} (the handler's options.ConfigPath)`];
  const outcome: Outcome = { summary: '', changed: plan.change !== 'none', details, warnings: [...plan.warnings], next: [RESTART,
    `kubectl apply -f deploy/runtimeclass-kata.yaml (RuntimeClass "${o.settings.handler}"), then run pods with runtimeClassName: ${o.settings.handler}`] };
  const done = { create: `created ${where} with ${handler}`, add: `added ${handler} to ${where}`, replace: `replaced ${handler} in ${where}` };
  if (plan.change === 'none' || plan.change === 'remove') {
    outcome.summary = `${where} already has ${handler} as kata-ts writes it: nothing changed`;
  } else if (o.dryRun) {
    outcome.changed = false; // nothing to restart for
    outcome.summary = `dry run, nothing written: would have ${done[plan.change]}`;
    outcome.preview = preview(o.config, file, plan, 'deploy');
    if (plan.rewritten) outcome.warnings.push(`${o.config} would be rewritten whole, losing its comments and layout (a backup would keep them)`);
  } else {
    await apply(file, plan, o.now, outcome);
    outcome.summary = done[plan.change];
  }
  return outcome;
}

export async function undeployContainerd(o: Omit<ContainerdTargetOptions, 'settings' | 'containerd'> & { handler: string }): Promise<Outcome> {
  const file = await readTextFile(o.config);
  const plan = planContainerdUndeploy({ file: o.config, text: file.text, handler: o.handler });
  const where = shown(o.config, file);
  const handler = `runtime handler "${o.handler}"`;
  const outcome: Outcome = {
    summary: '', changed: plan.change === 'remove', warnings: [],
    details: [...(plan.table ? [`[${plan.table}] (config version ${plan.schema})`] : []), ...plan.notes],
    next: [`delete the pods that use runtimeClassName: ${o.handler}, then restart containerd: systemctl restart containerd`],
  };
  if (plan.change !== 'remove') {
    outcome.summary = file.text === undefined ? `${o.config} does not exist: nothing to remove` : `${where} has no ${handler}: nothing changed`;
  } else if (o.dryRun) {
    outcome.changed = false; // nothing to restart for
    outcome.summary = `dry run, nothing written: would have removed ${handler} from ${where}`;
    outcome.preview = preview(o.config, file, plan, 'undeploy');
  } else {
    await apply(file, plan, o.now, outcome);
    outcome.summary = `removed ${handler} from ${where}`;
  }
  return outcome;
}
