'use strict';
// Host side of images/boot-test.sh: starts QEMU, times it, cleans up.
//
//   node boot-probe.js [--sock <agent chardev socket>] [--timeout <s>] [--crun] [--exit] -- qemu-system-x86_64 ...
//
// Without --sock (floor image): time from spawn to QEMU's exit.
// With --sock: connects to the chardev unix socket (retrying until QEMU has created it) and times the first
// byte from the guest (the stand-in agent's "READY\n"). --crun: then wait for "CRUN <code>". --exit: then send
// "EXIT\n" and time QEMU's own exit (agent exits -> tini exits -> kernel panic -> -no-reboot).
// Whatever happens, the QEMU it started is killed by pid before this exits.
// Prints one JSON line: {"readyMs":..., "crun":..., "exitMs":..., "ok":...}.
const { spawn } = require('child_process');
const net = require('net');
const fs = require('fs');

const argv = process.argv.slice(2);
const opts = { sock: null, timeout: 120, crun: false, exit: false };
while (argv.length && argv[0] !== '--') {
  const a = argv.shift();
  if (a === '--sock') opts.sock = argv.shift();
  else if (a === '--timeout') opts.timeout = Number(argv.shift());
  else if (a === '--crun') opts.crun = true;
  else if (a === '--exit') opts.exit = true;
  else throw new Error(`boot-probe: unknown option ${a}`);
}
argv.shift();
if (!argv.length) throw new Error('boot-probe: no command after --');

const result = { ok: false };
const t0 = process.hrtime.bigint();
const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
const qemu = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'inherit', 'inherit'] });
let qemuExited = false;
// CPU time (user+system) QEMU has used, from /proc/<pid>/stat; polled so it is known after QEMU exits too.
// Under a loaded host it varies much less than wall time.
const TICK_MS = 10; // USER_HZ = 100 on Linux/x86
let lastCpuMs;
function cpuMs() {
  try {
    const f = fs.readFileSync(`/proc/${qemu.pid}/stat`, 'utf8');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    lastCpuMs = (Number(rest[11]) + Number(rest[12])) * TICK_MS;
  } catch {}
  return lastCpuMs;
}
const cpuPoll = setInterval(cpuMs, 20);
let sock = null;
let finished = false;

function finish(ok, why) {
  if (finished) return;
  finished = true;
  result.ok = ok;
  if (why) result.error = why;
  if (sock) sock.destroy();
  if (!qemuExited) {
    try {
      process.kill(qemu.pid, 'SIGKILL');
    } catch {}
  }
  clearTimeout(timer);
  clearInterval(cpuPoll);
  const done = () => {
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(ok ? 0 : 1);
  };
  if (qemuExited) done();
  else qemu.once('exit', done);
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => finish(false, `interrupted by ${sig}`));
const timer = setTimeout(() => finish(false, `timeout after ${opts.timeout}s`), opts.timeout * 1000);
qemu.on('error', (e) => {
  qemuExited = true;
  finish(false, `spawn: ${e.message}`);
});
qemu.on('exit', (code, signal) => {
  qemuExited = true;
  result.exitMs = Math.round(ms());
  result.exitCpuMs = lastCpuMs;
  result.qemuExit = signal ? `signal ${signal}` : code;
  if (!opts.sock) finish(code === 0, code === 0 ? null : `qemu exited ${code ?? signal}`);
  else if (!finished) {
    const waitingFor = result.readyMs === undefined ? 'READY' : opts.crun && result.crun === undefined ? 'CRUN' : null;
    finish(!waitingFor && opts.exit, waitingFor ? `qemu exited before ${waitingFor}` : opts.exit ? null : 'qemu exited');
  }
});

if (opts.sock) {
  let buf = '';
  const connect = () => {
    if (finished) return;
    const s = net.connect(opts.sock);
    s.once('error', () => setTimeout(connect, 5));
    s.once('connect', () => {
      sock = s;
      result.connectMs = Math.round(ms());
      s.on('error', () => {});
      s.on('data', (d) => {
        if (result.readyMs === undefined) {
          result.readyMs = Math.round(ms());
          result.readyCpuMs = cpuMs();
        }
        buf += d.toString();
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, i);
          buf = buf.slice(i + 1);
          if (line === 'READY') result.ready = true;
          const m = /^CRUN (.*)$/.exec(line);
          if (m) result.crun = m[1];
        }
        const needCrun = opts.crun && result.crun === undefined;
        if (result.ready && !needCrun) {
          if (opts.exit) {
            if (!result.exitSent) {
              result.exitSent = true;
              s.write('EXIT\n');
            }
          } else finish(true);
        }
      });
    });
  };
  connect();
}
