import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Code, Server, TtrpcError } from 'ttrpc-ts';
import { EventsService, TaskEvents } from '@kata-ts/protocol/containerd';
import { silentLogger } from './logging';
import { MAX_ATTEMPTS, QUEUE_SIZE, RemotePublisher, createPublisher, LogOnlyPublisher, taskEvent } from './publisher';

async function waitFor(cond: () => boolean, ms = 2_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('RemotePublisher', () => {
  let dir: string;
  let server: Server;
  const received: Array<{ topic: string; ns: string; md: string | undefined; ts: number; id: string }> = [];
  let failNext = 0;

  beforeEach(async () => {
    received.length = 0;
    failNext = 0;
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'kata-ts-pub-'));
    server = new Server().register(EventsService, {
      forward: (req, ctx) => {
        if (failNext > 0) {
          failNext--;
          throw new TtrpcError(Code.UNAVAILABLE, 'try later');
        }
        const env = req.envelope!;
        const ev = TaskEvents.TaskStart.codec.decode(env.event!.value!);
        received.push({ topic: env.topic!, ns: env.namespace!, md: ctx.metadata.get('containerd-namespace-ttrpc'), ts: Number(env.timestamp?.seconds), id: ev.containerId ?? '' });
        return {};
      },
    });
    await server.listen(path.join(dir, 'ttrpc.sock'));
  });

  afterEach(async () => {
    await server.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const start = (id: string) => taskEvent(TaskEvents.TaskStart, { containerId: id, pid: 1 });

  it('forwards events in order with namespace, metadata and timestamp', async () => {
    const pub = new RemotePublisher(path.join(dir, 'ttrpc.sock'), 'ns1', silentLogger());
    for (const id of ['a', 'b', 'c']) pub.publish(start(id));
    await pub.close();
    expect(received.map((r) => r.id)).toEqual(['a', 'b', 'c']);
    expect(received[0]).toMatchObject({ topic: '/tasks/start', ns: 'ns1', md: 'ns1' });
    expect(received[0]!.ts).toBeGreaterThan(1_600_000_000);
  });

  it('retries a failing event in place, so later events never overtake it', async () => {
    failNext = 2;
    const pub = new RemotePublisher(path.join(dir, 'ttrpc.sock'), 'ns', silentLogger(), { backoffMs: () => 5 });
    pub.publish(start('first'));
    pub.publish(start('second'));
    await pub.close(2_000);
    expect(received.map((r) => r.id)).toEqual(['first', 'second']);
  });

  it('evicts an event after the last attempt and goes on', async () => {
    failNext = MAX_ATTEMPTS;
    const pub = new RemotePublisher(path.join(dir, 'ttrpc.sock'), 'ns', silentLogger(), { backoffMs: () => 1 });
    pub.publish(start('dropped'));
    pub.publish(start('kept'));
    await pub.close(2_000);
    expect(received.map((r) => r.id)).toEqual(['kept']);
  });

  it('reconnects when containerd comes back', async () => {
    const sock = path.join(dir, 'late.sock');
    const pub = new RemotePublisher(sock, 'ns', silentLogger(), { backoffMs: () => 20 });
    pub.publish(start('late'));
    await new Promise((r) => setTimeout(r, 30));
    const late = new Server().register(EventsService, { forward: (req) => (received.push({ topic: req.envelope!.topic!, ns: '', md: '', ts: 0, id: 'late' }), {}) });
    await late.listen(sock);
    await pub.close(2_000);
    await late.close();
    expect(received.map((r) => r.id)).toEqual(['late']);
  });

  it('moves to a restarted containerd at once, without a failed attempt or a backoff', async () => {
    const sock = path.join(dir, 'ttrpc.sock');
    const warnings: string[] = [];
    const log = silentLogger();
    log.warn = ((_obj: unknown, msg?: string) => void warnings.push(msg ?? '')) as typeof log.warn;
    const pub = new RemotePublisher(sock, 'ns', log, { backoffMs: () => 60_000 });
    pub.publish(start('before'));
    await waitFor(() => received.length === 1);
    await server.close();
    server = new Server().register(EventsService, { forward: (req) => (received.push({ topic: req.envelope!.topic!, ns: '', md: '', ts: 0, id: 'after' }), {}) });
    await server.listen(sock);
    pub.publish(start('after'));
    await waitFor(() => received.length === 2);
    await pub.close();
    expect(received.map((r) => r.id)).toEqual(['before', 'after']);
    expect(warnings).toEqual([]);
  });

  it('has no remote publisher without TTRPC_ADDRESS (CRI-O)', () => {
    expect(createPublisher('', 'default', silentLogger())).toBeInstanceOf(LogOnlyPublisher);
    expect(createPublisher('unix:///x', 'default', silentLogger())).toBeInstanceOf(RemotePublisher);
  });
});

describe('RemotePublisher with containerd not taking events', () => {
  it('drops what does not fit its queue and logs the drops rate-limited, not once per event', () => {
    const errors: string[] = [];
    const log = { ...silentLogger(), error: (_o: object, msg: string) => void errors.push(msg), warn: () => undefined, isLevelEnabled: () => true } as unknown as ReturnType<typeof silentLogger>;
    // A dial that never answers: nothing leaves the queue.
    const pub = new RemotePublisher('/nowhere', 'ns', log, { dial: () => new Promise(() => undefined) });
    const event = taskEvent(TaskEvents.TaskOOM, { containerId: 'c1' });
    for (let i = 0; i < QUEUE_SIZE + 1000; i++) pub.publish(event);
    expect(errors.filter((m) => m === 'event queue full, event dropped')).toHaveLength(5);
  });
});
