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

/** Loads the configuration following the documented order. */
export async function loadConfig(options: RuntimeOptions = {}, env: NodeJS.ProcessEnv = process.env): Promise<ShimConfig> {
  if (options.configPath) return readRequired(options.configPath, 'the runtime options');
  if (options.configBody) return parseConfig(options.configBody, 'the runtime options (config_body)');
  const fromEnv = env[CONFIG_ENV];
  if (fromEnv) return readRequired(fromEnv, CONFIG_ENV);
  for (const file of DEFAULT_CONFIG_PATHS) {
    const text = await readIfExists(file);
    if (text !== undefined) return parseConfig(text, file);
  }
  return defaultConfig();
}
