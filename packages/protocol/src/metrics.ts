/**
 * '@kata-ts/protocol/metrics': the Prometheus text the agent's GetMetrics carries and every kata-ts
 * /metrics endpoint serves, and the procfs families they share (Kata's metric names).
 */
export {
  family, formatLabels, isMetricName, parseExposition, writeExposition,
} from './metrics/exposition';
export type { Family, FamilyType, Labels, ParseLimits, ParseResult, Sample } from './metrics/exposition';
export { DURATION_BUCKETS_MS, DurationHistogram } from './metrics/histogram';
export { netdevFamily, processFamilies } from './metrics/process-families';
