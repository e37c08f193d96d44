/**
 * The `delete` action, run by containerd after every shim connection closes (even after a clean
 * Shutdown) and for bundles it cannot reload. It cleans up what the container left even when the
 * daemon is gone, removes a dead shim's socket, and returns what becomes the DeleteResponse.
 * Idempotent and quick: containerd gives it 5 s.
 */
import type { ShimFlags } from './flags';
import type { CleanupResult, ShimManager } from './manager';
import type { Logger } from './logging';
import { DEFAULT_SOCKET_DIR, canConnect, removeSocket, socketAddress, socketPath } from './socket';
import { codecs } from '@kata-ts/protocol/containerd';

/** Runs `delete` and returns the DeleteResponse bytes to print. */
export async function deleteShim(manager: ShimManager, flags: ShimFlags, bundle: string, log: Logger): Promise<Uint8Array> {
  const result = await manager.cleanup(flags, bundle, log);
  await removeDeadSocket(manager, flags, bundle, log);
  return encodeDeleteResponse(result);
}

/** Removes the shim socket of this container's group when no shim answers on it. */
async function removeDeadSocket(manager: ShimManager, flags: ShimFlags, bundle: string, log: Logger): Promise<void> {
  try {
    const { groupId, ownsShim } = await manager.group(bundle, flags.id).catch(() => ({ groupId: flags.id, ownsShim: true }));
    if (!ownsShim) return;
    const address = socketAddress(flags.address, flags.namespace, groupId, DEFAULT_SOCKET_DIR);
    if (!(await canConnect(socketPath(address), 200))) await removeSocket(address);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'delete: removing the shim socket failed');
  }
}

/** The protobuf DeleteResponse containerd expects on stdout. */
export function encodeDeleteResponse(result: CleanupResult): Uint8Array {
  const ms = result.exitedAt.getTime();
  return codecs.deleteResponse.encode({
    pid: result.pid,
    exitStatus: result.exitStatus,
    exitedAt: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
  });
}
