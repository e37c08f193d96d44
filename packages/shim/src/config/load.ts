/**
 * Finding the configuration, in this order (the first that applies wins):
 *   1. the runtime options' config_path (containerd `runtimeoptions.v1.Options`, CRI
 *      `ConfigPath`, `ctr --runtime-config-path`, CRI-O runtime_config_path), or their inline
 *      config_body (the CRI runtime's `options` table) when no path is given;
 *   2. the KATA_CONF_FILE environment variable;
 *   3. /etc/kata-ts/configuration.toml;
 *   4. /usr/share/defaults/kata-ts/configuration.toml;
 *   5. the built-in defaults.
 * A path named by 1 or 2 must exist; 3 and 4 are skipped when absent.
 */
import { promises as fs } from 'node:fs';
import { ContainerdTypeUrl, codecs } from '@kata-ts/protocol/containerd';
import { typeUrlMatches, type AnyMessage } from '@kata-ts/protocol';
import { InvalidArgumentError } from '../errors';
import { defaultConfig, parseConfig, type ShimConfig } from './config';

export const CONFIG_ENV = 'KATA_CONF_FILE';
export const DEFAULT_CONFIG_PATHS = ['/etc/kata-ts/configuration.toml', '/usr/share/defaults/kata-ts/configuration.toml'] as const;

/** What CreateTaskRequest.options (runtimeoptions.v1.Options) says about the configuration. */
export interface RuntimeOptions {
  configPath?: string;
  configBody?: string;
}

/** Opens runtimeoptions.v1.Options; other option types (e.g. runc's) carry no configuration. */
export function runtimeOptionsFrom(any: AnyMessage | null | undefined): RuntimeOptions {
  if (!any?.type_url || !typeUrlMatches(any.type_url, ContainerdTypeUrl.RuntimeOptions)) return {};
  const opts = codecs.runtimeOptions.decode(any.value ?? new Uint8Array(0));
  const body = opts.configBody?.length ? Buffer.from(opts.configBody).toString('utf8') : undefined;
  return { configPath: opts.configPath || undefined, configBody: body };
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function readRequired(file: string, why: string): Promise<ShimConfig> {
  const text = await readIfExists(file);
  if (text === undefined) throw new InvalidArgumentError(`configuration ${file} (from ${why}) does not exist`);
  return parseConfig(text, file);
}

/** One place the configuration may come from, in lookup order (`kata-ts env` prints them). */
export interface ConfigCandidate {
  /** Where the name comes from, e.g. "$KATA_CONF_FILE". */
  from: string;
  /** The file, when this place names one. */
  path?: string;
  /** Inline TOML (the runtime options' config_body). */
  body?: string;
  /** A named file must exist; the default paths are skipped when absent. */
  required: boolean;
}

/** The documented lookup order; entries without a path or body are not set. */
export function configCandidates(options: RuntimeOptions = {}, env: NodeJS.ProcessEnv = process.env): ConfigCandidate[] {
  return [
    { from: 'runtime options config_path', path: options.configPath || undefined, required: true },
    { from: 'runtime options config_body', body: options.configBody || undefined, required: true },
    { from: `$${CONFIG_ENV}`, path: env[CONFIG_ENV] || undefined, required: true },
    ...DEFAULT_CONFIG_PATHS.map((file) => ({ from: 'default path', path: file, required: false })),
  ];
}

/** Loads the configuration following the documented order. */
export async function loadConfig(options: RuntimeOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<ShimConfig> {
  for (const c of configCandidates(options, env)) {
    if (c.body) return parseConfig(c.body, 'the runtime options (config_body)');
    if (!c.path) continue;
    if (c.required) return readRequired(c.path, c.from === `$${CONFIG_ENV}` ? CONFIG_ENV : 'the runtime options');
    const text = await readIfExists(c.path);
    if (text !== undefined) return parseConfig(text, c.path);
  }
  return defaultConfig();
}
