import { AnalyticsInputError } from "./errors.ts";

/** What every report, API call and chart is restricted to. Times are whole seconds, UTC. */
export interface Filters {
  readonly since: Date;
  readonly until: Date;
  readonly tenant?: string | undefined;
  readonly useCase?: string | undefined;
}

const UNIT_SECONDS: Record<string, number> = { m: 60, h: 3_600, d: 86_400, w: 7 * 86_400 };

/**
 * `--since`: a duration back from `now` ("90m", "24h", "30d", "2w") or a date/time ("2025-06-01",
 * "2025-06-01T12:00:00Z"; without a zone it is UTC). The result is truncated to the second.
 */
export function parseSince(text: string, now: Date): Date {
  const t = text.trim();
  const rel = /^(\d+)\s*([mhdw])$/.exec(t);
  if (rel) {
    const seconds = Number(rel[1]) * UNIT_SECONDS[rel[2]!]!;
    if (seconds <= 0) throw new AnalyticsInputError(`--since ${JSON.stringify(text)} must be a positive duration`);
    return wholeSeconds(new Date(now.getTime() - seconds * 1000));
  }
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(t)) {
    const iso = t.replace(" ", "T");
    const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(iso) ? iso : iso.length === 10 ? `${iso}T00:00:00Z` : `${iso}Z`;
    const d = new Date(zoned);
    if (!Number.isNaN(d.getTime())) {
      if (d.getTime() > now.getTime()) throw new AnalyticsInputError(`--since ${JSON.stringify(text)} is in the future`);
      return wholeSeconds(d);
    }
  }
  throw new AnalyticsInputError(`invalid --since ${JSON.stringify(text)}: use a duration such as 24h, 30d, 2w or a date such as 2025-06-01`);
}

export function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

export function makeFilters(opts: { since?: string | undefined; tenant?: string | undefined; useCase?: string | undefined }, now: Date, defaultSince = "30d"): Filters {
  const since = parseSince(opts.since ?? defaultSince, now);
  const nonEmpty = (v: string | undefined, flag: string) => {
    if (v === undefined) return undefined;
    if (v.trim() === "") throw new AnalyticsInputError(`${flag} must not be empty`);
    return v;
  };
  // `until` is the next whole second so rows written during the current second are included.
  return { since, until: new Date(wholeSeconds(now).getTime() + 1000), tenant: nonEmpty(opts.tenant, "--tenant"), useCase: nonEmpty(opts.useCase, "--use-case") };
}
