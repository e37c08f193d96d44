// Bundles the kata-ts command into one file (dist/kata-ts.js, or the path given), the way the shim is
// bundled: scripts/install.sh installs it as /usr/local/bin/kata-ts with a node #! line.
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

const outfile = process.argv[2] ?? path.join(pkg, 'dist', 'kata-ts.js');
await build({
  entryPoints: [path.join(pkg, 'src', 'main.ts')],
  outfile,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  // yargs 17 ships CommonJS and ESM builds; the CommonJS one needs no import.meta.
  conditions: ['require'],
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  logLevel: 'warning',
  tsconfig: path.join(root, 'tsconfig.base.json'),
  define: { 'process.env.KATA_TS_REVISION': JSON.stringify(revision) },
});
console.error(`bundled ${outfile}`);
