import { describe, expect, it } from 'vitest';
import { forecast, pace, paceWindowStart, periodBounds, type PaceInput } from '../../src/budget';
import { mc } from '../../src/money/credits';

const HOUR = 3_600_000;
const BERLIN = 'Europe/Berlin';

/** A daily budget of 100 credits in Berlin on the day holding `now`. */
function day(now: string, rest: Omit<PaceInput, 'periodStart' | 'periodEnd' | 'now' | 'limitMc'>): PaceInput {
  const at = new Date(now);
  const { start, end } = periodBounds('day', at, BERLIN);
  return { limitMc: mc(100_000), periodStart: start, periodEnd: end, now: at, ...rest };
}

describe('forecast', () => {
  it('says nothing before 10% of the period has passed or 5% of the limit is charged', () => {
    // 01:00 in Berlin: half the limit charged, but only an hour of the day gone
    expect(
      forecast(
        day('2026-03-10T00:00:00Z', {
          chargedMc: mc(50_000),
          recentMc: mc(50_000),
          firstChargeAt: new Date('2026-03-09T23:10:00Z'),
        }),
      ),
    ).toEqual({ kind: 'too-early' });
    // 10:00: the day is well under way, but 4 of 100 is too little to extrapolate
    expect(
      forecast(
        day('2026-03-10T09:00:00Z', {
          chargedMc: mc(4_000),
          recentMc: mc(4_000),
          firstChargeAt: new Date('2026-03-10T08:00:00Z'),
        }),
      ),
    ).toEqual({ kind: 'too-early' });
  });

  it('after a quiet night, a morning burst is read at its own pace, not diluted by the night', () => {
    // 30 credits between 09:00 and 09:30 Berlin (08:00–08:30 UTC), nothing before. The whole-day average
    // (30 over 9.5 h) would project about 76 of 100; the pace of the active half hour, read over at least
    // an hour, is 30 an hour: the remaining 70 last 2 h 20 min.
    const input = day('2026-03-10T08:30:00Z', {
      chargedMc: mc(30_000),
      recentMc: mc(30_000),
      firstChargeAt: new Date('2026-03-10T08:00:00Z'),
    });
    expect(pace(input) * HOUR).toBeCloseTo(30_000);
    const result = forecast(input);
    expect(result.kind).toBe('runs-out');
    expect(result.kind === 'runs-out' && result.at.toISOString()).toBe('2026-03-10T10:50:00.000Z');
  });

  it('late in the day, projects from the last three hours only', () => {
    // 22:00 Berlin: 80 charged, 6 of them in the last three hours: 2 an hour for the last 2 hours
    const now = new Date('2026-03-10T21:00:00Z');
    const input = day(now.toISOString(), {
      chargedMc: mc(80_000),
      recentMc: mc(6_000),
      firstChargeAt: new Date('2026-03-10T07:00:00Z'),
    });
    expect(paceWindowStart(input, now).toISOString()).toBe('2026-03-10T18:00:00.000Z');
    expect(forecast(input)).toEqual({ kind: 'ends-at', projectedMc: 84_000 });
  });

  it('a burst that has stopped projects no further spending', () => {
    const input = day('2026-03-10T13:00:00Z', {
      chargedMc: mc(30_000),
      recentMc: mc(0),
      firstChargeAt: new Date('2026-03-10T08:00:00Z'),
    });
    expect(forecast(input)).toEqual({ kind: 'ends-at', projectedMc: 30_000 });
  });

  it('releases count against the pace (committed + held is what is projected)', () => {
    const input = day('2026-03-10T13:00:00Z', {
      chargedMc: mc(30_000),
      recentMc: mc(-5_000),
      firstChargeAt: new Date('2026-03-10T08:00:00Z'),
    });
    expect(forecast(input)).toEqual({ kind: 'ends-at', projectedMc: 30_000 });
  });

  it('has nothing to forecast once the limit is reached', () => {
    expect(
      forecast(
        day('2026-03-10T13:00:00Z', {
          chargedMc: mc(100_000),
          recentMc: mc(10_000),
          firstChargeAt: new Date('2026-03-10T08:00:00Z'),
        }),
      ),
    ).toEqual({ kind: 'used-up' });
  });

  it('uses the real length of a DST day: 25 hours on the fall-back day', () => {
    // 25 Oct 2026 in Berlin runs 22:00 UTC to 23:00 UTC the next day. At 20:00 CET (19:00 UTC) four hours
    // are left, not three; the window is an eighth of 25 h, in which 6.25 credits were charged: 2 an hour.
    const input = day('2026-10-25T19:00:00Z', {
      chargedMc: mc(80_000),
      recentMc: mc(6_250),
      firstChargeAt: new Date('2026-10-25T06:00:00Z'),
    });
    expect(input.periodEnd.getTime() - input.periodStart.getTime()).toBe(25 * HOUR);
    expect(forecast(input)).toEqual({ kind: 'ends-at', projectedMc: 88_000 });
  });

  it('gives the run-out instant on the 23-hour spring-forward day', () => {
    // 29 Mar 2026: first video at 09:00 CEST (07:00 UTC), 30 credits by 10:00 CEST: 30 an hour, so the
    // remaining 70 last until 12:20 CEST.
    const result = forecast(
      day('2026-03-29T08:00:00Z', {
        chargedMc: mc(30_000),
        recentMc: mc(30_000),
        firstChargeAt: new Date('2026-03-29T07:00:00Z'),
      }),
    );
    expect(result.kind === 'runs-out' && result.at.toISOString()).toBe('2026-03-29T10:20:00.000Z');
  });
});
