// Compiles native/kata-runner.c into dist/native/kata-runner (gcc, dynamically linked against libc only,
// which the guest image has for crun and node). Skipped when the binary is newer than the source.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const src = path.join(root, 'native/kata-runner.c');
const out = path.join(root, 'dist/native/kata-runner');
const mtime = (p) => { try { return statSync(p).mtimeMs; } catch { return 0; } };
if (mtime(out) > mtime(src) && !process.argv.includes('--force')) process.exit(0);
mkdirSync(path.dirname(out), { recursive: true });
const cc = process.env.CC || 'gcc';
execFileSync(cc, ['-O2', '-Wall', '-Wextra', '-Werror', '-s', '-o', out, src], { stdio: 'inherit' });
console.log(`build-native: ${path.relative(process.cwd(), out)}`);
