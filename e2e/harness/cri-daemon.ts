/**
 * What a CRI scenario needs from a daemon, whichever it is (containerd's CRI plugin, CRI-O): its CRI
 * endpoint, the RuntimeClass handler that runs kata-ts, how to load an image without a registry, and
 * how to stop it and prove nothing is left. One scenario file runs against every CriDaemon.
 */
import type { Footprint } from './leftovers';

export interface CriDaemon {
  /** For test titles: "containerd 2.x (v2.4.2)", "CRI-O v1.34.0". */
  readonly label: string;
  /** The CRI endpoint, unix://<socket>, for crictl --runtime-endpoint and CriClient. */
  readonly endpoint: string;
  /** The runtime handler (RuntimeClass) configured for kata-ts. */
  readonly kataHandler: string;
  /** Loads an OCI layout tarball under `ref` (no registry is reachable). */
  importImage(tarPath: string, ref: string): Promise<void>;
  /** The last lines of the daemon's log, for failure messages. */
  logTail(lines?: number): string;
  /** What belongs to the daemon, for findLeftovers() once it stopped. */
  footprint(): Footprint;
  /** Stops the daemon (and removes pods it still has); idempotent. */
  stop(): Promise<void>;
}
