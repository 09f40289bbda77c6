import type { SavingsTip } from './savings';
import type { TrendPoint } from '../budget/reports';
import type { DigestFigures } from './store';

/** Everything one digest message shows, built from the store's figures; the poster renders it. */
export interface DigestContent {
  /** "2026-11-24", the local day reported on. */
  date: string;
  timezone: string;
  figures: DigestFigures;
  /** The seven days ending with `date`, oldest first. */
  trend: TrendPoint[];
  tips: SavingsTip[];
  creditPriceUsd: number;
  catalogVersion: string;
  /** The trend goes as a chart image; otherwise it is drawn as text. */
  chart: boolean;
  /** A preview says which day it shows: yesterday (what the digest posts), today so far (until `at`), or a date. */
  preview?: { of: 'yesterday' | 'today' | 'date'; at: Date };
}

/** "Tue 24 Nov 2026" for a calendar date string. */
export function dayLabel(date: string, style: 'long' | 'short' = 'long'): string {
  const [y, m, d] = date.split('-').map(Number);
  const options: Intl.DateTimeFormatOptions =
    style === 'long'
      ? { timeZone: 'UTC', weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }
      : { timeZone: 'UTC', weekday: 'short', day: 'numeric' };
  return new Intl.DateTimeFormat('en-GB', options).format(new Date(Date.UTC(y!, m! - 1, d!))).replace(',', '');
}

/** True when the day had nothing to report: no hold taken and no job asked for. */
export function isEmptyDay(figures: DigestFigures): boolean {
  const { totals: t, videos: v } = figures;
  return (
    t.committedCount +
      t.refundedCount +
      t.heldCount +
      v.succeeded +
      v.failed +
      v.cancelled +
      v.refused +
      v.unfinished ===
    0
  );
}
