import { describe, expect, it } from 'vitest';
import { dayBefore, dueDay, latestFire } from '../../src/digest/index';

describe('digest schedule', () => {
  it('fires at 09:00 on the workspace wall clock and reports on the day before', () => {
    // 09:30 in Berlin (CET, UTC+1) on Tuesday 24 Nov 2026.
    const due = dueDay('0 9 * * *', 'Europe/Berlin', new Date('2026-11-24T08:30:00Z'));
    expect(due?.date).toBe('2026-11-23');
    expect(due?.start.toISOString()).toBe('2026-11-22T23:00:00.000Z');
    expect(due?.end.toISOString()).toBe('2026-11-23T23:00:00.000Z');
    expect(latestFire('0 9 * * *', 'Europe/Berlin', new Date('2026-11-24T08:30:00Z'))?.toISOString()).toBe(
      '2026-11-24T08:00:00.000Z',
    );
  });

  it('before 09:00 the due digest is still the one that fired yesterday', () => {
    const due = dueDay('0 9 * * *', 'Europe/Berlin', new Date('2026-11-24T07:59:00Z'));
    expect(due?.date).toBe('2026-11-22');
  });

  it('a day that loses an hour to DST is 23 hours long, one that gains an hour 25', () => {
    // Europe moves clocks forward on Sunday 29 March 2026; the 09:00 run on the 30th is at 07:00 UTC (CEST).
    const spring = dueDay('0 9 * * *', 'Europe/Berlin', new Date('2026-03-30T07:00:30Z'))!;
    expect(spring.date).toBe('2026-03-29');
    expect(spring.start.toISOString()).toBe('2026-03-28T23:00:00.000Z');
    expect(spring.end.toISOString()).toBe('2026-03-29T22:00:00.000Z');
    // One minute earlier the 30th's run has not fired: due is still the 28th's digest.
    expect(dueDay('0 9 * * *', 'Europe/Berlin', new Date('2026-03-30T06:59:00Z'))!.date).toBe('2026-03-28');
    // New York falls back on Sunday 1 November 2026.
    const fall = dayBefore(new Date('2026-11-02T14:00:00Z'), 'America/New_York');
    expect(fall.date).toBe('2026-11-01');
    expect(fall.end.getTime() - fall.start.getTime()).toBe(25 * 3_600_000);
  });

  it('a timezone east of UTC reports the local day, not the UTC one', () => {
    // 09:00 in Tokyo on 25 Nov is 00:00 UTC on the 25th; the digest covers 24 Nov local = 23 Nov 15:00Z to 24 Nov 15:00Z.
    const due = dueDay('0 9 * * *', 'Asia/Tokyo', new Date('2026-11-25T00:00:10Z'))!;
    expect(due.date).toBe('2026-11-24');
    expect(due.start.toISOString()).toBe('2026-11-23T15:00:00.000Z');
  });

  it('nothing is due when the cron has not fired within the catch-up window', () => {
    expect(dueDay('0 9 1 1 *', 'UTC', new Date('2026-11-24T10:00:00Z'))).toBeUndefined();
  });
});
