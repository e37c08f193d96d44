/**
 * Test harness shared by the integration and e2e tiers: a private containerd fixture (optionally with
 * its CRI plugin, and a CRI client), the busybox and pause test images, a `ctr events` probe, root
 * gating, and leftover checks.
 */

/**** Gating ****/
export { containerdSkipReason, describeIfRoot, describeNeeding, hostTestsRequired, itNeeding, rootSkipReason, which } from './host-requirements';

/**** Fixtures ****/
export { PrivateContainerd } from './containerd';
export type { CtrOptions, PrivateContainerdOptions, RunContainerOptions, TaskRow } from './containerd';
export type { ConfigOptions, ContainerdLayout } from './containerd-config';
export { availableContainerds, builtPeers, containerdMatrix, peerProgram, PEERS_MANIFEST } from './containerd-versions';
export type { ContainerdFlavour } from './containerd-versions';
export type { CriDaemon } from './cri-daemon';
export { EventWatcher } from './ctr-events';
export { PAUSE_IMAGE_REF, TEST_IMAGE_REF, ensurePauseImage, ensureTestImage } from './test-image';
export { CRI_NAMESPACE } from './cri-config';
export type { CriOptions, CriRuntime } from './cri-config';
export { CriClient } from './cri-client';
export type { TestImage } from './test-image';

/**** Host inspection and cleanup ****/
export { NO_LEFTOVERS, findLeftovers } from './leftovers';
export type { Footprint, Leftovers } from './leftovers';
export { isAlive, listeningPids, mountsUnder, processArgv } from './procfs';
export { waitUntil } from './teardown';
export { CommandError, run, runOk } from './exec';
export type { CommandResult, RunOptions } from './exec';

/**** kata-ts as installed ****/
export { INSTALLED_ASSETS, INSTALLED_CONFIGS, KATA_STATE_DIR, kataSkipReason, readGuestManifest } from './kata-install';
export type { GuestManifest } from './kata-install';
export { INSTALLED_DEFAULTS, KATA_RUNTIME, KataCtr, describeKata, installedConfigWith, okStdout, sandboxFootprint, settledLeftovers } from './kata-ctr';

/**** nerdctl ****/
export { CNI_BIN_DIR, Nerdctl } from './nerdctl';
export type { NerdctlOptions, NerdctlRunOptions } from './nerdctl';

/**** CRI-O ****/
export { CRIO_KATA_HANDLER, CrioDaemon, crioSkipReason, startCrio } from './crio';
export type { CrioLayout, CrioOptions } from './crio';
export { kataCtrSuite, type KataSuite } from './kata-suite';
