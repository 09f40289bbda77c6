import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, LedgerError, auditTrail, checkInvariants, type ReserveRequest } from '../../src/budget';
import { rows, sql } from '../../src/db';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

/** Temporary raises on real Postgres with an injected clock: what they let through, and until when. */

let database: TestDatabase;
let teams = 0;

beforeAll(async () => {
  database = await createTestDatabase({ max: 4 });
});
afterAll(async () => {
  expect(await checkInvariants(database.db)).toEqual([]);
  await database.drop();
});

/** A team whose person U1 has a hard daily budget of `limit` mc, and a clock the test moves. */
async function setup(limit = 1_000, timezone = 'UTC') {
  const clock = { now: new Date('2026-11-25T12:00:00Z') };
  const ledger = new Ledger(database.db, { now: () => clock.now, defaultTimezone: timezone });
  const teamId = `TR${++teams}`;
  await ledger.ensureWorkspace(teamId);
  const budget = await ledger.setBudget({
    teamId,
    scope: 'user',
    scopeId: 'U1',
    period: 'day',
    limitMc: mc(limit),
    by: 'U-admin',
  });
  const request = (amountMc: number): ReserveRequest => ({
    teamId,
    channelId: 'C1',
    userId: 'U1',
    amountMc: mc(amountMc),
  });
  const set = (at: string) => {
    clock.now = new Date(at);
  };
  const usage = async () =>
    (await ledger.usageFor({ teamId, channelId: 'C1', userId: 'U1' })).find((u) => u.budget.id === budget.id)!;
  return { ledger, teamId, budget, request, set, usage };
}

