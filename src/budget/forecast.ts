import { mc, type Millicredits } from '../money/credits';

/**
 * Where a budget's period is heading at its recent pace. The pace is the charge (committed + held) of the
 * last eighth of the period (3 h of a day, 21 h of a week), over the time since the period's first charge
 * when that is shorter, but never over less than a third of that window: a quiet night before the first
 * video does not dilute it, and one early video does not read as a flood. The projection is the charge so
 * far plus that pace until the period ends. Nothing is said before 10% of the period has passed and 5% of
 * the limit is charged.
 */

export interface PaceInput {
  chargedMc: Millicredits;
  /** The period's limit including adjustments. */
  limitMc: Millicredits;
  periodStart: Date;
  /** The period's end (a day is 23 or 25 hours long across a DST change). */
  periodEnd: Date;
  now: Date;
  /** The period's first charge; undefined when nothing was charged yet. */
  firstChargeAt?: Date;
  /** The net charge since `paceWindowStart(…)`: reservations, minus releases, plus what commits added. */
  recentMc: Millicredits;
}

export type Forecast =
  | { kind: 'too-early' }
  /** Nothing left to forecast: the charge has reached the limit. */
  | { kind: 'used-up' }
  | { kind: 'runs-out'; at: Date; projectedMc: Millicredits }
  | { kind: 'ends-at'; projectedMc: Millicredits };

/** The minimum of evidence: this share of the period elapsed and this share of the limit charged. */
const MIN_ELAPSED = 0.1;
const MIN_CHARGED = 0.05;
const WINDOW_SHARE = 1 / 8;

/** Where the pace's window starts; the charge since then is `PaceInput.recentMc`. */
export function paceWindowStart(period: { periodStart: Date; periodEnd: Date }, now: Date): Date {
  return new Date(now.getTime() - windowMs(period));
}

function windowMs({ periodStart, periodEnd }: { periodStart: Date; periodEnd: Date }): number {
  return (periodEnd.getTime() - periodStart.getTime()) * WINDOW_SHARE;
}

/** Credits per millisecond at the recent pace. */
export function pace(input: PaceInput): number {
  if (!input.firstChargeAt || input.recentMc <= 0) return 0;
  const window = windowMs(input);
  const active = Math.min(window, input.now.getTime() - input.firstChargeAt.getTime());
  return input.recentMc / Math.max(active, window / 3);
}

export function forecast(input: PaceInput): Forecast {
  const { chargedMc, limitMc, periodStart, periodEnd, now } = input;
  if (limitMc <= 0 || chargedMc >= limitMc) return { kind: 'used-up' };
  const length = periodEnd.getTime() - periodStart.getTime();
  const elapsed = now.getTime() - periodStart.getTime();
  if (elapsed < length * MIN_ELAPSED || chargedMc < limitMc * MIN_CHARGED) return { kind: 'too-early' };
  const rate = pace(input);
  const left = Math.max(0, periodEnd.getTime() - now.getTime());
  const projectedMc = mc(Math.round(chargedMc + rate * left));
  if (projectedMc <= limitMc) return { kind: 'ends-at', projectedMc };
  return { kind: 'runs-out', at: new Date(now.getTime() + (limitMc - chargedMc) / rate), projectedMc };
}
