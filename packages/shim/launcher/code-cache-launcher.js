// The installed containerd-shim-kata-v2: runs the shim's bundle (@BUNDLE@) through a V8 code cache
// (@CACHE@). containerd runs this binary three times per pod (start, the serve daemon, delete), and
// compiling the 2.7 MB bundle was about half of each start-up (~25 of ~55 ms here). The cache is
// written once, when missing or rejected (another node or bundle), atomically, at process exit, so it
// covers the functions that run had compiled; any error just means running without it.
// Filled in by scripts/install.sh; __filename/__dirname/argv stay this launcher's, as before.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const Module = require('node:module');

const BUNDLE = '@BUNDLE@';
const CACHE = '@CACHE@';

const source = fs.readFileSync(BUNDLE, 'utf8');
let cachedData;
try {
  cachedData = fs.readFileSync(CACHE);
} catch {
  cachedData = undefined;
}
const script = new vm.Script(Module.wrap(source), { filename: BUNDLE, cachedData });
if (!cachedData || script.cachedDataRejected) {
  process.once('exit', () => {
    try {
      const tmp = `${CACHE}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
      fs.renameSync(tmp, CACHE);
    } catch {
      // no cache this time
    }
  });
}
const self = new Module(__filename, null);
self.filename = __filename;
self.paths = Module._nodeModulePaths(path.dirname(BUNDLE));
script.runInThisContext()(self.exports, (id) => self.require(id), self, __filename, __dirname);
