import { mc, type Millicredits } from '../money/credits';
import type { PackView } from './types';

const DAY_MS = 24 * 3600 * 1000;

export interface DrawDown {
  /** When the packs are dry at this pace, whether spent or expired; null without spending or without packs. */
  runsOutAt: Date | null;
  /** The units each pack still holds when it expires at this pace: Kling forfeits them. */
  expiresUnused: { pack: PackView; amountMc: Millicredits }[];
}

/**
 * Spends the online packs at `paceMcPerDay`, soonest-expiring first (as the account's status assumes Kling
 * does), with each pack's unspent units lost at its expiry. A pack that expires before the pace reaches it
 * shortens the run: 1,000 units expiring in 3 days and 1,000 in 60, at 100 a day, last 13 days, not 20.
 */
export function drawDown(packs: PackView[], now: Date, paceMcPerDay: number): DrawDown {
  const byExpiry = [...packs].sort((a, b) => a.expiresAt.getTime() - b.expiresAt.getTime());
  const expiresUnused: DrawDown['expiresUnused'] = [];
  let at = now.getTime();
  for (const pack of byExpiry) {
    const expires = pack.expiresAt.getTime();
    if (expires <= now.getTime() || pack.remainingMc <= 0) continue;
    // Not reached before it expires (no spending, or the packs before it last as long): all of it is lost.
    if (paceMcPerDay <= 0 || expires <= at) {
      expiresUnused.push({ pack, amountMc: pack.remainingMc });
      continue;
    }
    const emptyAt = at + (pack.remainingMc / paceMcPerDay) * DAY_MS;
    if (emptyAt <= expires) {
      at = emptyAt;
    } else {
      const unused = Math.round(((emptyAt - expires) / DAY_MS) * paceMcPerDay);
      if (unused > 0) expiresUnused.push({ pack, amountMc: mc(unused) });
      at = expires;
    }
  }
  const spending = paceMcPerDay > 0 && byExpiry.some((p) => p.expiresAt.getTime() > now.getTime());
  return { runsOutAt: spending ? new Date(at) : null, expiresUnused };
}
