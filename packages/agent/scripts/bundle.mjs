// Bundles the agent into ONE file, dist/kata-agent.js (what the guest image runs as
// `node /usr/lib/kata-ts/kata-agent.js`).
//
// - esbuild: every module in one minified CommonJS program (node18 target).
// - The compiled kata-runner is embedded (base64), so the bundle works even where the helper was not
//   copied next to it; node-vsock's .node addon stays a file loaded at run time (/usr/lib/kata-ts/native).
// - A V8 code cache: the program is stored as a string next to V8's cached compilation of it, made by
//   running the program's module initialisation once here. Under TCG compiling 0.5 MB of JavaScript
//   costs seconds; the cache is only valid for the same node binary and flags (the guest runs the host's
//   node), and V8 silently compiles from source when it does not match.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runner = path.join(root, 'dist/native/kata-runner');
const runnerB64 = existsSync(runner) ? readFileSync(runner).toString('base64') : '';
const inner = path.join(root, 'dist/kata-agent.program.js');
const outfile = path.join(root, 'dist/kata-agent.js');
const repo = path.resolve(root, '../..');
const noCache = process.argv.includes('--no-cache') || process.env.KATA_AGENT_NO_CODE_CACHE === '1';
// V8 accepts a code cache only under the flags it was made with: when the guest runs node with flags
// (NODE_OPTIONS, e.g. --jitless), make the cache with the same ones.
const nodeFlags = (process.env.KATA_AGENT_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);

// V8's code cache is not byte-for-byte reproducible, so an unchanged agent must not be rebundled (the
// image builder keys its caches on the bundle's hash): skip when the inputs hash to the same value.
const inputs = createHash('sha256');
const walk = (dir) => {
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p);
    else if (!e.name.endsWith('.test.ts')) inputs.update(p).update(readFileSync(p));
  }
};
for (const pkg of ['agent/src', 'ttrpc/src', 'protocol/src', 'node-vsock/src']) walk(path.join(repo, 'packages', pkg));
inputs.update(readFileSync(fileURLToPath(import.meta.url))).update(runnerB64).update(process.version).update(String(noCache)).update(nodeFlags.join(' '));
const stamp = path.join(root, 'dist/kata-agent.inputs');
const key = inputs.digest('hex');
if (!process.argv.includes('--force') && existsSync(outfile) && existsSync(stamp) && readFileSync(stamp, 'utf8') === key) {
  console.log(`bundle: ${path.relative(process.cwd(), outfile)} is up to date`);
  process.exit(0);
}

await build({
  entryPoints: [path.join(root, 'src/main.ts')],
  outfile: inner,
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  minify: true,
  legalComments: 'none',
  logLevel: 'warning',
  // Workspace packages from their sources (the same mapping as tsconfig paths and jest).
  alias: {
    'ttrpc-ts': path.join(repo, 'packages/ttrpc/src/index.ts'),
    'node-vsock': path.join(repo, 'packages/node-vsock/src/index.ts'),
    '@kata-ts/protocol/kata': path.join(repo, 'packages/protocol/src/kata.ts'),
  },
  define: { __KATA_RUNNER_B64__: JSON.stringify(runnerB64) },
  // pino-pretty is optional and only loaded for pretty transports, which the agent never uses.
  external: ['pino-pretty'],
});

const program = readFileSync(inner, 'utf8').replace(/^#!.*\n/, '');
// The loader: the program and its code cache ride in a trailing comment (base64, so no "*/" can occur),
// which the JavaScript scanner skips cheaply; the loader reads them back from its own file, compiles
// the program with the cache and runs it as this module's body.
const MARK = '\n/*KATA-AGENT-DATA\n';
const loader = (cacheB64) => `#!/usr/bin/env node
"use strict";
globalThis.__kataAgentLoadAt = process.uptime();
const fs = require("fs"), vm = require("vm");
const text = fs.readFileSync(__filename, "latin1");
const parts = text.slice(text.lastIndexOf(${JSON.stringify(MARK)}) + ${MARK.length}, text.lastIndexOf("\\n*/")).split("\\n");
const source = "(function (exports, require, module, __filename, __dirname) {" + Buffer.from(parts[0], "base64").toString("utf8") + "\\n})";
const cachedData = parts[1] ? Buffer.from(parts[1], "base64") : undefined;
const script = new vm.Script(source, { filename: __filename, cachedData });
globalThis.__kataAgentCodeCache = cachedData ? (script.cachedDataRejected ? "rejected" : "used") : "none";
globalThis.__kataAgentCompiledAt = process.uptime();
module.exports.__script = script;
script.runInThisContext()(exports, require, module, __filename, __dirname);
${MARK.slice(1)}${Buffer.from(program).toString('base64')}
${cacheB64}
*/
`;

let cacheB64 = '';
if (!noCache) {
  // Run the loader without a cache in "cache" mode (modules initialise, main() returns at once), then
  // ask V8 for the code of everything compiled so far.
  const probe = path.join(root, 'dist/kata-agent.probe.js');
  writeFileSync(probe, loader(''));
  const maker = `const m = require(${JSON.stringify(probe)}); process.stdout.write(m.__script.createCachedData().toString("base64"));`;
  cacheB64 = execFileSync(process.execPath, [...nodeFlags, '-e', maker], { env: { ...process.env, KATA_AGENT_CODE_CACHE_RUN: '1' }, maxBuffer: 64 << 20 }).toString();
  rmSync(probe);
}
writeFileSync(outfile, loader(cacheB64), { mode: 0o755 });
writeFileSync(stamp, key);
rmSync(inner);
const kb = (n) => `${(n / 1024).toFixed(0)} KiB`;
console.log(`bundle: ${path.relative(process.cwd(), outfile)} (${kb(statSync(outfile).size)}: program ${kb(program.length)}, code cache ${kb(cacheB64.length * 3 / 4)}${runnerB64 ? ', kata-runner embedded' : ', NO kata-runner embedded'})`);
