/**
 * ttrpc-ts against real Go ttrpc peers on this host: the containerd-shim-runc-v2 that a private
 * containerd 1.6 starts for a running container, and containerd's own ttrpc events service.
 * Needs root and containerd (e2e/harness gates it); nothing here is mocked.
 */
import { Client, Code, ServiceClient, TtrpcError, createServiceClient, isTtrpcError, method, protobufCodec } from 'ttrpc-ts';
import { packAny } from '@kata-ts/protocol';
import { EventsService, TaskEvents, TaskService, containerd, google } from '@kata-ts/protocol/containerd';
import {
  EventWatcher, NO_LEFTOVERS, PrivateContainerd, type TestImage, describeIfRoot, ensureTestImage, findLeftovers, isAlive,
  listeningPids, processArgv, waitUntil,
} from '../../../e2e/harness';

const Status = containerd.v1.types.Status;
const SIGKILL = 9;
const CALL = { timeoutMs: 5_000 };
const NAMESPACE_KEY = 'containerd-namespace-ttrpc';
const empty = protobufCodec(google.protobuf.Empty);

/** A google.protobuf.Timestamp for a JS time. */
function timestamp(ms: number): { seconds: number; nanos: number } {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

/** The error a call rejected with; fails if it resolved. */
async function rejection(call: Promise<unknown>): Promise<TtrpcError> {
  const outcome = await call.then(() => undefined, (err: unknown) => err);
  if (!isTtrpcError(outcome)) throw new Error(`expected a TtrpcError, got ${String(outcome)}`);
  return outcome;
}

describeIfRoot('ttrpc-ts interop with containerd 1.6 and containerd-shim-runc-v2', () => {
  const SLEEPER = 'interop-sleeper';
  let ctd: PrivateContainerd | undefined;
  let image: TestImage;
  const clients: Client[] = [];

  const fixture = (): PrivateContainerd => {
    if (!ctd) throw new Error('containerd fixture did not start');
    return ctd;
  };

  /** A ttrpc-ts connection carrying the fixture's namespace, closed in afterAll. */
  async function connect(socket: string): Promise<Client> {
    const client = await Client.connect(socket, { timeoutMs: 5_000, metadata: { [NAMESPACE_KEY]: fixture().namespace } });
    clients.push(client);
    return client;
  }

  async function startSleeper(id: string): Promise<void> {
    const result = await fixture().runContainer({ id, image: image.ref, args: ['sleep', '300'], detach: true });
    if (result.code !== 0) throw new Error(`ctr run ${id}: ${result.stderr}`);
  }

  beforeAll(async () => {
    image = await ensureTestImage();
    ctd = await PrivateContainerd.start();
    await ctd.importImage(image.tarPath);
    await startSleeper(SLEEPER);
  }, 60_000);

  afterAll(async () => {
    for (const client of clients) client.close();
    if (!ctd) return;
    await ctd.stop();
    expect(await findLeftovers(ctd.footprint())).toEqual(NO_LEFTOVERS);
  }, 60_000);

  describe('the runc shim (containerd.task.v2.Task)', () => {
    let socket: string;
    let client: Client;
    let task: ServiceClient<typeof TaskService>;

    beforeAll(async () => {
      socket = fixture().shimSocket(SLEEPER);
      client = await connect(socket);
      task = createServiceClient(client, TaskService);
    });

    it('State agrees with ctr task ls', async () => {
      const [row] = (await fixture().tasks()).filter((t) => t.id === SLEEPER);
      const state = await task.state({ id: SLEEPER }, CALL);
      expect(row).toEqual({ id: SLEEPER, pid: state.pid, status: Status[state.status] });
      expect(state).toMatchObject({ id: SLEEPER, bundle: fixture().bundleDir(SLEEPER), status: Status.RUNNING, exitStatus: 0, terminal: false });
      expect(state.pid).toBeGreaterThan(0);
    });

    it('Pids lists the task pid', async () => {
      const [row] = (await fixture().tasks()).filter((t) => t.id === SLEEPER);
      const { processes } = await task.pids({ id: SLEEPER }, CALL);
      expect(processes.map((p) => p.pid)).toContain(row?.pid);
    });

    it('Connect names the shim (the process listening on its socket) and the task pid', async () => {
      const [row] = (await fixture().tasks()).filter((t) => t.id === SLEEPER);
      const res = await task.connect({ id: SLEEPER }, CALL);
      expect(await listeningPids(socket)).toEqual([res.shimPid]);
      const argv = await processArgv(res.shimPid);
      expect(argv[0]).toMatch(/containerd-shim-runc-v2$/);
      expect(argv).toEqual(expect.arrayContaining(['-id', SLEEPER]));
      expect(res.taskPid).toBe(row?.pid);
      expect(await isAlive(res.taskPid)).toBe(true);
    });

    it.each([
      {
        name: 'State of an unknown container',
        call: () => task.state({ id: 'no-such-container' }, CALL),
        code: Code.NOT_FOUND, message: /container not created/,
      },
      {
        name: 'an unknown method',
        call: () => client.unary(TaskService.name, method('NoSuchMethod', empty, empty), {}, CALL),
        code: Code.UNIMPLEMENTED, message: /^method NoSuchMethod$/,
      },
      {
        name: 'an unknown service',
        call: () => client.unary('containerd.task.v9.Task', method('State', empty, empty), {}, CALL),
        code: Code.UNIMPLEMENTED, message: /^service containerd\.task\.v9\.Task$/,
      },
    ])('answers $name with its status, decoded', async ({ call, code, message }) => {
      const err = await rejection(call());
      expect(err).toBeInstanceOf(TtrpcError);
      expect(err.code).toBe(code);
      expect(err.message).toMatch(message);
      // an error status ends only its call, not the connection
      await expect(task.connect({ id: SLEEPER }, CALL)).resolves.toMatchObject({ taskPid: expect.any(Number) });
    });
  });

  describe("containerd's events service (containerd.services.events.ttrpc.v1.Events)", () => {
    let events: ServiceClient<typeof EventsService>;
    const oom = (containerId: string) => packAny(TaskEvents.TaskOOM.typeUrl, TaskEvents.TaskOOM.codec, { containerId });

    beforeAll(async () => {
      events = createServiceClient(await connect(fixture().layout.ttrpcAddress), EventsService);
    });

    it('takes a forwarded TaskOOM envelope, and ctr events shows it', async () => {
      const watcher = await EventWatcher.start(fixture());
      try {
        const envelope = { timestamp: timestamp(Date.now()), namespace: fixture().namespace, topic: TaskEvents.TaskOOM.topic, event: oom(SLEEPER) };
        await events.forward({ envelope }, CALL);
        const line = await watcher.waitFor((l) => l.includes(' /tasks/oom ') && l.includes(SLEEPER), 5_000);
        expect(line).toContain(` ${fixture().namespace} /tasks/oom {"container_id":"${SLEEPER}"}`);
      } finally {
        await watcher.stop();
      }
    }, 20_000);

    it.each([
      { name: 'no timestamp', envelope: { topic: '/tasks/oom' }, message: /^timestamp must be set on forwarded event/ },
      { name: 'a topic without a leading slash', envelope: { timestamp: timestamp(Date.now()), topic: 'tasks/oom' }, message: /must start with '\/'/ },
      { name: 'an invalid namespace', envelope: { timestamp: timestamp(Date.now()), topic: '/tasks/oom', namespace: 'not a namespace!' }, message: /invalid namespace/ },
    ])('refuses an envelope with $name: INVALID_ARGUMENT, decoded', async ({ envelope, message }) => {
      const err = await rejection(events.forward({ envelope: { namespace: fixture().namespace, event: oom(SLEEPER), ...envelope } }, CALL));
      expect(err).toBeInstanceOf(TtrpcError);
      expect(err.code).toBe(Code.INVALID_ARGUMENT);
      expect(err.message).toMatch(message);
    });
  });

  describe('a Wait parked on a shim connection', () => {
    const WAITER = 'interop-waiter';

    it('returns exit status 137 after a Kill sent on the same connection', async () => {
      await startSleeper(WAITER);
      const socket = fixture().shimSocket(WAITER);
      const client = await connect(socket);
      const task = createServiceClient(client, TaskService);

      // A Wait that gives up locally: the shim answers it only at exit, on a stream the client has dropped.
      const gaveUp = await rejection(task.wait({ id: WAITER }, { timeoutMs: 200 }));
      expect(gaveUp.code).toBe(Code.DEADLINE_EXCEEDED);

      let answered = false;
      const waiting = task.wait({ id: WAITER });
      void waiting.finally(() => (answered = true)).catch(() => undefined);
      // State goes out after Wait on the same connection; its answer proves the shim holds the Wait.
      await expect(task.state({ id: WAITER }, CALL)).resolves.toMatchObject({ status: Status.RUNNING });
      expect(answered).toBe(false);
      expect(client.pendingCalls).toBe(1);

      await task.kill({ id: WAITER, signal: SIGKILL }, CALL);
      const exit = await waiting;
      expect(exit.exitStatus).toBe(128 + SIGKILL);
      expect(exit.exitedAt?.seconds).toBeGreaterThan(0);
      expect((await fixture().tasks()).find((t) => t.id === WAITER)).toMatchObject({ status: 'STOPPED' });
      // Both Waits were answered; the late answer to the abandoned one did not disturb the connection.
      await expect(task.state({ id: WAITER }, CALL)).resolves.toMatchObject({ status: Status.STOPPED, exitStatus: 137 });

      // Deleting the task makes containerd shut the shim down: our connection closes, the socket goes.
      await fixture().ctrOk(['task', 'delete', WAITER]);
      await fixture().ctrOk(['containers', 'delete', WAITER]);
      expect(await waitUntil(() => client.isClosed, 5_000)).toBe(true);
      expect(await waitUntil(async () => (await listeningPids(socket)).length === 0, 5_000)).toBe(true);
    }, 30_000);
  });
});
