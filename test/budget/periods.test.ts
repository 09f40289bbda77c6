import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { periodBounds } from '../../src/budget';
import { rows, sql } from '../../src/db';
import { createTestDatabase, type TestDatabase } from '../support/db';

const iso = (d: Date) => d.toISOString();

describe('periodBounds', () => {
  it('starts a day at local midnight and a week on Monday', () => {
    // Wednesday 25 Nov 2026, 14:30 UTC = 15:30 in Berlin
    const at = new Date('2026-11-25T14:30:00Z');
    expect(periodBounds('day', at, 'UTC')).toEqual({
      start: new Date('2026-11-25T00:00:00Z'),
      end: new Date('2026-11-26T00:00:00Z'),
    });
    expect(periodBounds('day', at, 'Europe/Berlin')).toEqual({
      start: new Date('2026-11-24T23:00:00Z'),
      end: new Date('2026-11-25T23:00:00Z'),
    });
    expect(periodBounds('week', at, 'UTC')).toEqual({
      start: new Date('2026-11-23T00:00:00Z'),
      end: new Date('2026-11-30T00:00:00Z'),
    });
    expect(periodBounds('month', at, 'Europe/Berlin')).toEqual({
      start: new Date('2026-10-31T23:00:00Z'),
      end: new Date('2026-11-30T23:00:00Z'),
    });
  });

  it('puts a Sunday night in the week that began the Monday before', () => {
    const sunday = new Date('2026-11-29T23:59:59Z');
    expect(iso(periodBounds('week', sunday, 'UTC').start)).toBe('2026-11-23T00:00:00.000Z');
    expect(iso(periodBounds('week', new Date('2026-11-30T00:00:00Z'), 'UTC').start)).toBe('2026-11-30T00:00:00.000Z');
  });

  it('uses the local date, not the UTC one', () => {
    // 23:30 UTC on 31 Dec is already 1 Jan in Berlin, still 31 Dec in New York
    const at = new Date('2026-12-31T23:30:00Z');
    expect(iso(periodBounds('month', at, 'Europe/Berlin').start)).toBe('2026-12-31T23:00:00.000Z');
    expect(iso(periodBounds('day', at, 'America/New_York').start)).toBe('2026-12-31T05:00:00.000Z');
    expect(iso(periodBounds('month', at, 'America/New_York').start)).toBe('2026-12-01T05:00:00.000Z');
  });

  it('makes the spring-forward day 23 hours and the fall-back day 25 hours long (Europe/Berlin)', () => {
    const spring = periodBounds('day', new Date('2026-03-29T12:00:00Z'), 'Europe/Berlin');
    expect([iso(spring.start), iso(spring.end)]).toEqual(['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z']);
    const fall = periodBounds('day', new Date('2026-10-25T12:00:00Z'), 'Europe/Berlin');
    expect([iso(fall.start), iso(fall.end)]).toEqual(['2026-10-24T22:00:00.000Z', '2026-10-25T23:00:00.000Z']);
    // The week holding the October change is 169 hours long
    const week = periodBounds('week', new Date('2026-10-25T12:00:00Z'), 'Europe/Berlin');
    expect((week.end.getTime() - week.start.getTime()) / 3_600_000).toBe(169);
  });

  it('handles America/New_York across both changes', () => {
    const spring = periodBounds('day', new Date('2026-03-08T15:00:00Z'), 'America/New_York');
    expect([iso(spring.start), iso(spring.end)]).toEqual(['2026-03-08T05:00:00.000Z', '2026-03-09T04:00:00.000Z']);
    const fall = periodBounds('day', new Date('2026-11-01T15:00:00Z'), 'America/New_York');
    expect([iso(fall.start), iso(fall.end)]).toEqual(['2026-11-01T04:00:00.000Z', '2026-11-02T05:00:00.000Z']);
  });
});

describe('periodBounds agrees with the SQL the ledger uses', () => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase({ max: 2 });
  });
  afterAll(() => db.drop());

  it.each([
    'UTC',
    'Europe/Berlin',
    'America/New_York',
    'Asia/Kolkata',
    'Australia/Lord_Howe',
    'America/Santiago',
    'Pacific/Chatham',
  ])('for every 5 h 17 min through 2026 in %s', async (timezone) => {
    const instants: Date[] = [];
    for (let t = Date.UTC(2026, 0, 1); t < Date.UTC(2027, 0, 5); t += (5 * 60 + 17) * 60_000)
      instants.push(new Date(t));
    const fromSql = await rows<{ at: string; kind: 'day' | 'week' | 'month'; start: string; end: string }>(
      db.db,
      sql`
        select at, kind, budget_period_start(kind, at, ${timezone}) as start, budget_period_end(kind, at, ${timezone}) as end
        from unnest(${`{${instants.map(iso).join(',')}}`}::timestamptz[]) at
        cross join unnest('{day,week,month}'::budget_period[]) kind`,
    );
    expect(fromSql.length).toBe(instants.length * 3);
    const mismatches = fromSql.filter((r) => {
      const bounds = periodBounds(r.kind, new Date(r.at), timezone);
      return (
        bounds.start.getTime() !== new Date(r.start).getTime() || bounds.end.getTime() !== new Date(r.end).getTime()
      );
    });
    expect(mismatches.slice(0, 3)).toEqual([]);
  });
});
