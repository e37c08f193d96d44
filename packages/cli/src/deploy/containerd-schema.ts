/**
 * What containerd's config.toml looks like in each schema version, and the runtime handler table
 * kata-ts adds to it (as Kata's kata-deploy does):
 *   version 1 (no `version` key; containerd 1.x only, removed in 2.0 by containerd PR #8275):
 *     [plugins.cri.containerd.runtimes.<handler>]
 *   version 2 (containerd 1.6/1.7; containerd 2.x migrates it at startup):
 *     [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.<handler>]
 *   version 3 (containerd 2.x): [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.<handler>]
 */
import type { PlainTable } from './toml-render';

export type ContainerdSchema = 1 | 2 | 3;

/** The shim's runtime name: containerd runs `containerd-shim-kata-v2` from its PATH for it. */
export const KATA_RUNTIME_TYPE = 'io.containerd.kata.v2';

/** containerd 2.x's sandboxer for a CRI handler: "podsandbox" (a pause container) or "shim" (the shim's sandbox API). */
export type Sandboxer = 'podsandbox' | 'shim';

/** The CRI plugin's table in each schema. */
export const CRI_PLUGIN_PATH: Record<ContainerdSchema, readonly string[]> = {
  1: ['plugins', 'cri'],
  2: ['plugins', 'io.containerd.grpc.v1.cri'],
  3: ['plugins', 'io.containerd.cri.v1.runtime'],
};

/** Plugin ids in `disabled_plugins` that switch the CRI runtime off (Docker's containerd.io package ships `["cri"]`). */
const CRI_PLUGIN_IDS = ['cri', 'io.containerd.grpc.v1.cri', 'io.containerd.cri.v1.runtime'];

/** Where runtime handler `handler` lives in `schema`. */
export function handlerPath(schema: ContainerdSchema, handler: string): string[] {
  return [...CRI_PLUGIN_PATH[schema], 'containerd', 'runtimes', handler];
}

/** containerd's default runtime handler, present in its built-in configuration. */
export const DEFAULT_HANDLER = 'runc';

/** The CRI plugin's runtime handlers, by name. */
export function runtimesPath(schema: ContainerdSchema): string[] {
  return [...CRI_PLUGIN_PATH[schema], 'containerd', 'runtimes'];
}

/**
 * The built-in runc handler, as a config file has to spell it out once it lists any runtime: containerd
 * decodes the file's `runtimes` table over its defaults as a whole, so a file naming only `kata` leaves
 * containerd with no `runc` while default_runtime_name is still "runc" (checked with containerd 1.6.20:
 * `containerd --config <file> config dump`), and every pod without a RuntimeClass would fail.
 */
export function defaultRuncTable(schema: ContainerdSchema): PlainTable {
  return { runtime_type: 'io.containerd.runc.v2', ...(schema === 3 ? { sandboxer: 'podsandbox' } : {}) };
}

export interface HandlerSettings {
  /** The RuntimeClass handler name (`kata`). */
  handler: string;
  /** The configuration the shim loads: it reads runtimeoptions.v1.Options' ConfigPath (packages/shim config/load.ts). */
  kataConfig: string;
  /** Only written in schema 3 (containerd 2.x). */
  sandboxer: Sandboxer;
}

/** The handler table kata-ts writes. */
export function handlerTable(schema: ContainerdSchema, s: HandlerSettings): PlainTable {
  return {
    runtime_type: KATA_RUNTIME_TYPE,
    ...(schema === 3 ? { sandboxer: s.sandboxer } : {}),
    // Privileged pods get the VM's devices, not the host's: passing host devices into a guest is never what they want.
    privileged_without_host_devices: true,
    // Kata's per-pod overrides (io.katacontainers.config.*) reach the shim, which checks them against its allow-list.
    pod_annotations: ['io.katacontainers.*'],
    // CRI turns this table into runtimeoptions.v1.Options for non-runc runtimes; the shim reads ConfigPath first.
    options: { ConfigPath: s.kataConfig },
  };
}

/** The schema a parsed config.toml declares, or why it is not one kata-ts can edit. */
export function schemaOf(doc: Record<string, unknown>): ContainerdSchema | { problem: string } {
  const version = doc['version'];
  if (version === undefined) return 1;
  if (typeof version !== 'bigint') return { problem: `\`version\` must be an integer, found ${JSON.stringify(String(version))}` };
  if (version === 1n || version === 2n || version === 3n) return Number(version) as ContainerdSchema;
  return { problem: `unknown config version ${version} (kata-ts knows versions 1, 2 and 3)` };
}

/** The schema to write a new file in for containerd `major` (unknown: 2, which every containerd since 1.5 reads). */
export function schemaForContainerd(major: number | undefined): ContainerdSchema {
  return major !== undefined && major >= 2 ? 3 : 2;
}

/** Whether the config switches the CRI plugin off, so Kubernetes would not see any handler. */
export function criDisabled(doc: Record<string, unknown>): string | undefined {
  const disabled = doc['disabled_plugins'];
  if (!Array.isArray(disabled)) return undefined;
  return disabled.find((id): id is string => typeof id === 'string' && CRI_PLUGIN_IDS.includes(id));
}
