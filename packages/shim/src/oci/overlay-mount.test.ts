import { overlayForGuest, splitLowerdirs } from './overlay-mount';

describe('overlay mounts of host directories', () => {
  const share = async (dir: string) => `/run/kata-containers/shared/containers/c-${dir.split('/').pop()}`;

  it('shares each lower directory and assembles the overlay from the guest paths (CRI-O image volume)', async () => {
    const m = { destination: '/mnt/image', type: 'overlay', source: 'overlay', options: ['lowerdir=/var/lib/containers/storage/overlay/abc/merged:/run/crio/image-volumes'] };
    expect(await overlayForGuest(m, share)).toEqual({
      destination: '/mnt/image', type: 'overlay', source: 'overlay',
      options: ['lowerdir=/run/kata-containers/shared/containers/c-merged:/run/kata-containers/shared/containers/c-image-volumes'],
    });
  });

  it('keeps escaped colons inside one directory', () => {
    expect(splitLowerdirs('/a\\:b:/c')).toEqual(['/a\\:b', '/c']);
  });

  it('refuses a writable overlay, a relative lower directory and an overlay without one', async () => {
    await expect(overlayForGuest({ destination: '/m', type: 'overlay', options: ['lowerdir=/a', 'upperdir=/u', 'workdir=/w'] }, share)).rejects.toThrow(/writable overlay/);
    await expect(overlayForGuest({ destination: '/m', type: 'overlay', options: ['lowerdir=a'] }, share)).rejects.toThrow(/not an absolute path/);
    await expect(overlayForGuest({ destination: '/m', type: 'overlay', options: ['ro'] }, share)).rejects.toThrow(/no lowerdir/);
  });
});
