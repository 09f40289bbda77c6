import type { BudgetPeriodKind } from './types';

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
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

/** A span of time a report covers, as typed: a word relative to today, a calendar month, or local days. */
export type ReportPeriod =
  | { kind: 'today' | 'yesterday' | 'week' | 'last-week' | 'month' | 'last-month' }
  | { kind: 'calendar-month'; year: number; month: number }
  | { kind: 'days'; from: LocalDate; to: LocalDate };

export interface LocalDate {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
}

/** True when the date exists in the calendar (no 30 February). */
export function isLocalDate(date: LocalDate): boolean {
  const d = new Date(Date.UTC(date.year, date.month - 1, date.day));
  return d.getUTCFullYear() === date.year && d.getUTCMonth() === date.month - 1 && d.getUTCDate() === date.day;
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0');
/** YYYY-MM-DD. */
export const isoDate = (d: LocalDate) => `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}`;

/** The local date the wall clock in `timezone` shows at `at`. */
export function localDate(at: Date, timezone: string): LocalDate {
  const wall = new Date(wallClock(at.getTime(), timezone));
  return { year: wall.getUTCFullYear(), month: wall.getUTCMonth() + 1, day: wall.getUTCDate() };
}

/**
 * The instants a report period covers, [start, end), in the workspace's timezone, and a label naming its
 * local days ("2026-12", "2026-12-05", "2026-11-30..2026-12-06").
 */
export function resolveReportPeriod(
  period: ReportPeriod,
  now: Date,
  timezone: string,
): { start: Date; end: Date; label: string } {
  const span = (start: Date, end: Date) => {
    const first = localDate(start, timezone);
    const last = localDate(new Date(end.getTime() - 1), timezone);
    const sameMonth = first.month === last.month && first.year === last.year;
    const wholeMonth = sameMonth && first.day === 1 && localDate(end, timezone).day === 1;
    const days = isoDate(first) === isoDate(last) ? isoDate(first) : `${isoDate(first)}..${isoDate(last)}`;
    const label = wholeMonth ? isoDate(first).slice(0, 7) : days;
    return { start, end, label };
  };
  const previous = (kind: BudgetPeriodKind) => {
    const current = periodBounds(kind, now, timezone);
    const before = periodBounds(kind, new Date(current.start.getTime() - 1), timezone);
    return span(before.start, before.end);
  };
  switch (period.kind) {
    case 'today':
    case 'week':
    case 'month': {
      const { start, end } = periodBounds(period.kind === 'today' ? 'day' : period.kind, now, timezone);
      return span(start, end);
    }
    case 'yesterday':
      return previous('day');
    case 'last-week':
      return previous('week');
    case 'last-month':
      return previous('month');
    case 'calendar-month':
      return span(
        localMidnight(period.year, period.month - 1, 1, timezone),
        localMidnight(period.year, period.month, 1, timezone),
      );
    case 'days': {
      const { from, to } = period;
      return span(
        localMidnight(from.year, from.month - 1, from.day, timezone),
        localMidnight(to.year, to.month - 1, to.day + 1, timezone),
      );
    }
  }
}

/** When a local date ends in `timezone` (its next midnight there): "until 2026-12-05" is through that whole day. */
export function endOfLocalDay(date: LocalDate, timezone: string): Date {
  return localMidnight(date.year, date.month - 1, date.day + 1, timezone);
}
