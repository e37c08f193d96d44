/**
 * The shim binary's entry: parses containerd's flags and runs `-v`, `-info`, `features`, `start`, `delete`
 * or serve mode. stdout carries only the protocol (an address, a DeleteResponse, a RuntimeInfo, the
 * features document);
 * errors go to stderr with a non-zero exit, as containerd expects.
 */
import { OciTypeUrl, packJsonAny } from '@kata-ts/protocol';
import { codecs } from '@kata-ts/protocol/containerd';
import { runtimeFeatures } from '../oci/features';
import { parseFlags } from './flags';
import type { ShimManager } from './manager';
import { parseStartInput, readStdin, startReply } from './bootstrap';
import { startShim } from './start';
import { deleteShim } from './delete';
import { serveShim } from './serve';
import { createLogger, flushLogger } from './logging';

function writeStdout(data: string | Uint8Array): Promise<void> {
  return new Promise((resolve) => process.stdout.write(data, () => resolve()));
}

/** Runs the shim with process.argv and exits the process. */
export async function runShim(manager: ShimManager, argv: readonly string[] = process.argv.slice(2)): Promise<never> {
  let code = 0;
  try {
    code = await dispatch(manager, argv);
  } catch (err) {
    process.stderr.write(`${manager.name}: ${(err as Error).message}\n`);
    code = 1;
  }
  process.exit(code);
}

async function dispatch(manager: ShimManager, argv: readonly string[]): Promise<number> {
  const flags = parseFlags(argv);
  if (flags.version) {
    await writeStdout(`containerd-shim-kata-v2 (kata-ts):\n  Version: ${manager.version}\n  Revision: ${manager.revision}\n`);
    return 0;
  }
  if (flags.info) {
    readStdin();
    await writeStdout(codecs.runtimeInfo.encode({
      name: manager.name,
      version: { version: manager.version, revision: manager.revision },
      features: packJsonAny(OciTypeUrl.Features, runtimeFeatures(manager.version)),
    }));
    return 0;
  }
  switch (flags.action) {
    case 'start': {
      if (!flags.namespace) throw new Error('shim namespace cannot be empty');
      const input = parseStartInput(readStdin(), flags.id, flags.namespace);
      await writeStdout(startReply(await startShim(manager, flags, input, process.cwd()), input));
      return 0;
    }
    case 'delete': {
      // containerd logs what `delete` writes on stderr as warnings.
      const log = createLogger({ level: 'warn', base: { runtime: manager.name, action: 'delete', id: flags.id } });
      await writeStdout(await deleteShim(manager, flags, flags.bundle || process.cwd(), log));
      await flushLogger(log);
      return 0;
    }
    case 'features':
      // CRI-O asks the runtime binary of every handler, `runc features` style.
      await writeStdout(`${JSON.stringify(runtimeFeatures(manager.version), null, 2)}\n`);
      return 0;
    case '':
      if (!flags.namespace) throw new Error('shim namespace cannot be empty');
      return serveShim(manager, flags);
    default:
      throw new Error(`invalid action "${flags.action}"`);
  }
}
