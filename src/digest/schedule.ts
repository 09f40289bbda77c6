import cron from 'node-cron';
import { periodBounds } from '../budget/index';

const MINUTE = 60_000;
/** How far back a missed digest is still sent on start: covers a cron that fires once a day, plus a DST hour. */
const CATCH_UP_WINDOW_MS = 25 * 60 * MINUTE;

/**
 * The latest time at or before `now` at which `expression` fired in `timezone`, looking back `windowMs`.
 * node-cron 4 has no "previous run", so this walks back a minute at a time through its own matcher
 * (the digest cron has minute resolution; a seconds field other than 0 is not looked for).
 */
export function latestFire(
  expression: string,
  timezone: string,
  now: Date,
  windowMs = CATCH_UP_WINDOW_MS,
): Date | undefined {
  const task = cron.createTask(expression, () => {}, { timezone });
  try {
    const start = Math.floor(now.getTime() / MINUTE) * MINUTE;
    for (let t = start; t >= now.getTime() - windowMs; t -= MINUTE) {
      if (task.match(new Date(t))) return new Date(t);
    }
    return undefined;
  } finally {
    void task.destroy();
  }
}

/** A local calendar day in the workspace's timezone: its date ("2026-03-29") and the instants it spans. */
export interface DigestDay {
  date: string;
  start: Date;
  end: Date;
}

/** "2026-03-29": the calendar date of `at` in `timezone`. */
function localDate(at: Date, timezone: string): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: timezone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(at);
}

/** The local day containing `at`. */
export function dayOf(at: Date, timezone: string): DigestDay {
  const { start, end } = periodBounds('day', at, timezone);
  return { date: localDate(start, timezone), start, end };
}

/** The local day of a calendar date ("2026-03-29") in `timezone`. */
export function dayOfDate(date: string, timezone: string): DigestDay {
  // Noon UTC falls on that date, or (UTC+13 and beyond) the next one: step back when it does.
  const day = dayOf(new Date(`${date}T12:00:00Z`), timezone);
  return day.date > date ? dayBefore(day.start, timezone) : day;
}

/** The local day before the one containing `at`: the period a digest posted at `at` reports on. */
export function dayBefore(at: Date, timezone: string): DigestDay {
  return dayOf(new Date(dayOf(at, timezone).start.getTime() - 1), timezone);
}

/** `count` consecutive local days ending with `day`, oldest first. */
export function daysEndingWith(day: DigestDay, timezone: string, count: number): DigestDay[] {
  const days = [day];
  while (days.length < count) days.unshift(dayBefore(days[0]!.start, timezone));
  return days;
}

/** The day whose digest is due at `now`: the day before the latest cron fire, if one fell within the catch-up window. */
export function dueDay(expression: string, timezone: string, now: Date): DigestDay | undefined {
  const fired = latestFire(expression, timezone, now);
  return fired && dayBefore(fired, timezone);
}
