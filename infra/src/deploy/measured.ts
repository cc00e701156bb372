/**
 * Peak resident memory (MiB) of each service, the input of the pods' memory requests: the larger of
 * the peaks under `npm run drill` (2026-12-02, every drill, 30 req/s, restarts included; and with --replicas executor=2,cache=2) and the
 * VmHWM of `npm run bench` (docs/benchmarks.md, 20 000 requests at full speed). Distiller, alerts
 * and dashboard are not on the drills' request path: their figure is VmHWM after start-up and a
 * minute of idle work on the drill stack (they hold no per-request state). Measure again after a
 * change that moves memory, and update (then `npm run k8s:render`).
 */
export const MEASURED_PEAK_RSS_MIB: Readonly<Record<string, number>> = {
  cache: 760,
  router: 622,
  compression: 352,
  executor: 655,
  "batch-accumulator": 231,
  distiller: 248,
  sink: 231,
  alerts: 136,
  dashboard: 131,
  // VmHWM after start-up and 50 model-list calls on the local stack (2026-12-02); not measured under load.
  gateway: 213,
};
