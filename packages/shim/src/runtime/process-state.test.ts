import { STATES, type ProcessOps, type ProcessStatus } from './process-state';

function ops(): ProcessOps & { log: string[]; status: ProcessStatus } {
  const o = {
    log: [] as string[],
    status: 'created' as ProcessStatus,
    description: 'container c',
    launch: async () => void o.log.push('launch'),
    freeze: async () => void o.log.push('freeze'),
    thaw: async () => void o.log.push('thaw'),
    signal: async (s: number) => void o.log.push(`signal ${s}`),
    watchUnstarted: () => void o.log.push('watch'),
    remove: async () => void o.log.push('remove'),
    transition: (next: ProcessStatus) => void (o.status = next),
  };
  return o;
}

describe('process states', () => {
  it.each([
    ['created', 'pause', /cannot pause container c in created state/],
    ['created', 'resume', /cannot resume/],
    ['running', 'start', /cannot start/],
    ['running', 'delete', /cannot delete container c in running state/],
    ['paused', 'pause', /cannot pause/],
    ['stopped', 'start', /cannot start/],
    ['stopped', 'resume', /cannot resume/],
  ] as const)('%s refuses %s', async (status, action, message) => {
    const o = ops();
    await expect((STATES[status][action] as (p: ProcessOps) => Promise<void>)(o)).rejects.toThrow(message);
    expect(o.log).toEqual([]);
  });

  it('walks created → running → paused → running → stopped → deleted', async () => {
    const o = ops();
    await STATES.created.start(o);
    expect(o.status).toBe('running');
    await STATES.running.pause(o);
    expect(o.status).toBe('paused');
    await STATES.paused.resume(o);
    await STATES.running.kill(o, 10, false);
    STATES.running.exited(o);
    expect(o.status).toBe('stopped');
    await STATES.stopped.delete(o);
    expect(o.status).toBe('deleted');
    // Only a created process needs its exit watched after a signal: a started one has its watcher.
    expect(o.log).toEqual(['launch', 'freeze', 'thaw', 'signal 10', 'remove']);
  });

  it('accepts SIGKILL/SIGTERM on a finished process, NOT_FOUND otherwise, and NOT_FOUND once deleted', async () => {
    const o = ops();
    await expect(STATES.stopped.kill(o, 9, false)).resolves.toBeUndefined();
    await expect(STATES.stopped.kill(o, 1, false)).rejects.toMatchObject({ name: 'NotFoundError' });
    await expect(STATES.deleted.kill(o, 9, false)).rejects.toMatchObject({ name: 'NotFoundError' });
    await STATES.created.kill(o, 15, false);
    expect(o.log).toEqual(['signal 15', 'watch']);
  });
});
