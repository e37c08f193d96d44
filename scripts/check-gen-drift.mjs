// Fails when regenerating protobuf code from proto/ changes what is committed under any src/gen or
// test/gen directory: generated code is produced by `pnpm gen` only, never edited by hand.
import { execFileSync } from 'node:child_process';

const run = (cmd, args) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const genPaths = ['packages/*/src/gen', 'packages/*/test/gen'];
const status = () => run('git', ['status', '--porcelain', '--', ...genPaths]);

const before = status();
if (before) {
  console.error(`gen drift check: generated files already differ from git before regenerating:\n${before}`);
  process.exit(1);
}
run('pnpm', ['-s', 'gen']);
const after = status();
if (after) {
  console.error(`gen drift check FAILED: regenerating changed:\n${after}\nRun \`pnpm gen\` and commit the result.`);
  process.exit(1);
}
console.log('gen drift check: generated code matches proto/');
