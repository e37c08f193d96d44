/**
 * The configuration as the shim would load it, and the documented lookup order annotated with which
 * place won. The order and the parsing are the shim's (configCandidates, loadConfig); this file only
 * labels the candidates.
 */
import { existsSync } from 'node:fs';
import { configCandidates, defaultConfig, loadConfig, type ConfigCandidate, type ShimConfig } from '@kata-ts/shim';

export type LookupState = 'not set' | 'absent' | 'loaded' | 'failed' | 'not reached';

export interface LookupEntry {
  from: string;
  path?: string;
  state: LookupState;
}

export interface LoadedConfig {
  /** The configuration, or the built-in defaults when loading failed. */
  config: ShimConfig;
  /** Why the configuration the shim would pick could not be loaded. */
  error?: string;
  lookup: LookupEntry[];
}

export const DEFAULTS_SOURCE = 'built-in defaults';

/** Labels each candidate: the first that applies won (loaded, or failed when `failed`); later ones were not reached. */
export function describeLookup(candidates: ConfigCandidate[], failed: boolean, exists: (file: string) => boolean): LookupEntry[] {
  let won = false;
  const entries = candidates.map((c): LookupEntry => {
    const entry: LookupEntry = { from: c.from, ...(c.path ? { path: c.path } : {}), state: 'not set' };
    if (!c.path && !c.body) return entry;
    if (won) return { ...entry, state: 'not reached' };
    if (c.required || exists(c.path ?? '')) {
      won = true;
      return { ...entry, state: failed ? 'failed' : 'loaded' };
    }
    return { ...entry, state: 'absent' };
  });
  entries.push({ from: DEFAULTS_SOURCE, state: won ? 'not reached' : 'loaded' });
  return entries;
}

/** Loads the configuration the way the shim does; `configPath` stands in for the runtime options' config_path. */
export async function loadEffectiveConfig(configPath?: string, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const options = { configPath };
  let config: ShimConfig;
  let error: string | undefined;
  try {
    config = await loadConfig(options, env);
  } catch (err) {
    config = defaultConfig();
    error = (err as Error).message;
  }
  const lookup = describeLookup(configCandidates(options, env), error !== undefined, existsSync);
  return { config, lookup, ...(error !== undefined ? { error } : {}) };
}

/** "1. $KATA_CONF_FILE: not set" lines. */
export function lookupLines(lookup: LookupEntry[]): string[] {
  return lookup.map((e, i) => `${i + 1}. ${e.path && e.from === 'default path' ? e.path : e.path ? `${e.from} (${e.path})` : e.from}: ${e.state}`);
}
