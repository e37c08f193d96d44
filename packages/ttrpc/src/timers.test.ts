import { MAX_TIMER_MS, deadlineTimer } from './timers';

describe('deadlineTimer', () => {
  it('arms deadlines within setTimeout range', async () => {
    const fired = await new Promise<boolean>((resolve) => deadlineTimer(5, () => resolve(true)));
    expect(fired).toBe(true);
  });

  it('leaves a deadline past 2^31-1 ms unarmed instead of firing it at once', async () => {
    const onDeadline = jest.fn();
    expect(deadlineTimer(MAX_TIMER_MS + 1, onDeadline)).toBeUndefined();
    expect(deadlineTimer(2 ** 62 / 1e6, onDeadline)).toBeUndefined();
    expect(deadlineTimer(NaN, onDeadline)).toBeUndefined();
    await new Promise((r) => setTimeout(r, 20));
    expect(onDeadline).not.toHaveBeenCalled();
  });
});
