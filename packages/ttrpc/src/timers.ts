/**
 * Node's setTimeout clamps any delay over 2^31-1 ms (about 24.8 days) to 1 ms, with a
 * TimeoutOverflowWarning: a far deadline would fire at once. timeout_nano comes straight off the wire
 * (Go peers may send anything up to 2^63 ns), so deadlines beyond the timer range are left unarmed:
 * nothing that long is ever really awaited.
 */
export const MAX_TIMER_MS = 0x7fffffff;

/** setTimeout for a deadline `ms` from now; undefined when the deadline is beyond the timer range. */
export function deadlineTimer(ms: number, onDeadline: () => void): NodeJS.Timeout | undefined {
  if (!(ms <= MAX_TIMER_MS)) return undefined;
  return setTimeout(onDeadline, Math.max(0, ms));
}
