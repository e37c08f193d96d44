import { OciTypeUrl, packAny, packJsonAny, typeUrlMatches, unpackAny, unpackJsonAny, TypeUrlError } from './typeurl';
import { TaskEvents, codecs, containerd } from './containerd';

describe('typeurl', () => {
  it('packs and unpacks a task event under its containerd type URL', () => {
    const exit = { containerId: 'c1', id: 'c1', pid: 42, exitStatus: 137, exitedAt: { seconds: 1700000000, nanos: 5 } };
    const any = packAny(TaskEvents.TaskExit.typeUrl, TaskEvents.TaskExit.codec, exit);
    expect(any.type_url).toBe('containerd.events.TaskExit');
    const back = unpackAny(any, 'containerd.events.TaskExit', TaskEvents.TaskExit.codec);
    expect(back).toMatchObject({ containerId: 'c1', pid: 42, exitStatus: 137 });
    // 64-bit fields come back as plain numbers, not Long objects.
    expect(typeof back.exitedAt?.seconds).toBe('number');
    expect(back.exitedAt?.seconds).toBe(1700000000);
  });

  it('refuses an Any of another type', () => {
    const any = packAny(TaskEvents.TaskOOM.typeUrl, TaskEvents.TaskOOM.codec, { containerId: 'x' });
    expect(() => unpackAny(any, 'containerd.events.TaskExit', TaskEvents.TaskExit.codec)).toThrow(TypeUrlError);
  });

  it('round-trips the JSON-encoded OCI Process', () => {
    const process = { args: ['sh', '-c', 'echo hi'], cwd: '/', env: ['PATH=/bin'], terminal: false, user: { uid: 0, gid: 0 } };
    const any = packJsonAny(OciTypeUrl.Process, process);
    expect(unpackJsonAny(any, OciTypeUrl.Process)).toEqual(process);
    expect(() => unpackJsonAny({ type_url: OciTypeUrl.Process, value: Buffer.from('{not json') }, OciTypeUrl.Process)).toThrow(TypeUrlError);
  });

  it('tolerates a host prefix on protobuf type URLs only', () => {
    expect(typeUrlMatches('type.googleapis.com/runtimeoptions.v1.Options', 'runtimeoptions.v1.Options')).toBe(true);
    expect(typeUrlMatches('evil/Process', OciTypeUrl.Process)).toBe(false);
  });

  it('decodes runtime options that ctr sends for non-runc runtimes', () => {
    const bytes = codecs.runtimeOptions.encode({ typeUrl: '', configPath: '/etc/kata-ts/configuration.toml' });
    expect(codecs.runtimeOptions.decode(bytes).configPath).toBe('/etc/kata-ts/configuration.toml');
  });

  it('encodes a CreateTaskRequest with the upstream field numbers', () => {
    const bytes = containerd.task.v2.CreateTaskRequest.encode({ id: 'a', bundle: 'b', terminal: true }).finish();
    // field 1 (id) len 1 'a', field 2 (bundle) len 1 'b', field 4 (terminal) varint 1
    expect(Buffer.from(bytes).toString('hex')).toBe('0a01611201622001');
  });
});
