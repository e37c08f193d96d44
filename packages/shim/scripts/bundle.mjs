// Bundles the shim into one file (dist/containerd-shim-kata-v2.js, or the path given) so `start` and
// `delete`, which containerd runs for every container, load one file.
import path from 'node:path';
import { build } from 'esbuild';
import { bundleCommand } from '../../../scripts/lib/bundle-command.mjs';

const packageDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
await bundleCommand(build, { packageDir, outfile: process.argv[2] ?? path.join(packageDir, 'dist', 'containerd-shim-kata-v2.js') });
