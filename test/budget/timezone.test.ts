import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, auditTrail, checkInvariants } from '../../src/budget';
import { rows, sql } from '../../src/db';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

/** An admin's timezone change waits for the next period boundary, with an injected clock, on real Postgres. */

let database: TestDatabase;
const clock = { now: new Date('2026-11-25T20:00:00Z') }; // 21:00 in Berlin, 15:00 in New York

beforeAll(async () => {
  database = await createTestDatabase({ max: 2 });
});
afterAll(async () => database.drop());

describe('/kling budget timezone', () => {
  it('keeps the current period until its end, then periods start at midnight in the new zone', async () => {
    const teamId = 'TZONE';
    const ledger = new Ledger(database.db, { now: () => clock.now, defaultTimezone: 'Europe/Berlin' });
    await ledger.ensureWorkspace(teamId);
    const [day] = await ledger.budgets(teamId);
    await ledger.setBudget({ ...day!, limitMc: mc(10_000), by: 'UADMIN' });
    const asked = { teamId, channelId: 'C1', userId: 'U1' };
    expect((await ledger.reserve({ ...asked, amountMc: mc(6_000) })).ok).toBe(true);

    const effective = await ledger.setTimezone(teamId, 'America/New_York', {
      by: 'UADMIN',
      why: '/kling budget timezone',
    });
    expect(effective).toEqual(new Date('2026-11-25T23:00:00Z')); // Berlin's midnight

    // Before it: still Berlin's day, its counter whole. Applied at once, New York's fresh day would grant this.
    clock.now = new Date('2026-11-25T22:59:59Z');
    expect((await ledger.reserve({ ...asked, amountMc: mc(5_000) })).ok).toBe(false);
    expect(await ledger.usage(day!.id)).toMatchObject({
      periodStart: new Date('2026-11-24T23:00:00Z'),
      periodEnd: new Date('2026-11-25T23:00:00Z'),
      chargedMc: 6_000,
    });
    expect(await ledger.ensureWorkspace(teamId)).toMatchObject({
      timezone: 'Europe/Berlin',
      pendingTimezone: 'America/New_York',
    });

    // From the boundary on: New York's day.
    clock.now = new Date('2026-11-25T23:00:00Z');
    expect((await ledger.reserve({ ...asked, amountMc: mc(5_000) })).ok).toBe(true);
    expect(await ledger.ensureWorkspace(teamId)).toMatchObject({ timezone: 'America/New_York', pendingTimezone: null });
    expect(await ledger.usage(day!.id)).toMatchObject({
      periodStart: new Date('2026-11-25T05:00:00Z'),
      periodEnd: new Date('2026-11-26T05:00:00Z'),
      chargedMc: 5_000,
    });
    // Berlin's day kept its start, its end and its total.
    const periods = await rows<{ start: Date; end: Date; charged: number }>(
      database.db,
      sql`
      select period_start as start, period_end as end, charged_mc as charged from budget_periods
      where budget_id = ${day!.id} order by period_start`,
    );
    expect(
      periods.map((p) => [new Date(p.start).toISOString(), new Date(p.end).toISOString(), Number(p.charged)]),
    ).toEqual([
      ['2026-11-24T23:00:00.000Z', '2026-11-25T23:00:00.000Z', 6_000],
      ['2026-11-25T05:00:00.000Z', '2026-11-26T05:00:00.000Z', 5_000],
    ]);
    expect(await checkInvariants(database.db)).toEqual([]);

    const { entries } = await auditTrail(database.db, teamId, { start: new Date(0), end: new Date('2027-01-01') }, 10);
    expect(entries.find((e) => e.subject === 'timezone')).toMatchObject({
      oldValue: 'Europe/Berlin',
      newValue: 'America/New_York',
      why: '/kling budget timezone — applies from 2026-11-25T23:00:00.000Z',
    });
  });

  it('waits for the end of the longest period the workspace budgets, and refuses a zone that does not exist', async () => {
    const teamId = 'TZWEEK';
    clock.now = new Date('2026-11-25T20:00:00Z'); // a Wednesday
    const ledger = new Ledger(database.db, { now: () => clock.now, defaultTimezone: 'UTC' });
    await ledger.setBudget({
      teamId,
      scope: 'channel',
      scopeId: 'C1',
      period: 'week',
      limitMc: mc(50_000),
      by: 'UADMIN',
    });
    expect(await ledger.setTimezone(teamId, 'Asia/Tokyo', { by: 'UADMIN' })).toEqual(new Date('2026-11-30T00:00:00Z'));
    await expect(ledger.setTimezone(teamId, 'Mars/Olympus', { by: 'UADMIN' })).rejects.toThrow(/not an IANA time zone/);
    // The zone it has cancels the move.
    expect(await ledger.setTimezone(teamId, 'UTC', { by: 'UADMIN' })).toEqual(clock.now);
    expect(await ledger.ensureWorkspace(teamId)).toMatchObject({ timezone: 'UTC', pendingTimezone: null });
  });
});
