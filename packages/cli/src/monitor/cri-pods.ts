/**
 * The CRI's view of the pods (ListPodSandbox), for the labels kata-monitor adds to a sandbox's
 * metrics: cri_uid, cri_name, cri_namespace. Pods made without the CRI (ctr run, nerdctl) are not
 * there and get no such labels. A CRI that does not answer leaves the last answer in place.
 */
import * as grpc from '@grpc/grpc-js';
import { RuntimeService } from '@kata-ts/protocol/cri';

export interface CriPod {
  name: string;
  namespace: string;
  uid: string;
}

export class CriPods {
  private readonly client: grpc.Client;
  private pods = new Map<string, CriPod>();
  private lastError: string | undefined;

  /** `endpoint`: the CRI's unix socket path (containerd's or CRI-O's). */
  constructor(readonly endpoint: string, private readonly timeoutMs = 2_000) {
    this.client = new grpc.Client(`unix:${endpoint}`, grpc.credentials.createInsecure());
  }

  /** The pod of a sandbox id, as of the last refresh. */
  get(sandboxId: string): CriPod | undefined {
    return this.pods.get(sandboxId);
  }

  /** Why the last refresh failed, if it did. */
  get error(): string | undefined {
    return this.lastError;
  }

  /** Asks the CRI again; keeps the previous answer when it cannot. */
  async refresh(): Promise<void> {
    const method = RuntimeService.methods.listPodSandbox;
    try {
      const reply = await new Promise<ReturnType<typeof method.responseType.decode>>((resolve, reject) => {
        this.client.makeUnaryRequest(`/${RuntimeService.name}/${method.name}`, (m: object) => Buffer.from(method.requestType.encode(m as never)),
          (b: Buffer) => method.responseType.decode(b), {}, new grpc.Metadata(), { deadline: Date.now() + this.timeoutMs },
          (err, res) => (err ? reject(new Error(err.details || err.message)) : resolve(res!)));
      });
      const pods = new Map<string, CriPod>();
      for (const item of reply.items ?? []) {
        if (!item.id) continue;
        pods.set(item.id, { name: item.metadata?.name ?? '', namespace: item.metadata?.namespace ?? '', uid: item.metadata?.uid ?? '' });
      }
      this.pods = pods;
      this.lastError = undefined;
    } catch (err) {
      this.lastError = (err as Error).message;
    }
  }

  close(): void {
    this.client.close();
  }
}
