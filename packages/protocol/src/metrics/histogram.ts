/**
 * A histogram of durations in milliseconds, one series per label value (e.g. per RPC), rendered as
 * a Prometheus histogram family. Cheap to observe (a bucket scan, no allocation per call) because
 * the shim records every ttrpc call it serves and makes.
 */
import type { Family, Sample } from './exposition';

/** Kata's rpc_durations_histogram_milliseconds buckets: 1 ms doubling to about 65 s. */
export const DURATION_BUCKETS_MS: readonly number[] = Array.from({ length: 17 }, (_, i) => 2 ** i);

/** Where observations go once maxSeries label values exist. */
const OVERFLOW = 'other';

interface Series {
  counts: number[];
  sum: number;
  count: number;
}

export class DurationHistogram {
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    private readonly help: string,
    /** The label that tells series apart (Kata: `action`, the RPC's name). */
    private readonly labelName: string,
    private readonly buckets: readonly number[] = DURATION_BUCKETS_MS,
    /** Distinct label values kept; later ones are counted under "other" (bounded memory: label values may come from a peer). */
    private readonly maxSeries = 256,
  ) {}

  observe(labelValue: string, ms: number): void {
    let s = this.series.get(labelValue);
    if (!s) {
      if (this.series.size >= this.maxSeries && labelValue !== OVERFLOW) {
        this.observe(OVERFLOW, ms);
        return;
      }
      s = { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
      this.series.set(labelValue, s);
    }
    for (let i = 0; i < this.buckets.length; i++) if (ms <= this.buckets[i]!) s.counts[i]!++;
    s.sum += ms;
    s.count++;
  }

  toFamily(): Family {
    const samples: Sample[] = [];
    for (const [value, s] of this.series) {
      const labels = { [this.labelName]: value };
      this.buckets.forEach((le, i) => samples.push({ name: `${this.name}_bucket`, labels: { ...labels, le: String(le) }, value: s.counts[i]! }));
      samples.push({ name: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: s.count });
      samples.push({ name: `${this.name}_sum`, labels, value: s.sum });
      samples.push({ name: `${this.name}_count`, labels, value: s.count });
    }
    return { name: this.name, help: this.help, type: 'histogram', samples };
  }
}
