/** `kata-ts env`: the effective configuration (after lookup and defaults) and the lookup order. */
import { configDocument, configToml } from '@kata-ts/shim';
import { loadEffectiveConfig, lookupLines } from '../config-lookup';
import type { Output } from '../output';

export interface EnvArgs {
  config?: string;
  json: boolean;
}

export async function envCommand(args: EnvArgs, out: Output): Promise<number> {
  const { config, error, lookup } = await loadEffectiveConfig(args.config);
  if (args.json) {
    out.write(`${JSON.stringify({ source: error ? null : config.source, error, lookup, config: error ? null : configDocument(config) }, null, 2)}\n`);
  } else {
    const header = ['# kata-ts effective configuration', '# lookup order (first match wins):', ...lookupLines(lookup).map((l) => `#   ${l}`)];
    out.write(`${header.join('\n')}\n`);
    if (error) out.error(`kata-ts env: ${error}\n`);
    else out.write(`# from ${config.source}\n\n${configToml(config)}\n`);
  }
  return error ? 1 : 0;
}
