import { loadConfig, parseCmdline, parseListen, UsageError } from './config';

describe('config', () => {
  it('parses listen addresses', () => {
    expect(parseListen('unix:/run/a.sock')).toEqual({ kind: 'unix', path: '/run/a.sock' });
    expect(parseListen('vsock:1024')).toEqual({ kind: 'vsock', port: 1024 });
    expect(parseListen('vsock://-1:1024')).toEqual({ kind: 'vsock', port: 1024 });
    expect(parseListen('virtio-serial:agent.channel.0')).toEqual({ kind: 'virtio-serial', name: 'agent.channel.0' });
    expect(() => parseListen('tcp:1')).toThrow();
  });

  it('reads Kata kernel parameters', () => {
    expect(parseCmdline('console=ttyS0 agent.log=debug agent.hotplug_timeout=5 quiet')).toEqual({ logLevel: 'debug', hotplugTimeoutSec: 5 });
    expect(parseCmdline('agent.server_addr=vsock://-1:2000').listen?.[0]).toEqual({ kind: 'vsock', port: 2000 });
  });

  it('runs crun at fixed addresses only when the kernel command line asks (the shim does under TCG)', () => {
    expect(loadConfig([], {}, () => 'quiet kata_ts.crun_fixed_layout=1', true).crunFixedLayout).toBe(true);
    expect(loadConfig([], {}, () => 'kata_ts.crun_fixed_layout=0', true).crunFixedLayout).toBe(false);
    expect(loadConfig([], {}, () => 'quiet', true).crunFixedLayout).toBe(false);
  });

  it('defaults to guest mode on virtio-serial and vsock with Kata paths', () => {
    const c = loadConfig([], {}, () => 'agent.log=warn', true);
    expect(c.mode).toBe('guest');
    expect(c.logLevel).toBe('warn');
    expect(c.listen).toEqual([{ kind: 'virtio-serial', name: 'agent.channel.0' }, { kind: 'vsock', port: 1024 }]);
    expect(c.sharedDir).toBe('/run/kata-containers/shared/containers');
    expect(c.copyFileRoots).toEqual(['/run/kata-containers/shared/containers']);
  });

  it('is in host mode with a unix socket and ignores the kernel command line there', () => {
    const c = loadConfig(['--listen', 'unix:/tmp/a.sock', '--kata-root=/tmp/k'], {}, () => 'agent.log=trace');
    expect(c.mode).toBe('host');
    expect(c.logLevel).toBe('info');
    expect(c.sharedDir).toBe('/tmp/k/shared/containers');
  });

  it('refuses guest mode by default when not started by init (a host is no guest)', () => {
    expect(() => loadConfig([], {}, () => '', false)).toThrow(/refusing guest mode/);
    expect(loadConfig(['--mode', 'guest'], {}, () => '', false).mode).toBe('guest');
  });

  it('refuses unknown options', () => {
    expect(() => loadConfig(['--bogus', '1'], {}, () => '')).toThrow(UsageError);
    expect(() => loadConfig(['--mode', 'x'], {}, () => '')).toThrow(UsageError);
  });
});
