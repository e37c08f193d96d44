/**
 * A minimal CRI (runtime.v1) client over gRPC, as the kubelet talks to containerd's CRI plugin: the
 * generated protobufjs codecs of '@kata-ts/protocol/cri' as (de)serializers, one unix socket, one
 * deadline per call. Only the RuntimeService calls the e2e tests use have typed methods.
 */
import * as grpc from '@grpc/grpc-js';
import { RuntimeService, pb } from '@kata-ts/protocol/cri';
import { waitUntil } from './teardown';

type Methods = typeof RuntimeService.methods;
type RequestOf<K extends keyof Methods> = Parameters<Methods[K]['requestType']['encode']>[0];
type ResponseOf<K extends keyof Methods> = ReturnType<Methods[K]['responseType']['decode']>;

/** Default deadline of a call. Creating a kata pod boots a VM: RunPodSandbox and CreateContainer get more. */
const DEFAULT_TIMEOUT_MS = 30_000;
const SLOW_TIMEOUT_MS = 180_000;

export class CriClient {
  private readonly client: grpc.Client;

  /** `socketPath`: containerd's gRPC socket (the CRI plugin serves on it). */
  constructor(socketPath: string) {
    this.client = new grpc.Client(`unix:${socketPath}`, grpc.credentials.createInsecure());
  }

  /** Calls a unary RuntimeService method. */
  call<K extends keyof Methods>(name: K, request: RequestOf<K>, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ResponseOf<K>> {
    const method = RuntimeService.methods[name];
    const serialize = (msg: RequestOf<K>) => Buffer.from(method.requestType.encode(msg as never));
    const deserialize = (buf: Buffer) => method.responseType.decode(buf) as ResponseOf<K>;
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(`/${RuntimeService.name}/${method.name}`, serialize, deserialize, request, new grpc.Metadata(),
        { deadline: Date.now() + timeoutMs }, (err, response) => {
          if (err) reject(new Error(`CRI ${method.name}: ${err.details || err.message} (grpc code ${err.code})`));
          else resolve(response as ResponseOf<K>);
        });
    });
  }

  /** Waits until the CRI plugin answers Version (it starts after containerd's gRPC server). */
  async waitReady(timeoutMs = 30_000): Promise<void> {
    let last: unknown;
    const ready = await waitUntil(async () => {
      try {
        await this.version(2_000);
        return true;
      } catch (err) {
        last = err;
        return false;
      }
    }, timeoutMs, 200);
    if (!ready) throw new Error(`CRI plugin not ready after ${timeoutMs} ms: ${String(last)}`);
  }

  version(timeoutMs?: number): Promise<ResponseOf<'version'>> {
    return this.call('version', { version: 'v1' }, timeoutMs);
  }

  /** Returns the pod sandbox id. */
  async runPodSandbox(config: pb.runtime.v1.PodSandboxConfig.$Properties, runtimeHandler: string): Promise<string> {
    return (await this.call('runPodSandbox', { config, runtimeHandler }, SLOW_TIMEOUT_MS)).podSandboxId;
  }

  stopPodSandbox(podSandboxId: string): Promise<ResponseOf<'stopPodSandbox'>> {
    return this.call('stopPodSandbox', { podSandboxId }, SLOW_TIMEOUT_MS);
  }

  removePodSandbox(podSandboxId: string): Promise<ResponseOf<'removePodSandbox'>> {
    return this.call('removePodSandbox', { podSandboxId }, SLOW_TIMEOUT_MS);
  }

  async listPodSandbox(): Promise<pb.runtime.v1.PodSandbox.$Properties[]> {
    return (await this.call('listPodSandbox', {})).items;
  }

  /** Returns the container id. */
  async createContainer(podSandboxId: string, config: pb.runtime.v1.ContainerConfig.$Properties,
    sandboxConfig: pb.runtime.v1.PodSandboxConfig.$Properties): Promise<string> {
    return (await this.call('createContainer', { podSandboxId, config, sandboxConfig }, SLOW_TIMEOUT_MS)).containerId;
  }

  startContainer(containerId: string): Promise<ResponseOf<'startContainer'>> {
    return this.call('startContainer', { containerId }, SLOW_TIMEOUT_MS);
  }

  /** `timeout` (seconds) is the grace period between SIGTERM and SIGKILL. */
  stopContainer(containerId: string, timeout = 0): Promise<ResponseOf<'stopContainer'>> {
    return this.call('stopContainer', { containerId, timeout }, SLOW_TIMEOUT_MS);
  }

  removeContainer(containerId: string): Promise<ResponseOf<'removeContainer'>> {
    return this.call('removeContainer', { containerId }, SLOW_TIMEOUT_MS);
  }

  async listContainers(filter: pb.runtime.v1.ContainerFilter.$Properties = {}): Promise<pb.runtime.v1.Container.$Properties[]> {
    return (await this.call('listContainers', { filter })).containers;
  }

  async containerStatus(containerId: string): Promise<pb.runtime.v1.ContainerStatus.$Properties> {
    const status = (await this.call('containerStatus', { containerId })).status;
    if (!status) throw new Error(`CRI ContainerStatus ${containerId}: no status in the response`);
    return status;
  }

  /** Runs a command in a container and returns its output; `timeout` in seconds (0: none). */
  async execSync(containerId: string, cmd: string[], timeout = 60): Promise<{ stdout: string; stderr: string; exitCode: number }> {
    const r = await this.call('execSync', { containerId, cmd, timeout }, (timeout + 30) * 1_000);
    return { stdout: Buffer.from(r.stdout).toString('utf8'), stderr: Buffer.from(r.stderr).toString('utf8'), exitCode: r.exitCode };
  }

  close(): void {
    this.client.close();
  }
}
