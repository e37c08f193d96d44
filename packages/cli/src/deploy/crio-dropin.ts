/**
 * CRI-O's side of deploy: a drop-in file of our own in /etc/crio/crio.conf.d (CRI-O reads the files
 * there in lexical order after crio.conf, later ones winning), so the user's crio.conf is never
 * touched and undeploy is removing one file. The keys are the ones Kata's kata-deploy writes.
 *
 * No `allowed_annotations`: CRI-O accepts only the annotations it knows itself there and refuses the
 * handler otherwise ("invalid allowed_annotation: io.katacontainers.*", cri-o pkg/config), while it
 * passes pod annotations such as io.katacontainers.* into the OCI spec without being told to.
 */
import path from 'node:path';
import { DeployError } from './errors';
import { MARKER_PREFIX } from './table-splice';
import { renderTable } from './toml-render';
import { getPath, parseToml } from './toml-tree';

export interface CrioSettings {
  handler: string;
  /** containerd-shim-kata-v2: CRI-O drives it over the shim v2 protocol (runtime_type "vm"). */
  runtimePath: string;
  /** Sent to the shim as the runtime options' ConfigPath. */
  kataConfig: string;
}

/** 50-kata-ts.toml for the default handler, 50-kata-ts-<handler>.toml for another. */
export function crioDropinName(handler: string): string {
  return handler === 'kata' ? '50-kata-ts.toml' : `50-kata-ts-${handler}.toml`;
}

export function crioHandlerPath(handler: string): string[] {
  return ['crio', 'runtime', 'runtimes', handler];
}

/** The drop-in file's whole content. */
export function renderCrioDropin(s: CrioSettings): string {
  return `${MARKER_PREFIX}runtime handler "${s.handler}" for Kata Containers (kata-ts); \`kata-ts undeploy crio\` removes this file\n`
    + renderTable(crioHandlerPath(s.handler), {
      runtime_path: s.runtimePath,
      runtime_type: 'vm',
      runtime_root: '/run/vc',
      runtime_config_path: s.kataConfig,
      // Privileged pods get the VM's devices, not the host's.
      privileged_without_host_devices: true,
    }, '');
}

export type CrioChange = 'create' | 'replace' | 'none';

/** What deploy does to the drop-in `file` whose current content is `existing` (undefined: absent). */
export function planCrioDeploy(file: string, existing: string | undefined, s: CrioSettings): { change: CrioChange; text: string } {
  const text = renderCrioDropin(s);
  if (existing === undefined) return { change: 'create', text };
  if (existing === text) return { change: 'none', text };
  try {
    parseToml(existing);
  } catch (err) {
    const what = (err as Error).message.split('\n')[0];
    throw new DeployError(`${file} is not valid TOML (${what}): fix or remove it, then deploy again; nothing was changed`);
  }
  return { change: 'replace', text };
}

/** Other drop-ins (by name) that define the same handler; those sorting after ours override it. */
export function otherDefinitions(handler: string, ours: string, files: { name: string; text: string }[]): { earlier: string[]; later: string[] } {
  const found = files.filter((f) => {
    if (f.name === ours) return false;
    try {
      return getPath(parseToml(f.text), crioHandlerPath(handler)) !== undefined;
    } catch {
      return false; // CRI-O itself will complain about a broken file
    }
  }).map((f) => f.name).sort();
  return { earlier: found.filter((n) => n < ours), later: found.filter((n) => n > ours) };
}

/** The files of the drop-in directory that deploy looks into for other definitions of the handler (*.toml). */
export function isCrioDropin(name: string): boolean {
  return path.extname(name) === '.toml';
}
