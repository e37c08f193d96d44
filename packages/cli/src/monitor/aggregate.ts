/**
 * One scrape of every sandbox, merged into one exposition: a family's samples from all shims under
 * one HELP/TYPE (Prometheus rejects a family declared twice), each sample labelled with its sandbox
 * and, for a CRI pod, the pod's uid, name and namespace (kata-monitor's cri_* labels).
 */
import { DurationHistogram, family, parseExposition, writeExposition, type Family } from '@kata-ts/protocol/metrics';
import type { CriPod } from './cri-pods';

/** One shim's answer, or why there was none. */
export interface ShimScrape {
  sandboxId: string;
  text?: string;
  error?: string;
  ms: number;
  pod?: CriPod;
}

/** What the monitor keeps across scrapes (its own kata_monitor_* families). */
export class MonitorCounters {
  scrapes = 0;
  failures = 0;
  readonly durations = new DurationHistogram('kata_monitor_scrape_durations_histogram_milliseconds', 'Time to scrape one shim, in milliseconds', 'result');

  families(results: readonly ShimScrape[]): Family[] {
    return [
      family('kata_monitor_running_shim_count', 'Sandboxes whose shim serves a monitor endpoint', 'gauge', [[{}, results.length]]),
      family('kata_monitor_scrape_count', 'Shim scrapes made', 'counter', [[{}, this.scrapes]]),
      family('kata_monitor_scrape_failed_count', 'Shim scrapes that failed (no answer in time, or an error)', 'counter', [[{}, this.failures]]),
      this.durations.toFamily(),
      family('kata_monitor_sandbox_up', 'Whether the sandbox\'s shim answered this scrape', 'gauge',
        results.map((r) => [{ sandbox_id: r.sandboxId, ...criLabels(r.pod) }, r.text !== undefined ? 1 : 0])),
    ];
  }

  record(result: ShimScrape): void {
    this.scrapes++;
    if (result.text === undefined) this.failures++;
    this.durations.observe(result.text === undefined ? 'failed' : 'ok', result.ms);
  }
}

function criLabels(pod: CriPod | undefined): Record<string, string> {
  return pod ? { cri_uid: pod.uid, cri_name: pod.name, cri_namespace: pod.namespace } : {};
}

/**
 * Merges the shims' texts and the monitor's own families. `only`: keep just these family names
 * (kata-monitor's ?filter_family=, matched as prefixes).
 */
export function mergeScrapes(results: readonly ShimScrape[], own: Family[], only?: readonly string[]): string {
  const merged = new Map<string, Family>();
  for (const f of own) merged.set(f.name, f);
  for (const r of results) {
    if (r.text === undefined) continue;
    for (const f of parseExposition(r.text).families) {
      let into = merged.get(f.name);
      if (!into) {
        into = { name: f.name, help: f.help, type: f.type, samples: [] };
        merged.set(f.name, into);
      }
      if (into.type !== f.type) continue; // two shim versions disagreeing: keep the first's type
      const extra = { ...criLabels(r.pod) };
      for (const s of f.samples) into.samples.push({ ...s, labels: { sandbox_id: r.sandboxId, ...s.labels, ...extra } });
    }
  }
  let families = [...merged.values()];
  if (only && only.length > 0) families = families.filter((f) => only.some((p) => f.name.startsWith(p)));
  return writeExposition(families);
}
