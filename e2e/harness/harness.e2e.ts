/** The harness's own promise: a private containerd leaves nothing behind, even when it crashed mid-test. */
import { NO_LEFTOVERS, PrivateContainerd, describeIfRoot, ensureTestImage, findLeftovers } from './index';

describeIfRoot('PrivateContainerd teardown', () => {
  it('removes shims, containers, mounts, cgroups and sockets after containerd was SIGKILLed', async () => {
    const image = await ensureTestImage();
    const ctd = await PrivateContainerd.start();
    try {
      await ctd.importImage(image.tarPath);
      for (const id of ['a', 'b']) {
        const result = await ctd.runContainer({ id, image: image.ref, args: ['sleep', '300'], detach: true });
        expect(result).toMatchObject({ code: 0 });
      }
      const running = await findLeftovers(ctd.footprint());
      expect(running.processes).toHaveLength(5); // containerd, 2 shims, 2 sleeps
      expect(running.mounts).toHaveLength(2); // the two rootfs overlays
      process.kill(ctd.pid, 'SIGKILL');
    } finally {
      await ctd.stop();
    }
    expect(await findLeftovers(ctd.footprint())).toEqual(NO_LEFTOVERS);
  }, 60_000);
});
