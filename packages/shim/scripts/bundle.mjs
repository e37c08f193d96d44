// Bundles the shim into one file (dist/containerd-shim-kata-v2.js) so `start` and `delete`, which
// containerd runs for every container, load one file instead of resolving hundreds of modules.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { build } from 'esbuild';

const pkg = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const root = path.resolve(pkg, '..', '..');
let revision = 'unknown';
try {
  revision = execFileSync('git', ['-C', root, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
} catch {
  // not a git checkout
}

const outfile = process.argv[2] ?? path.join(pkg, 'dist', 'containerd-shim-kata-v2.js');
await build({
  entryPoints: [path.join(pkg, 'src', 'main.ts')],
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
  define: { 'process.env.KATA_TS_REVISION': JSON.stringify(revision) },
});
console.error(`bundled ${outfile}`);
