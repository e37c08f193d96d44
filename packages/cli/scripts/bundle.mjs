// Bundles the kata-ts command into one file (dist/kata-ts.js, or the path given); scripts/install.sh
// installs it as /usr/local/bin/kata-ts with a node #! line.
import path from 'node:path';
import { build } from 'esbuild';
import { bundleCommand } from '../../../scripts/lib/bundle-command.mjs';

const packageDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
await bundleCommand(build, {
  packageDir,
  outfile: process.argv[2] ?? path.join(packageDir, 'dist', 'kata-ts.js'),
  // yargs 17 ships CommonJS and ESM builds; the CommonJS one needs no import.meta.
  options: { conditions: ['require'] },
});
