/** The `kata-ts` command line: yargs wiring only; each command lives in commands/. */
import yargs, { type Argv } from 'yargs';
import { agentCtlCommand } from './commands/agent-ctl';
import { checkCommand } from './commands/check';
import {
  DEFAULT_CONTAINERD_CONFIG, DEFAULT_CRIO_DROPIN_DIR, DEFAULT_RUNTIME_PATH, DEPLOY_TARGETS, deployCommand, type DeployArgs,
} from './commands/deploy';
import { envCommand } from './commands/env';
import { execCommand } from './commands/exec';
import { factoryCommand } from './commands/factory';
import { DEFAULT_LISTEN_ADDRESS, DEFAULT_RUNTIME_ENDPOINT, monitorCommand } from './commands/monitor';
import { versionCommand } from './commands/version';
import { stdio, type Output } from './output';

/** Parses `argv` (without node and the script), runs the command, resolves with the exit code. */
export async function run(argv: string[], out: Output = stdio): Promise<number> {
  let code = 0;
  const json = { json: { type: 'boolean', default: false, describe: 'machine-readable output' } } as const;
  await yargs(argv)
    .scriptName('kata-ts')
    .usage('$0 <command>\n\nWhat containerd-shim-kata-v2 (kata-ts) would do on this host.')
    .wrap(null)
    .option('config', { type: 'string', describe: 'configuration file, as the runtime options\' config_path would name it' })
    .command('check', 'check whether this host can run kata-ts pods (exit 0) or not (exit 1), and what the shim would use', (y) =>
      y.options({ ...json, cache: { type: 'boolean', default: true, describe: 'use the KVM probe cache (--no-cache probes again)' } }),
    async (args) => {
      code = await checkCommand(args, out);
    })
    .command('env', 'print the effective configuration (TOML, or --json) and the configuration lookup order', (y) => y.options(json), async (args) => {
      code = await envCommand(args, out);
    })
    .command('factory <action>', 'VM templates and the warm VM pool: init (make the default template now), status, destroy (templates), serve (run the pool), stop (end it)', (y) =>
      y.options(json).positional('action', { type: 'string', choices: ['init', 'status', 'destroy', 'serve', 'stop'], demandOption: true }),
    async (args) => {
      code = await factoryCommand({ config: args.config, json: args.json, action: args.action }, out);
    })
    .command('deploy <target>', 'add the kata runtime handler to containerd\'s config.toml or CRI-O\'s drop-in directory (as kata-deploy does); idempotent', deployOptions,
      async (args) => {
        code = await deployCommand('deploy', deployArgs(args), out);
      })
    .command('undeploy <target>', 'remove the kata runtime handler that deploy added, and nothing else; idempotent', deployOptions, async (args) => {
      code = await deployCommand('undeploy', deployArgs(args), out);
    })
    .command('agent-ctl [sandbox] [rpc] [json]', 'call a running sandbox\'s agent: one RPC with JSON arguments (or --script, one call per line); --list names the RPCs', (y) =>
      y.positional('sandbox', { type: 'string', describe: 'the sandbox id (a pod\'s sandbox id, or the container id of a plain ctr run)' })
        .positional('rpc', { type: 'string', describe: 'e.g. GetGuestDetails, Health.Check, grpc.AgentService.ListProcesses' })
        .positional('json', { type: 'string', describe: 'the request message as JSON (default {})' })
        .options({
          list: { type: 'boolean', default: false, describe: 'list every RPC with its request type' },
          script: { type: 'string', describe: 'a file of calls, one `<rpc> [json]` per line' },
          timeout: { type: 'number', default: 60, describe: 'seconds each call may take' },
        }),
    async (args) => {
      code = await agentCtlCommand({ config: args.config, sandbox: args.sandbox, rpc: args.rpc, json: args.json, script: args.script, list: args.list, timeout: args.timeout }, out);
    })
    .command('monitor', 'serve every running sandbox\'s metrics to Prometheus on one address (Kata\'s kata-monitor); runs until stopped', (y) =>
      y.options({
        'listen-address': { type: 'string', default: DEFAULT_LISTEN_ADDRESS, describe: 'host:port to serve /metrics, /sandboxes and /agent-url on' },
        'runtime-endpoint': { type: 'string', default: DEFAULT_RUNTIME_ENDPOINT, describe: 'the CRI socket whose pods label the metrics (cri_name, cri_namespace, cri_uid); "" for none' },
        'scrape-timeout': { type: 'number', default: 5, describe: 'seconds one sandbox\'s shim may take to answer' },
      }),
    async (args) => {
      code = await monitorCommand({ config: args.config, listenAddress: args['listen-address'], runtimeEndpoint: args['runtime-endpoint'], scrapeTimeout: args['scrape-timeout'] }, out);
    })
    .command('exec <sandbox>', 'an interactive root shell in a running sandbox\'s VM, outside its containers (Kata\'s debug console; needs [agent.kata] debug_console_enabled); exits with the shell\'s status', (y) =>
      y.positional('sandbox', { type: 'string', demandOption: true, describe: 'the sandbox id (a pod\'s sandbox id, the container id of a plain ctr run, or a container of a pod)' }),
    async (args) => {
      code = await execCommand({ config: args.config, sandbox: args.sandbox }, out);
    })
    .command('version', 'print the kata-ts version', (y) => y.options(json), (args) => {
      code = versionCommand(args, out);
    })
    .demandCommand(1, 'name a command: check, env, factory, deploy, undeploy, agent-ctl, exec, monitor or version')
    .strict()
    .version(false)
    .help()
    .parseAsync();
  return code;
}

/** The options deploy and undeploy share; `--config` here is containerd's config.toml, not kata-ts's. */
function deployOptions(y: Argv) {
  return y
    .positional('target', { type: 'string', choices: DEPLOY_TARGETS, demandOption: true, describe: 'the container runtime to configure' })
    .options({
      'dry-run': { type: 'boolean', default: false, describe: 'print the file that would be written (or a diff) and write nothing' },
      config: { type: 'string', describe: `containerd's config.toml (default ${DEFAULT_CONTAINERD_CONFIG})` },
      'containerd-version': { type: 'string', describe: 'containerd\'s version (e.g. 1.7, 2.1) when a new config.toml is written; default: containerd --version' },
      sandboxer: { choices: ['podsandbox', 'shim'] as const, default: 'podsandbox' as const, describe: 'containerd 2.x (config version 3): the handler\'s sandboxer' },
      'crio-dropin-dir': { type: 'string', default: DEFAULT_CRIO_DROPIN_DIR, describe: 'CRI-O\'s drop-in directory' },
      'kata-config': { type: 'string', describe: 'the kata-ts configuration the shim loads (default: /etc/kata-ts/configuration.toml if present, else /usr/share/defaults/kata-ts/configuration.toml)' },
      handler: { type: 'string', default: 'kata', describe: 'the runtime handler (RuntimeClass handler) name' },
      'runtime-path': { type: 'string', default: DEFAULT_RUNTIME_PATH, describe: 'the shim binary CRI-O runs (runtime_path)' },
    });
}

function deployArgs(args: Awaited<ReturnType<typeof deployOptions>['argv']>): DeployArgs {
  return {
    target: args.target, dryRun: args['dry-run'], config: args.config, containerdVersion: args['containerd-version'], sandboxer: args.sandboxer,
    crioDropinDir: args['crio-dropin-dir'], kataConfig: args['kata-config'], handler: args.handler, runtimePath: args['runtime-path'],
  };
}
