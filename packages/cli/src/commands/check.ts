/** `kata-ts check`: what the shim would use on this host and why; exit 0 when a pod can run. */
import { loadEffectiveConfig } from '../config-lookup';
import { evaluate, exitCode } from '../check/evaluate';
import { formatJson, formatText } from '../check/format';
import { gatherFacts } from '../check/gather';
import type { Output } from '../output';

export interface CheckArgs {
  config?: string;
  json: boolean;
  /** false with --no-cache: probe KVM again. */
  cache: boolean;
}

export async function checkCommand(args: CheckArgs, out: Output): Promise<number> {
  const loaded = await loadEffectiveConfig(args.config);
  const checks = evaluate(await gatherFacts(loaded, { refresh: !args.cache }));
  out.write(args.json ? formatJson(checks) : formatText(checks));
  return exitCode(checks);
}
