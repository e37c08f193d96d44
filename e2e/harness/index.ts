/**
 * Test harness shared by the integration and e2e tiers: a private containerd fixture, the busybox
 * test image, a `ctr events` probe, root gating, and leftover checks.
 */

/**** Gating ****/
export { containerdSkipReason, describeIfRoot, hostTestsRequired, which } from './host-requirements';

/**** Fixtures ****/
export { PrivateContainerd } from './containerd';
export type { CtrOptions, PrivateContainerdOptions, RunContainerOptions, TaskRow } from './containerd';
export type { ConfigOptions, ContainerdLayout } from './containerd-config';
export { EventWatcher } from './ctr-events';
export { TEST_IMAGE_REF, ensureTestImage } from './test-image';
export type { TestImage } from './test-image';

/**** Host inspection and cleanup ****/
export { NO_LEFTOVERS, findLeftovers } from './leftovers';
export type { Footprint, Leftovers } from './leftovers';
export { isAlive, listeningPids, mountsUnder, processArgv } from './procfs';
export { waitUntil } from './teardown';
export { CommandError, run, runOk } from './exec';
export type { CommandResult, RunOptions } from './exec';
