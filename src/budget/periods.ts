import type { BudgetPeriodKind } from './types';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone, hourCycle: 'h23',
      year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric',
    });
    formatters.set(timezone, f);
  }
  return f;
}

/** The wall-clock date and time of `at` in `timezone`, as if it were UTC (ms). */
function wallClock(at: number, timezone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatter(timezone).formatToParts(at)) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  return Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
}

const HOUR = 3_600_000;

/**
 * The instant at which the wall clock in `timezone` shows local midnight of the given date.
 * Like Postgres's `timestamp AT TIME ZONE`: an ambiguous time takes the earlier instant, a time in a
 * DST gap is read with the offset in force before the gap.
 */
function localMidnight(year: number, month: number, day: number, timezone: string): Date {
  const local = Date.UTC(year, month, day);
  const before = wallClock(local - 12 * HOUR, timezone) - (local - 12 * HOUR);
  const after = wallClock(local + 12 * HOUR, timezone) - (local + 12 * HOUR);
  const candidates = [local - before, local - after].filter((t) => wallClock(t, timezone) === local);
  return new Date(candidates.length ? Math.min(...candidates) : local - before);
}

/** The period of kind `period` containing `at`: from local midnight (Monday for a week, the 1st for a month). */
export function periodBounds(period: BudgetPeriodKind, at: Date, timezone: string): { start: Date; end: Date } {
  const wall = new Date(wallClock(at.getTime(), timezone));
  const [y, m, d] = [wall.getUTCFullYear(), wall.getUTCMonth(), wall.getUTCDate()];
  switch (period) {
    case 'day':
      return { start: localMidnight(y, m, d, timezone), end: localMidnight(y, m, d + 1, timezone) };
    case 'week': {
      const monday = d - ((wall.getUTCDay() + 6) % 7);
      return { start: localMidnight(y, m, monday, timezone), end: localMidnight(y, m, monday + 7, timezone) };
    }
    case 'month':
      return { start: localMidnight(y, m, 1, timezone), end: localMidnight(y, m + 1, 1, timezone) };
  }
}

/** True when Intl (and so the periods) knows this IANA time zone. */
export function isTimezone(timezone: string): boolean {
  try {
    formatter(timezone);
    return true;
  } catch {
    return false;
  }
}
