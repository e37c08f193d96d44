/** The busybox test image: built (once, cached) by scripts/build-test-image.sh as an OCI layout tar. */
import path from 'node:path';
import { runOk } from './exec';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The reference the image is imported under (index.json annotation io.containerd.image.name). */
export const TEST_IMAGE_REF = 'docker.io/library/busybox:kata-ts';

export interface TestImage {
  /** Path of the OCI image layout tarball, for `ctr images import`. */
  tarPath: string;
  ref: string;
}

/** Builds the image if the cache is stale and returns where it is. Idempotent and cheap when cached. */
export async function ensureTestImage(): Promise<TestImage> {
  const stdout = await runOk(path.join(REPO_ROOT, 'scripts', 'build-test-image.sh'), [], { timeoutMs: 120_000 });
  const tarPath = stdout.trim().split('\n').pop() ?? '';
  if (!tarPath.endsWith('.tar')) throw new Error(`build-test-image.sh printed no tar path: ${stdout}`);
  return { tarPath, ref: TEST_IMAGE_REF };
}
