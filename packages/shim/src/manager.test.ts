import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KataManager } from './manager';

describe('KataManager.group', () => {
  let dir: string;
  const bundle = (annotations: Record<string, string>) => {
    writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ ociVersion: '1.0.2', process: { args: ['true'] }, root: { path: 'rootfs' }, annotations }));
    return dir;
  };

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'kata-ts-manager-'));
  });

  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['a single container', {}, { groupId: 'c1', ownsShim: true, privateMountNamespace: true }],
    ['a CRI sandbox', { 'io.kubernetes.cri.container-type': 'sandbox', 'io.kubernetes.cri.sandbox-id': 'c1' }, { groupId: 'c1', ownsShim: true, privateMountNamespace: true }],
    ['a CRI pod container', { 'io.kubernetes.cri.container-type': 'container', 'io.kubernetes.cri.sandbox-id': 'sb' }, { groupId: 'sb', ownsShim: false, privateMountNamespace: true }],
    // CRI-O mounts rootfs itself, later, where mounts do not propagate: the daemon stays in its mount namespace.
    ['a CRI-O sandbox', { 'io.kubernetes.cri-o.ContainerType': 'sandbox', 'io.kubernetes.cri-o.SandboxID': 'c1' }, { groupId: 'c1', ownsShim: true, privateMountNamespace: false }],
    ['a CRI-O pod container', { 'io.kubernetes.cri-o.ContainerType': 'container', 'io.kubernetes.cri-o.SandboxID': 'sb' }, { groupId: 'sb', ownsShim: false, privateMountNamespace: false }],
  ])('places %s', async (_what, annotations, expected) => {
    expect(await new KataManager().group(bundle(annotations), 'c1')).toEqual(expected);
  });

  it('gives a bundle without config.json (the shim sandbox controller starting a pod) a shim of its own', async () => {
    expect(await new KataManager().group(dir, 'pod1')).toEqual({ groupId: 'pod1', ownsShim: true, privateMountNamespace: true });
  });
});
