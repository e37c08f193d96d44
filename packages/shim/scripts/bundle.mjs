// Bundles the shim into one file (dist/containerd-shim-kata-v2.js, or the path given) so `start` and
// `delete`, which containerd runs for every container, load one file.
import path from 'node:path';
import { build } from 'esbuild';
import { bundleCommand } from '../../../scripts/lib/bundle-command.mjs';

const packageDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
// Whitespace and syntax minified, names kept (stack traces still name functions): V8 keeps a script's
// source for lazy compilation, and one daemon per pod holds it. Measured on idle pods' daemons: PSS
// 26.7 -> 22.9 MiB (3 pods), anonymous memory 20.1 -> 16.2 MiB. Full minification (with keepNames)
// saved less (24.6 MiB): keepNames wraps every function.
await bundleCommand(build, {
  packageDir,
  outfile: process.argv[2] ?? path.join(packageDir, 'dist', 'containerd-shim-kata-v2.js'),
  options: { minifyWhitespace: true, minifySyntax: true },
});
