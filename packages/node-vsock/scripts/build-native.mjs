#!/usr/bin/env node
// Builds the N-API addon (build/Release/node_vsock.node) with node-gyp.
//
// Why a script and not a bare `node-gyp rebuild`:
// - pnpm does not forward npm's `nodedir` setting to scripts, and without one node-gyp downloads
//   Node's headers, which offline machines (CI, guest image builds) cannot do. When the running
//   Node ships its headers (<prefix>/include/node/node_api.h, as distribution packages do), point
//   node-gyp at them.
// - node-gyp is a devDependency here; installed from the registry (no devDependencies), the
//   package falls back to the node-gyp that npm or pnpm bring along (npm_config_node_gyp).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

function findNodeGyp() {
  try {
    return createRequire(path.join(packageDir, 'package.json')).resolve('node-gyp/bin/node-gyp.js');
  } catch {
    return process.env.npm_config_node_gyp || undefined;
  }
}

function findNodedir() {
  if (process.env.npm_config_nodedir) return process.env.npm_config_nodedir;
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  return existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

const nodedir = findNodedir();
const args = ['rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const nodeGyp = findNodeGyp();
const result = nodeGyp
  ? spawnSync(process.execPath, [nodeGyp, ...args], { cwd: packageDir, stdio: 'inherit' })
  : spawnSync('node-gyp', args, { cwd: packageDir, stdio: 'inherit' });
if (result.error) {
  console.error(`node-vsock: cannot run node-gyp: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
