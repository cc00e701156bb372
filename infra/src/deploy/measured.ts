/**
 * Peak resident memory (MiB) of each service, measured by `npm run drill` (every drill, the whole
 * pipeline under load on the drill stack; alerts and dashboard idle under `npm start`), the input
 * of the pods' memory requests. Measure again after a change that moves memory, and update.
 */
export const MEASURED_PEAK_RSS_MIB: Readonly<Record<string, number>> = {};
