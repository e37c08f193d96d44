import { DurationHistogram } from './histogram';
import { family, parseExposition, writeExposition } from './exposition';

describe('exposition text', () => {
  it('round-trips gauges, counters and histograms with escaped labels', () => {
    const h = new DurationHistogram('kata_shim_rpc_durations_histogram_milliseconds', 'RPC durations', 'action', [1, 10]);
    h.observe('Create', 5);
    h.observe('Create', 50);
    const families = [
      family('kata_guest_load', 'Guest load\naverages', 'gauge', [[{ item: 'load1' }, 0.5], [{ item: 'q"uo\\te' }, 1]]),
      family('kata_agent_scrape_count', 'Scrapes', 'counter', [[{}, 3]]),
      h.toFamily(),
    ];
    const text = writeExposition(families);
    expect(text).toContain('kata_shim_rpc_durations_histogram_milliseconds_bucket{action="Create",le="10"} 1');
    expect(text).toContain('kata_shim_rpc_durations_histogram_milliseconds_bucket{action="Create",le="+Inf"} 2');
    expect(text).toContain('kata_shim_rpc_durations_histogram_milliseconds_sum{action="Create"} 55');
    const parsed = parseExposition(text);
    expect(parsed.dropped).toBe(0);
    expect(parsed.families).toEqual(families);
  });

  it('skips what is not exposition text and counts it, without throwing', () => {
    const text = [
      '# HELP ok_metric fine', '# TYPE ok_metric gauge', 'ok_metric{a="1"} 2',
      'bad metric name 1', '9starts_with_digit 1', 'ok_metric{a="unterminated} 1', 'ok_metric{a=1} 1',
      'ok_metric{a="1",a="2"} 1', 'ok_metric 1 notatimestamp', 'ok_metric not_a_number', '# TYPE ok_metric weird',
      'ok_metric{b="x"} +Inf 1700000000000',
    ].join('\n');
    const { families, dropped } = parseExposition(text);
    expect(dropped).toBe(8);
    expect(families).toHaveLength(1);
    expect(families[0]!.samples.map((s) => s.value)).toEqual([2, Infinity]);
  });

  it('holds a peer that is not trusted to prefixes, a sample count and label limits', () => {
    const lines = ['kata_guest_x 1', 'kata_shim_forged 1', 'other 1'];
    for (let i = 0; i < 50; i++) lines.push(`kata_guest_many{i="${i}"} ${i}`);
    lines.push(`kata_guest_labels{${Array.from({ length: 20 }, (_, i) => `l${i}="v"`).join(',')}} 1`);
    lines.push(`kata_guest_long{v="${'x'.repeat(5000)}"} 1`);
    const { families, dropped } = parseExposition(lines.join('\n'), { prefixes: ['kata_guest_', 'kata_agent_'], maxSamples: 20, maxLabels: 16, maxValueLength: 64 });
    expect(families.map((f) => f.name)).toEqual(['kata_guest_x', 'kata_guest_many']);
    expect(families.reduce((n, f) => n + f.samples.length, 0)).toBe(20);
    expect(dropped).toBe(2 + 31 + 1 + 1);
  });

  it('cuts long label values to the limit', () => {
    const { families } = parseExposition(`kata_guest_long{v="${'x'.repeat(5000)}"} 1`, { maxValueLength: 64 });
    expect(families[0]!.samples[0]!.labels.v).toHaveLength(64);
  });

  it('keeps a bounded number of histogram series', () => {
    const h = new DurationHistogram('h', 'h', 'action', [1], 2);
    for (const a of ['a', 'b', 'c', 'd']) h.observe(a, 1);
    const counts = h.toFamily().samples.filter((s) => s.name === 'h_count').map((s) => [s.labels.action, s.value]);
    expect(counts).toEqual([['a', 1], ['b', 1], ['other', 2]]);
  });
});
