/**
 * The busybox test image and the CRI pause image: built (once, cached) by scripts/build-test-image.sh
 * as OCI layout tars.
 */
import path from 'node:path';
import { runOk } from './exec';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** The reference the image is imported under (index.json annotation io.containerd.image.name). */
export const TEST_IMAGE_REF = 'docker.io/library/busybox:kata-ts';
/** The CRI sandbox image (busybox whose Cmd sleeps forever), for the CRI plugin's sandbox_image. */
export const PAUSE_IMAGE_REF = 'registry.k8s.io/pause:kata-ts';

export interface TestImage {
  /** Path of the OCI image layout tarball, for `ctr images import`. */
  tarPath: string;
  ref: string;
}

/** Builds the image if the cache is stale and returns where it is. Idempotent and cheap when cached. */
export function ensureTestImage(): Promise<TestImage> {
  return buildImage([], TEST_IMAGE_REF);
}

/** Like ensureTestImage(), for the pause image (`build-test-image.sh --pause`). */
export function ensurePauseImage(): Promise<TestImage> {
  return buildImage(['--pause'], PAUSE_IMAGE_REF);
}

async function buildImage(args: string[], ref: string): Promise<TestImage> {
  const stdout = await runOk(path.join(REPO_ROOT, 'scripts', 'build-test-image.sh'), args, { timeoutMs: 120_000 });
  const tarPath = stdout.trim().split('\n').pop() ?? '';
  if (!tarPath.endsWith('.tar')) throw new Error(`build-test-image.sh printed no tar path: ${stdout}`);
  return { tarPath, ref };
}
