/**
 * The main job, end to end: a containerd (a private instance, so the demo leaves the machine as it
 * found it) runs a busybox container with `ctr run --rm --runtime io.containerd.kata.v2`; the shim boots a
 * VM, the guest agent runs the container, and its output comes back through containerd. Prints the
 * output, the guest and host kernels, and how long the run took.
 */
import os from 'node:os';
import { PrivateContainerd, ensureTestImage } from '../../e2e/harness';

async function main(): Promise<void> {
  const image = await ensureTestImage();
  const ctd = await PrivateContainerd.start();
  try {
    await ctd.importImage(image.tarPath);
    const id = `kata-ts-demo-${process.pid}`;
    const t0 = process.hrtime.bigint();
    const result = await ctd.runContainer({
      id,
      image: image.ref,
      runtime: 'io.containerd.kata.v2',
      args: ['sh', '-c', 'echo "Hello from a container in a kata-ts VM: guest kernel $(uname -r), $(nproc) vCPU, hostname $(hostname)"'],
      timeoutMs: 180_000,
    });
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    process.stdout.write(result.stdout);
    if (result.code !== 0) {
      process.stderr.write(result.stderr);
      throw new Error(`ctr run exited ${result.code}`);
    }
    console.log(`host kernel ${os.release()}; ctr run --rm --runtime io.containerd.kata.v2 took ${seconds.toFixed(2)} s (starting and stopping its VM included)`);
  } finally {
    await ctd.stop();
  }
}

main().catch((err) => {
  console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
