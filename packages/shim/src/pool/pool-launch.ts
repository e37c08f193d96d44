/**
 * How the factory starts a pool VM's QEMU: in a mount namespace of its own (a slave of the host's,
 * as a shim's is), with the share's two directories already bound the way SandboxShare.setup makes
 * them (mounts/ a shared mount point, shared/ its read-only, slave view that QEMU exports). The shim
 * that adopts the VM runs in this same namespace (it is started through nsenter), so every mount it
 * makes under mounts/ reaches the guest; when QEMU and that shim are gone, the namespace and its
 * mounts go with them. The mounts are made by mount(8) in a shell inside the namespace before it
 * execs QEMU (same pid), since they must exist before QEMU opens the share.
 */
const SETUP_SCRIPT = [
  'set -e',
  'mount --bind "$1" "$1"',
  'mount --make-shared "$1"',
  'mount --bind "$1" "$2"',
  'mount -o remount,bind,ro "$2"',
  'mount --make-slave "$2"',
  'shift 2',
  'exec "$@"',
].join('\n');

/**
 * Wraps QEMU's command line so that it runs in a new mount namespace with the share prepared, at
 * CPU priority `nice` (every QEMU thread inherits it; promote() lifts it when a pod takes the VM).
 */
export function poolLaunch(mountsDir: string, sharedDir: string, nice: number): (file: string, argv: string[]) => [string, string[]] {
  return (file, argv) => ['nice', ['-n', String(nice), 'unshare', '--mount', '--propagation', 'slave', '--', 'sh', '-c', SETUP_SCRIPT, 'kata-ts-pool-vm', mountsDir, sharedDir, file, ...argv]];
}