describe('a temporary raise', () => {
  it('lets a request past the base limit until its end, in every period it spans, and then ends by itself', async () => {
    const { ledger, budget, request, set, usage } = await setup();
    expect((await ledger.reserve(request(1_500))).ok).toBe(false);

    const endsAt = new Date('2026-11-27T00:00:00Z'); // through the end of the 26th
    const raise = await ledger.raise({ budgetId: budget.id, amountMc: mc(1_000), endsAt, by: 'U-admin', why: 'test' });
    expect(raise).toMatchObject({ budgetId: budget.id, amountMc: 1_000, endsAt, grantedBy: 'U-admin' });

    const today = await usage();
    expect({ limit: today.limitMc, remaining: today.remainingMc }).toEqual({ limit: 2_000, remaining: 2_000 });
    expect(today.raises).toEqual([expect.objectContaining({ amountMc: 1_000, endsAt, grantedBy: 'U-admin' })]);
    const held = await ledger.reserve(request(1_500));
    expect(held.ok).toBe(true);
    // The threshold alerts measure the raised limit: 1.5 of 2 is 75%, below the first threshold (80%).
    expect(held.events).toEqual([]);
    expect((await ledger.reserve(request(600))).ok).toBe(false);

    // The next day is a new period, raised too: 2 credits fit.
    set('2026-11-26T23:59:59Z');
    expect((await ledger.reserve(request(2_000))).ok).toBe(true);

    // At its end the raise is over: the base limit applies to what is reserved from then on.
    set('2026-11-27T00:00:00Z');
    const after = await usage();
    expect({ limit: after.limitMc, raises: after.raises }).toEqual({ limit: 1_000, raises: [] });
    expect((await ledger.reserve(request(1_001))).ok).toBe(false);
    expect((await ledger.reserve(request(1_000))).ok).toBe(true);
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('refuses exactly at the raised limit when 24 requests arrive at once', async () => {
    const { ledger, budget, request, usage } = await setup();
    const endsAt = new Date('2026-11-26T00:00:00Z');
    await ledger.raise({ budgetId: budget.id, amountMc: mc(500), endsAt, by: 'U-admin', why: 'test' });
    const results = await Promise.all(Array.from({ length: 24 }, () => ledger.reserve(request(100))));
    expect(results.filter((r) => r.ok)).toHaveLength(15);
    expect((await usage()).chargedMc).toBe(1_500);
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('what was charged under a raise stays after its end: the period takes nothing more past its base limit', async () => {
    const { ledger, budget, request, set, usage } = await setup();
    const endsAt = new Date('2026-11-25T18:00:00Z');
    await ledger.raise({ budgetId: budget.id, amountMc: mc(1_000), endsAt, by: 'U-admin', why: 'test' });
    const held = await ledger.reserve(request(1_800));
    if (!held.ok) throw new Error('refused');
    set('2026-11-25T18:00:01Z');
    const refused = await ledger.reserve(request(1));
    expect(refused.ok === false && refused.refusal).toMatchObject({ remainingMc: 0, neededMc: 1 });
    // Kling charges less than held: the room that frees is below the base limit's, so still nothing fits.
    await ledger.commit(held.holds[0]!.id, mc(1_200));
    expect((await usage()).chargedMc).toBe(1_200);
    expect((await ledger.reserve(request(1))).ok).toBe(false);
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('a commit above its hold within the raised limit is no overrun; past it, it is', async () => {
    const { ledger, budget, request } = await setup();
    await ledger.raise({
      budgetId: budget.id,
      amountMc: mc(1_000),
      endsAt: new Date('2026-11-26T00:00:00Z'),
      by: 'U-admin',
      why: 'test',
    });
    const first = await ledger.reserve(request(1_000));
    if (!first.ok) throw new Error('refused');
    const within = await ledger.commit(first.holds[0]!.id, mc(1_500));
    expect(within.events.filter((e) => e.budget.id === budget.id).map((e) => e.kind)).not.toContain('overrun');
    const second = await ledger.reserve(request(500));
    if (!second.ok) throw new Error('refused');
    const past = await ledger.commit(second.holds[0]!.id, mc(700));
    expect(past.events.filter((e) => e.budget.id === budget.id).map((e) => e.kind)).toContain('overrun');
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('a hold taken before a raise, settled after others used the raise, is no overrun', async () => {
    const { ledger, budget, request, set } = await setup(10_000);
    set('2026-11-25T09:00:00Z');
    const early = await ledger.reserve(request(5_000));
    if (!early.ok) throw new Error('refused');
    set('2026-11-25T10:00:00Z');
    const endsAt = new Date('2026-11-26T00:00:00Z');
    await ledger.raise({ budgetId: budget.id, amountMc: mc(10_000), endsAt, by: 'U-admin', why: 'test' });
    expect((await ledger.reserve(request(5_000))).ok).toBe(true);
    expect((await ledger.reserve(request(5_000))).ok).toBe(true);
    // 16 of the raised 20 once it commits 1 above its hold: within the room the period had.
    const settled = await ledger.commit(early.holds[0]!.id, mc(6_000));
    expect(settled.events.filter((e) => e.budget.id === budget.id).map((e) => e.kind)).not.toContain('overrun');
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('is only for a person or a channel, adds more than 0 and ends in the future; each one is in the audit trail', async () => {
    const { ledger, teamId, budget } = await setup();
    const [workspace] = (await ledger.budgets(teamId)).filter((b) => b.scope === 'workspace');
    const endsAt = new Date('2026-11-30T00:00:00Z');
    const raise = (budgetId: number, amountMc: number, ends = endsAt) =>
      ledger.raise({ budgetId, amountMc: mc(amountMc), endsAt: ends, by: 'U-admin', why: 'because' });
    await expect(raise(workspace!.id, 1_000)).rejects.toThrow(/only a person's or a channel's budget/);
    await expect(raise(budget.id, 0)).rejects.toThrow(LedgerError);
    await expect(raise(budget.id, 1_000, new Date('2026-11-25T12:00:00Z'))).rejects.toThrow(/in the future/);
    await raise(budget.id, 2_500);
    const { entries } = await auditTrail(
      database.db,
      teamId,
      { start: new Date('2026-11-25T00:00:00Z'), end: new Date('2026-11-26T00:00:00Z') },
      10,
    );
    expect(entries.find((e) => e.subject === 'raise')).toMatchObject({
      actor: 'U-admin',
      budget: { scope: 'user', scopeId: 'U1', period: 'day' },
      oldValue: 1_000,
      newValue: { limitMc: 3_500, amountMc: 2_500, endsAt: endsAt.toISOString() },
      why: 'because',
    });
  });

  it('is append-only in the database', async () => {
    const { ledger, budget } = await setup();
    await ledger.raise({
      budgetId: budget.id,
      amountMc: mc(1_000),
      endsAt: new Date('2026-11-26T00:00:00Z'),
      by: 'U-admin',
      why: 'test',
    });
    const refused = await database.db.execute(sql`update budget_raises set amount_mc = 1`).then(
      () => 'allowed',
      (error: Error & { cause?: Error }) => (error.cause ?? error).message,
    );
    expect(refused).toBe('budget_raises is append-only: UPDATE refused');
  });
});

describe('checkInvariants with raises', () => {
  it('flags a period charged beyond its limit plus the raises that overlapped it', async () => {
    // Its own database: the point is to break the ledger behind its back.
    const own = await createTestDatabase({ max: 2 });
    try {
      const clock = { now: new Date('2026-11-25T12:00:00Z') };
      const ledger = new Ledger(own.db, { now: () => clock.now });
      await ledger.ensureWorkspace('T1');
      const budget = await ledger.setBudget({
        teamId: 'T1',
        scope: 'user',
        scopeId: 'U1',
        period: 'day',
        limitMc: mc(1_000),
        by: 'U-admin',
      });
      await ledger.raise({
        budgetId: budget.id,
        amountMc: mc(1_000),
        endsAt: new Date('2026-11-25T13:00:00Z'),
        by: 'U-admin',
        why: 'test',
      });
      expect((await ledger.reserve({ teamId: 'T1', channelId: 'C1', userId: 'U1', amountMc: mc(1_800) })).ok).toBe(
        true,
      );
      expect(await checkInvariants(own.db)).toEqual([]);

      // The raise vanishes behind the ledger's back (its trigger set aside), and one for next week is added: that
      // one never overlapped the period, so it does not excuse the charge.
      await own.db.execute(sql`alter table budget_raises disable trigger budget_raises_append_only`);
      await own.db.execute(sql`delete from budget_raises`);
      await own.db.execute(sql`
        insert into budget_raises (team_id, budget_id, amount_mc, starts_at, ends_at, granted_by)
        values ('T1', ${budget.id}, 5000, '2026-12-01T00:00:00Z', '2026-12-02T00:00:00Z', 'U-admin')`);
      const problems = await checkInvariants(own.db);
      expect(problems).toEqual([
        expect.stringMatching(/^hard budget \d+ period .*: charged 1800 exceeds its limit 1000$/),
      ]);
      const [{ n } = { n: 0 }] = await rows<{ n: number }>(own.db, sql`select count(*)::int as n from budget_raises`);
      expect(n).toBe(1);
    } finally {
      await own.drop();
    }
  });
});
