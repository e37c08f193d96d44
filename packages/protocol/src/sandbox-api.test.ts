import { SandboxService } from './containerd';
import { CriTypeUrl, criCodecs } from './cri';

describe('containerd.runtime.sandbox.v1.Sandbox', () => {
  it('names the service and its ten methods as containerd dials them', () => {
    expect(SandboxService.name).toBe('containerd.runtime.sandbox.v1.Sandbox');
    expect(Object.values(SandboxService.methods).map((m) => m.name)).toEqual([
      'CreateSandbox', 'StartSandbox', 'Platform', 'StopSandbox', 'WaitSandbox',
      'SandboxStatus', 'PingSandbox', 'ShutdownSandbox', 'SandboxMetrics', 'UpdateSandbox',
    ]);
  });

  it('puts CreateSandbox fields at upstream field numbers (netns_path 5, annotations 6)', () => {
    const bytes = SandboxService.methods.createSandbox.requestType.encode({ sandboxId: 'p', netnsPath: '/n', annotations: { a: 'b' } });
    // field 1 (sandbox_id) "p", field 5 (netns_path) "/n", field 6 (map entry: key 1 "a", value 2 "b").
    expect(Buffer.from(bytes).toString('hex')).toBe('0a0170' + '2a022f6e' + '3206' + '0a0161' + '120162');
  });

  it('carries the CRI PodSandboxConfig under its full proto name', () => {
    const config = { hostname: 'h', metadata: { name: 'pod', namespace: 'ns', uid: 'u' }, annotations: { x: 'y' } };
    const back = criCodecs.podSandboxConfig.decode(criCodecs.podSandboxConfig.encode(config));
    expect(back).toMatchObject(config);
    expect(CriTypeUrl.PodSandboxConfig).toBe('runtime.v1.PodSandboxConfig');
  });
});
