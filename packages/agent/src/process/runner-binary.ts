import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync, renameSync } from 'node:fs';
import path from 'node:path';

/** Filled in by the bundler (esbuild `define`) with the base64 of the compiled helper, if it was built. */
declare const __KATA_RUNNER_B64__: string | undefined;

const NAME = 'kata-runner';

/**
 * Finds the kata-runner helper: an explicit path, the native directory of the guest image, next to
 * the agent's code (dist/native), or else the copy embedded in the bundle, written once into the
 * state directory.
 */
export function locateRunner(explicit: string | undefined, stateDir: string): string {
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`kata-runner not found at ${explicit}`);
    return explicit;
  }
  const candidates = [
    process.env.KATA_TS_NATIVE_DIR && path.join(process.env.KATA_TS_NATIVE_DIR, NAME),
    path.join('/usr/lib/kata-ts/native', NAME),
    path.join(__dirname, 'native', NAME),
    path.join(__dirname, '..', 'dist', 'native', NAME),
    path.join(__dirname, '..', '..', 'dist', 'native', NAME),
  ].filter((c): c is string => typeof c === 'string' && c.length > 0);
  for (const c of candidates) if (existsSync(c)) return c;
  const embedded = typeof __KATA_RUNNER_B64__ === 'string' ? __KATA_RUNNER_B64__ : '';
  if (embedded) {
    const target = path.join(stateDir, 'bin', NAME);
    const bytes = Buffer.from(embedded, 'base64');
    let same = false;
    try {
      same = readFileSync(target).equals(bytes);
    } catch {
      same = false;
    }
    if (!same) {
      mkdirSync(path.dirname(target), { recursive: true, mode: 0o700 });
      writeFileSync(`${target}.tmp`, bytes, { mode: 0o755 });
      chmodSync(`${target}.tmp`, 0o755);
      renameSync(`${target}.tmp`, target);
    }
    return target;
  }
  throw new Error(`kata-runner not found (looked in ${candidates.join(', ')}); build it with pnpm -F @kata-ts/agent build:native`);
}
