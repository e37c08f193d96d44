/**
 * `kata-ts deploy|undeploy containerd|crio [--dry-run]`: adds (or removes) the `kata` runtime handler
 * in the host's containerd or CRI-O configuration, as Kata's kata-deploy does, so that Kubernetes pods
 * with `runtimeClassName: kata` (deploy/runtimeclass-kata.yaml) run in their own VM. Idempotent; never
 * restarts anything itself; exit 1 with the file and the problem named when it refuses a file.
 */
import { existsSync } from 'node:fs';
import { DEFAULT_CONFIG_PATHS } from '@kata-ts/shim';
import { DEFAULT_HANDLER, type Sandboxer } from '../deploy/containerd-schema';
import { deployContainerd, undeployContainerd } from '../deploy/containerd-target';
import { installedContainerdVersion, parseContainerdVersion, type ContainerdVersion } from '../deploy/containerd-version';
import { deployCrio, undeployCrio } from '../deploy/crio-target';
import { DeployError } from '../deploy/errors';
import { printOutcome, type Outcome } from '../deploy/outcome';
import type { Output } from '../output';

export const DEPLOY_TARGETS = ['containerd', 'crio'] as const;
export const DEFAULT_CONTAINERD_CONFIG = '/etc/containerd/config.toml';
export const DEFAULT_CRIO_DROPIN_DIR = '/etc/crio/crio.conf.d';
export const DEFAULT_RUNTIME_PATH = '/usr/local/bin/containerd-shim-kata-v2';

export interface DeployArgs {
  target: (typeof DEPLOY_TARGETS)[number];
  dryRun: boolean;
  /** containerd's config.toml. */
  config?: string;
  /** containerd's version when `containerd --version` cannot tell (or should not be asked). */
  containerdVersion?: string;
  sandboxer: Sandboxer;
  crioDropinDir: string;
  /** The kata-ts configuration the shim is pointed at; default: the one the shim would find itself. */
  kataConfig?: string;
  handler: string;
  /** The shim binary (CRI-O's runtime_path; containerd finds it on its PATH from the runtime type). */
  runtimePath: string;
}

export interface DeployDeps {
  detectContainerd: () => Promise<ContainerdVersion | undefined>;
  exists: (file: string) => boolean;
  now: () => Date;
}

const defaultDeps: DeployDeps = { detectContainerd: () => installedContainerdVersion(), exists: existsSync, now: () => new Date() };

/** A RuntimeClass handler is a DNS label (Kubernetes validates it so), which is also a bare TOML key. */
const HANDLER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The configuration the shim would find itself (/etc/kata-ts first, then the installed default). */
function defaultKataConfig(exists: (file: string) => boolean): string {
  return DEFAULT_CONFIG_PATHS.find((f) => exists(f)) ?? DEFAULT_CONFIG_PATHS[DEFAULT_CONFIG_PATHS.length - 1] as string;
}

async function containerdVersion(args: DeployArgs, deps: DeployDeps): Promise<ContainerdVersion | undefined> {
  if (args.containerdVersion === undefined) return deps.detectContainerd();
  const version = parseContainerdVersion(args.containerdVersion);
  if (!version) throw new DeployError(`--containerd-version ${JSON.stringify(args.containerdVersion)} is not a version (e.g. 1.7 or 2.1.4)`);
  return version;
}

async function deploy(args: DeployArgs, deps: DeployDeps): Promise<Outcome> {
  const kataConfig = args.kataConfig ?? defaultKataConfig(deps.exists);
  const outcome = args.target === 'containerd'
    ? await deployContainerd({ config: args.config ?? DEFAULT_CONTAINERD_CONFIG, dryRun: args.dryRun, now: deps.now(),
      settings: { handler: args.handler, kataConfig, sandboxer: args.sandboxer }, containerd: await containerdVersion(args, deps) })
    : await deployCrio({ dropinDir: args.crioDropinDir, dryRun: args.dryRun, settings: { handler: args.handler, kataConfig, runtimePath: args.runtimePath } });
  if (!deps.exists(kataConfig)) outcome.warnings.push(`${kataConfig} does not exist: the shim refuses every pod until it does (scripts/install.sh installs it)`);
  if (args.target === 'crio' && !deps.exists(args.runtimePath)) outcome.warnings.push(`${args.runtimePath} does not exist: CRI-O cannot start the shim until it does`);
  return outcome;
}

function undeploy(args: DeployArgs, deps: DeployDeps): Promise<Outcome> {
  return args.target === 'containerd'
    ? undeployContainerd({ config: args.config ?? DEFAULT_CONTAINERD_CONFIG, dryRun: args.dryRun, now: deps.now(), handler: args.handler })
    : undeployCrio({ dropinDir: args.crioDropinDir, dryRun: args.dryRun, handler: args.handler });
}

/** Runs deploy or undeploy for `args.target`; 0 when done (or nothing to do), 1 when a file was refused. */
export async function deployCommand(verb: 'deploy' | 'undeploy', args: DeployArgs, out: Output, deps: DeployDeps = defaultDeps): Promise<number> {
  const prefix = `kata-ts ${verb} ${args.target}`;
  try {
    if (!HANDLER_NAME.test(args.handler)) throw new DeployError(`--handler ${JSON.stringify(args.handler)} is not a RuntimeClass handler name (a DNS label: a-z, 0-9, -)`);
    if (args.handler === DEFAULT_HANDLER) throw new DeployError(`--handler ${DEFAULT_HANDLER} is containerd's and CRI-O's default runtime, not a name for Kata's`);
    printOutcome(prefix, await (verb === 'deploy' ? deploy(args, deps) : undeploy(args, deps)), out);
    return 0;
  } catch (err) {
    if (!(err instanceof DeployError)) throw err;
    out.error(`${prefix}: ${err.message}\n`);
    return 1;
  }
}
