/** The `kata-ts` command line: yargs wiring only; each command lives in commands/. */
import yargs from 'yargs';
import { checkCommand } from './commands/check';
import { envCommand } from './commands/env';
import { factoryCommand } from './commands/factory';
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
    .command('factory <action>', 'VM templates the shim clones sandboxes from: init (make the default one now), status, destroy', (y) =>
      y.options(json).positional('action', { type: 'string', choices: ['init', 'status', 'destroy'], demandOption: true }),
    async (args) => {
      code = await factoryCommand({ config: args.config, json: args.json, action: args.action }, out);
    })
    .command('version', 'print the kata-ts version', (y) => y.options(json), (args) => {
      code = versionCommand(args, out);
    })
    .demandCommand(1, 'name a command: check, env, factory or version')
    .strict()
    .version(false)
    .help()
    .parseAsync();
  return code;
}
