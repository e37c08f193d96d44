import { FailedPreconditionError } from '../errors';
import { CREATED, ContainerState, PAUSED, RUNNING, StateHost, STOPPED } from './state';

function host(): StateHost & { state: ContainerState; calls: string[] } {
  const h = {
    id: 'c1',
    state: CREATED,
    calls: [] as string[],
    doStart: async () => void h.calls.push('start'),
    doPause: async () => void h.calls.push('pause'),
    doResume: async () => void h.calls.push('resume'),
    transition: (to: ContainerState) => void (h.state = to),
  };
  return h;
}

describe('container states', () => {
  it('created → running → paused → running → stopped', async () => {
    const h = host();
    await h.state.start(h);
    expect(h.state).toBe(RUNNING);
    await h.state.pause(h);
    expect(h.state).toBe(PAUSED);
    await h.state.resume(h);
    expect(h.state).toBe(RUNNING);
    h.state.exited(h);
    expect(h.state).toBe(STOPPED);
    expect(h.calls).toEqual(['start', 'pause', 'resume']);
  });

  it.each([
    ['start', RUNNING], ['start', PAUSED], ['start', STOPPED], ['pause', CREATED], ['pause', PAUSED], ['pause', STOPPED],
    ['resume', CREATED], ['resume', RUNNING], ['resume', STOPPED],
  ] as const)('refuses %s in %s state', async (op, state) => {
    const h = host();
    h.state = state;
    await expect(state[op](h)).rejects.toBeInstanceOf(FailedPreconditionError);
    expect(h.calls).toEqual([]);
  });

  it('allows exec only while running and updates until stopped', () => {
    const h = host();
    expect(() => RUNNING.checkExec(h)).not.toThrow();
    for (const s of [CREATED, PAUSED, STOPPED]) expect(() => s.checkExec(h)).toThrow(FailedPreconditionError);
    for (const s of [CREATED, RUNNING, PAUSED]) expect(() => s.checkUpdate(h)).not.toThrow();
    expect(() => STOPPED.checkUpdate(h)).toThrow(FailedPreconditionError);
  });
});
