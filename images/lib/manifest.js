'use strict';
// Writes images/out/manifest.json (to stdout) from the environment build.sh exports.
const fs = require('fs');
const path = require('path');

const env = process.env;
const lines = (s) => (s || '').split('\n').filter((l) => l.trim() !== '');

const artefacts = lines(env.ARTS).map((l) => JSON.parse(l));
const packages = {};
for (const l of lines(env.PKG_LINES)) {
  const [name, version] = l.split(' ');
  packages[name] = version;
}
const native = lines(env.NATIVE_SUMS).map((l) => {
  const [name, sha256, ...src] = l.split(' ');
  return { name, guestPath: `/usr/lib/kata-ts/native/${name}`, source: src.join(' '), sha256 };
});
let nodeChoice = {};
try {
  nodeChoice = JSON.parse(fs.readFileSync(path.join(env.LIB, 'node-choice.json'), 'utf8'));
} catch {}

const disk = env.DEFAULT_FORMAT === 'disk';
const manifest = {
  schema: 1,
  kernel: {
    version: env.KVER,
    package: env.KPKG,
    packageVersion: packages[env.KPKG],
    default: env.DEFAULT_KERNEL,
    note: 'vmlinux is the vmlinuz payload uncompressed; QEMU boots it through the PVH entry point (no in-guest decompression)',
    modules: lines(env.MODLOAD),
  },
  default: {
    format: env.DEFAULT_FORMAT,
    kernel: env.DEFAULT_KERNEL,
    initrd: disk ? 'kata-boot-initrd.img' : 'kata-initrd.img',
    rootfsImage: disk ? env.DISK_NAME : null,
    kernelCmdline: env.CMDLINE,
  },
  formats: {
    initrd: { initrd: 'kata-initrd.img', compression: env.INITRD_COMPRESS },
    disk: {
      initrd: 'kata-boot-initrd.img',
      rootfsImage: env.DISK_NAME,
      fsType: env.DISK_FS,
      qemu: `-drive file=${env.DISK_NAME},if=none,id=rootfs,format=raw,readonly=on -device virtio-blk-pci,drive=rootfs`,
      cmdline: `root=/dev/vda rootfstype=${env.DISK_FS}`,
    },
  },
  qemu: {
    note: 'how images/boot-test.sh (and the shim) run the image; paths are per sandbox',
    base: '-accel tcg -M q35 -m 512 -smp 1 -nographic -no-reboot -nodefaults -serial file:<console.log>',
    agentChannel: '-device virtio-serial-pci -chardev socket,path=<agent.sock>,server=on,wait=off,id=ch0 -device virtserialport,chardev=ch0,name=agent.channel.0',
    share: '-fsdev local,id=fs0,path=<shared dir>,security_model=none -device virtio-9p-pci,fsdev=fs0,mount_tag=kataShared',
    rng: '-object rng-random,filename=/dev/urandom,id=rng0 -device virtio-rng-pci,rng=rng0',
    rngWhy: 'without it the guest entropy pool is ready only seconds into boot and node blocks on it at startup',
  },
  artefacts,
  packages,
  rootfs: {
    bytes: Number(env.ROOTFS_BYTES),
    agent: { guestPath: '/usr/lib/kata-ts/kata-agent.js', source: env.AGENT, bytes: Number(env.AGENT_BYTES), sha256: env.AGENT_SHA },
    native,
    node: {
      version: env.NODE_VERSION,
      source: env.NODE_BIN,
      package: env.NODE_PKG || null,
      packageVersion: env.NODE_PKG ? packages[env.NODE_PKG] : null,
      guestPath: '/usr/bin/node',
      bytesStripped: Number(env.NODE_BYTES),
      choice: nodeChoice,
    },
    init: {
      pid1: 'tini (/usr/bin/tini, from tini-static)',
      command: 'tini -- /usr/bin/node /usr/lib/kata-ts/kata-agent.js',
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        HOME: '/root',
        KATA_TS_NATIVE_DIR: '/usr/lib/kata-ts/native',
      },
      crun: '/usr/bin/crun',
    },
  },
};
process.stdout.write(JSON.stringify(manifest, null, 2) + '\n');
