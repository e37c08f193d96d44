// Bundles a command's src/main.ts into one CommonJS file with esbuild, stamped with the git revision:
// commands containerd or a user runs often (the shim's start/delete, kata-ts) then load one file instead
// of resolving hundreds of modules. Each package passes its own esbuild `build` (esbuild is a
// dependency of the package, not of the workspace root).
import { execFileSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

function gitRevision() {
  try {
    return execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unknown'; // not a git checkout
  }
}

/** Bundles `<packageDir>/src/main.ts` to `outfile`; `options` are extra esbuild options. */
export async function bundleCommand(build, { packageDir, outfile, options = {} }) {
  await build({
    entryPoints: [path.join(packageDir, 'src', 'main.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    minify: false,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'warning',
    tsconfig: path.join(root, 'tsconfig.base.json'),
    define: { 'process.env.KATA_TS_REVISION': JSON.stringify(gitRevision()) },
    ...options,
  });
  console.error(`bundled ${outfile}`);
}
