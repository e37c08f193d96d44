import { nicArgs } from './qemu-nic-args';

describe('nicArgs', () => {
  it('a tap netdev QEMU opens by name (no scripts) and a virtio-net-pci device with the MAC at its slot', () => {
    expect(nicArgs([
      { id: 'net0', tap: 'tap0_kata', mac: '0a:58:0a:58:4d:05', vhost: false, pciSlot: 0x10 },
      { id: 'net1', tap: 'tap1_kata', mac: '02:00:00:00:00:01', vhost: true, pciSlot: 0x11 },
    ])).toEqual([
      '-netdev', 'tap,id=net0,ifname=tap0_kata,script=no,downscript=no,vhost=off',
      '-device', 'virtio-net-pci,netdev=net0,mac=0a:58:0a:58:4d:05,bus=pcie.0,addr=0x10,romfile=',
      '-netdev', 'tap,id=net1,ifname=tap1_kata,script=no,downscript=no,vhost=on',
      '-device', 'virtio-net-pci,netdev=net1,mac=02:00:00:00:00:01,bus=pcie.0,addr=0x11,romfile=',
    ]);
    expect(nicArgs([])).toEqual([]);
  });
});
