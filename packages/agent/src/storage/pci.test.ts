import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { InvalidArgumentError } from '../errors';
import { findBlockDevice, parsePciPath, pciPathToSysfs } from './pci';

describe('PCI paths', () => {
  it('parses Kata PCI paths', () => {
    expect(parsePciPath('02/03')).toEqual(['02.0', '03.0']);
    expect(parsePciPath('0a.1')).toEqual(['0a.1']);
    for (const bad of ['', '2', '02/../03', '/02', 'zz']) expect(() => parsePciPath(bad)).toThrow(InvalidArgumentError);
  });

  it('walks bridges in sysfs and finds the block device', async () => {
    const sys = mkdtempSync(path.join(os.tmpdir(), 'sysfs-'));
    try {
      const bridge = path.join(sys, 'devices/pci0000:00/0000:00:02.0');
      mkdirSync(path.join(bridge, 'pci_bus/0000:01'), { recursive: true });
      const dev = path.join(bridge, '0000:01:03.0');
      mkdirSync(path.join(dev, 'virtio4/block/vdb'), { recursive: true });
      expect(await pciPathToSysfs('02/03', sys)).toBe(dev);
      expect(await findBlockDevice(dev)).toBe('vdb');
    } finally {
      rmSync(sys, { recursive: true, force: true });
    }
  });
});
