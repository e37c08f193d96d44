'use strict';
// Stand-in for the kata-ts agent, used to test and time guest images
// (`images/build.sh --agent images/test/standin-agent.js`, then `images/boot-test.sh`).
//
// Finds the virtio-serial port named agent.channel.0, writes "READY\n" to it, then keeps running.
// Host -> guest lines: "EXIT" makes it exit (tini exits, the kernel panics, QEMU with -no-reboot ends).
// With `standin.crun_test=1` on the kernel command line it then runs a crun container from a busybox
// bundle built in a tmpfs (`sh -c 'exit 42'`), prints "STANDIN crun exit=<code>" on the console and
// sends "CRUN <code>\n" on the port.
const fs = require('fs');
const path = require('path');
const { spawnSync } = require('child_process');

const t0 = process.uptime();
const log = (msg) => process.stdout.write(`STANDIN ${msg}\n`);

function findPort(name) {
  const dir = '/sys/class/virtio-ports';
  for (let i = 0; i < 500; i++) {
    try {
      for (const p of fs.readdirSync(dir)) {
        try {
          if (fs.readFileSync(path.join(dir, p, 'name'), 'utf8').trim() === name) return `/dev/${p}`;
        } catch {}
      }
    } catch {}
    // Ports appear when virtio_console probes; the init loads it before we start, so this rarely loops.
    spawnSync('/bin/sleep', ['0.01']);
  }
  return null;
}

const dev = findPort('agent.channel.0');
if (!dev) {
  log('no virtio port named agent.channel.0');
  process.exit(1);
}
const fd = fs.openSync(dev, 'r+');
fs.writeSync(fd, 'READY\n');
log(`ready on ${dev} (node ${process.version}, ${(process.uptime() - t0).toFixed(3)}s in script, uptime ${fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0]}s)`);

const input = fs.createReadStream(null, { fd, autoClose: false });
let buf = '';
input.on('data', (d) => {
  buf += d.toString();
  let i;
  while ((i = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, i).trim();
    buf = buf.slice(i + 1);
    if (line === 'EXIT') {
      log('exit requested');
      process.exit(0);
    }
  }
});
input.on('error', (e) => log(`port read error: ${e.message}`));

function crunTest() {
  const base = '/run/standin';
  const bundle = `${base}/bundle`;
  const rootfs = `${bundle}/rootfs`;
  fs.mkdirSync(base, { recursive: true });
  spawnSync('/bin/mount', ['-t', 'tmpfs', 'tmpfs', base]);
  for (const d of ['bin', 'proc', 'sys', 'dev', 'tmp']) fs.mkdirSync(`${rootfs}/${d}`, { recursive: true });
  fs.copyFileSync('/bin/busybox', `${rootfs}/bin/busybox`);
  fs.chmodSync(`${rootfs}/bin/busybox`, 0o755);
  fs.symlinkSync('busybox', `${rootfs}/bin/sh`);
  const spec = spawnSync('crun', ['spec'], { cwd: bundle, encoding: 'utf8' });
  if (spec.status !== 0) return log(`crun spec failed: ${spec.stderr}`);
  const cfg = JSON.parse(fs.readFileSync(`${bundle}/config.json`, 'utf8'));
  cfg.process.terminal = false;
  cfg.process.args = ['/bin/sh', '-c', 'echo hello from the container; exit 42'];
  fs.writeFileSync(`${bundle}/config.json`, JSON.stringify(cfg));
  const ver = spawnSync('crun', ['--version'], { encoding: 'utf8' });
  log(`crun --version: ${(ver.stdout || '').split('\n')[0]}`);
  const t = Date.now();
  const r = spawnSync('crun', ['run', '-b', bundle, 'standin-test'], { stdio: 'inherit' });
  const code = r.status === null ? `signal ${r.signal}` : String(r.status);
  log(`crun exit=${code} (${Date.now() - t} ms)`);
  fs.writeSync(fd, `CRUN ${code}\n`);
}

if (/(^|\s)standin\.crun_test=1(\s|$)/.test(fs.readFileSync('/proc/cmdline', 'utf8'))) {
  try {
    crunTest();
  } catch (e) {
    log(`crun test error: ${e.stack}`);
    fs.writeSync(fd, 'CRUN error\n');
  }
}

setInterval(() => {}, 1 << 30);
