import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, LedgerError, checkInvariants, type LedgerEvent, type ReserveRequest } from '../../src/budget';
import { openDatabase, rows, sql, type Db } from '../../src/db';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

let database: TestDatabase;
let teams = 0;

beforeAll(async () => {
  database = await createTestDatabase({ max: 4 });
});
afterAll(async () => {
  expect(await checkInvariants(database.db)).toEqual([]);
  await database.drop();
});

/** A ledger on a fresh team with a clock the test moves. */
async function setup(options: { timezone?: string; dailyLimit?: number; at?: string } = {}) {
  const clock = { now: new Date(options.at ?? '2026-11-25T12:00:00Z') };
  const ledger = new Ledger(database.db, {
    now: () => clock.now,
    defaultTimezone: options.timezone ?? 'UTC',
    defaultDailyLimitMc: mc(options.dailyLimit ?? 100_000),
  });
  const teamId = `T${++teams}`;
  const workspace = await ledger.ensureWorkspace(teamId);
  const [workspaceBudget] = await ledger.budgets(teamId);
  const request = (amountMc: number, more: Partial<ReserveRequest> = {}): ReserveRequest => ({
    teamId,
    channelId: 'C1',
    userId: 'U1',
    amountMc: mc(amountMc),
    ...more,
  });
  const set = (at: string) => {
    clock.now = new Date(at);
  };
  return { ledger, teamId, workspace, workspaceBudget: workspaceBudget!, request, clock, set };
}

async function holdOf(ledger: Ledger, request: ReserveRequest) {
  const result = await ledger.reserve(request);
  if (!result.ok) throw new Error(`refused: ${JSON.stringify(result.refusal)}`);
  return result.holds[0]!;
}

const summary = (events: LedgerEvent[]) =>
  events.map((e) => `${e.budget.scope}:${e.kind}${e.kind === 'threshold' ? e.threshold : ''}`);

describe('workspace', () => {
  it('is created once, with the default timezone and a daily workspace budget of the default limit', async () => {
    const { ledger, teamId, workspace } = await setup({ timezone: 'Europe/Berlin', dailyLimit: 250_000 });
    expect(workspace).toMatchObject({
      teamId,
      timezone: 'Europe/Berlin',
      alertsChannelId: null,
      confirmThresholdMc: null,
    });
    await ledger.ensureWorkspace(teamId);
    expect(await ledger.budgets(teamId)).toEqual([
      {
        id: expect.any(Number),
        teamId,
        scope: 'workspace',
        scopeId: teamId,
        period: 'day',
        limitMc: 250_000,
        hard: true,
        thresholds: [80, 100],
      },
    ]);
    await ledger.setAlertsChannel(teamId, 'CALERTS', { by: 'UADMIN' });
    await ledger.setTimezone(teamId, 'America/New_York', { by: 'UADMIN' });
    await ledger.setConfirmThreshold(teamId, mc(8_000), { by: 'UADMIN' });
    expect(await ledger.ensureWorkspace(teamId)).toMatchObject({
      teamId,
      timezone: 'Europe/Berlin',
      pendingTimezone: 'America/New_York',
      alertsChannelId: 'CALERTS',
      confirmThresholdMc: 8_000,
    });
    await ledger.setConfirmThreshold(teamId, null, { by: 'UADMIN' });
    expect(await ledger.ensureWorkspace(teamId)).toMatchObject({ confirmThresholdMc: null });
    const withDefault = new Ledger(database.db, { defaultConfirmThresholdMc: mc(20_000) });
    expect(await withDefault.ensureWorkspace(`${teamId}-new`)).toMatchObject({ confirmThresholdMc: 20_000 });
    expect(await withDefault.ensureWorkspace(teamId)).toMatchObject({ confirmThresholdMc: null }); // a default is for new workspaces only
    await expect(ledger.setTimezone(teamId, 'Mars/Olympus', { by: 'UADMIN' })).rejects.toThrow(/not an IANA time zone/);
  });

  it('is created on the first reservation of an unknown team', async () => {
    const ledger = new Ledger(database.db, { defaultDailyLimitMc: mc(5_000) });
    const result = await ledger.reserve({ teamId: 'TNEW', channelId: 'C', userId: 'U', amountMc: mc(6_000) });
    expect(result.ok).toBe(false);
    expect(!result.ok && result.refusal.budget.limitMc).toBe(5_000);
  });
});

describe('group commit', () => {
  it('serves concurrent reservations of a workspace with fewer transactions, each with its own result', async () => {
    const { teamId, request, workspaceBudget } = await setup({ dailyLimit: 10_000 });
    let transactions = 0;
    const counted = new Proxy(database.db, {
      get: (target, prop, receiver) =>
        prop === 'transaction'
          ? (...args: Parameters<typeof target.transaction>) => (transactions++, target.transaction(...args))
          : Reflect.get(target, prop, receiver),
    });
    const ledger = new Ledger(counted, { now: () => new Date('2026-11-25T12:00:00Z') });
    const results = await Promise.all(Array.from({ length: 12 }, () => ledger.reserve(request(1_000))));
    expect(results.map((r) => r.ok)).toEqual([...Array(10).fill(true), false, false]); // in arrival order
    expect(transactions).toBeGreaterThan(0); // grouped: without group commit each call is one autocommit statement
    expect(transactions).toBeLessThan(12);
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({ heldMc: 10_000, remainingMc: 0 });

    // A call that fails inside a group fails alone: the group runs again one by one.
    await ledger.setBudget({
      teamId,
      scope: 'workspace',
      scopeId: teamId,
      period: 'day',
      limitMc: mc(20_000),
      by: 'UADMIN',
    });
    const before = transactions;
    const mixed = await Promise.allSettled([
      ledger.reserve(request(1_000)),
      ledger.reserve(request(1_000, { memo: 'nul \u0000 byte' })),
      ledger.reserve(request(1_000)),
    ]);
    expect(mixed.map((m) => m.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(transactions - before).toBe(1 + 3);
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({ heldMc: 12_000 });
  });
});

describe('reserveEach', () => {
  it('reserves batches in order in one statement, each all-or-nothing with its own result', async () => {
    const { ledger, request, workspaceBudget } = await setup({ dailyLimit: 5_000 });
    const results = await ledger.reserveEach([
      [request(1_000)],
      [request(1_000), request(1_000), request(1_000), request(1_000, { userId: 'U2' })], // 4 000: only 4 000 left, fits
      [request(1_000)], // nothing left
      [request(0, { userId: 'U3' })],
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true, false, true]);
    expect(results[1]!.ok && results[1]!.holds).toHaveLength(4);
    expect(!results[2]!.ok && results[2]!.refusal).toMatchObject({
      remainingMc: 0,
      neededMc: 1_000,
      budget: { id: workspaceBudget.id },
    });
    expect(summary(results.flatMap((r) => r.events))).toEqual([
      'workspace:threshold80',
      'workspace:threshold100',
      'workspace:exhausted',
    ]);
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({ chargedMc: 5_000, heldMc: 5_000, remainingMc: 0 });
    expect(await ledger.reserveEach([])).toEqual([]);
    await expect(ledger.reserveEach([[request(1)], [{ ...request(1), teamId: 'T-other' }]])).rejects.toThrow(
      /one workspace/,
    );
  });
});

describe('reserve, commit, release', () => {
  it('holds, commits the actual cost, and reports used / held / remaining', async () => {
    const { ledger, workspaceBudget, request } = await setup();
    const a = await holdOf(ledger, request(30_000, { generationId: 'gen-a', memo: 'fox in snow' }));
    const b = await holdOf(ledger, request(20_000));
    expect(a).toEqual({ id: expect.any(String), amountMc: 30_000, generationId: 'gen-a' });
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({
      committedMc: 0,
      heldMc: 50_000,
      chargedMc: 50_000,
      remainingMc: 50_000,
      limitMc: 100_000,
      percent: 50,
    });

    await ledger.commit(a.id, mc(25_000)); // Kling charged less than the estimate
    await ledger.release(b.id, 'task failed');
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({
      committedMc: 25_000,
      heldMc: 0,
      chargedMc: 25_000,
      remainingMc: 75_000,
      percent: 25,
    });

    const entries = await rows<{
      kind: string;
      amount_mc: number;
      charged_delta_mc: number;
      actor: string;
      memo: string | null;
    }>(
      database.db,
      sql`
      select kind, amount_mc, charged_delta_mc, actor, memo from ledger_entries where hold_id in (${a.id}::uuid, ${b.id}::uuid) order by id`,
    );
    expect(entries).toEqual([
      { kind: 'reserve', amount_mc: 30_000, charged_delta_mc: 30_000, actor: 'U1', memo: 'fox in snow' },
      { kind: 'reserve', amount_mc: 20_000, charged_delta_mc: 20_000, actor: 'U1', memo: null },
      { kind: 'commit', amount_mc: 25_000, charged_delta_mc: -5_000, actor: 'ledger', memo: null },
      { kind: 'release', amount_mc: 20_000, charged_delta_mc: -20_000, actor: 'ledger', memo: 'task failed' },
    ]);
  });

  it('a second commit or release changes nothing and says so; a commit after a release is refused', async () => {
    const { ledger, workspaceBudget, request } = await setup();
    const a = await holdOf(ledger, request(10_000));
    expect((await ledger.commit(a.id, mc(10_000))).outcome).toBe('committed');
    expect((await ledger.commit(a.id, mc(10_000))).outcome).toBe('already-committed');
    expect(await ledger.commit(a.id, mc(99_000))).toEqual({ outcome: 'already-committed', events: [] });
    expect(await ledger.release(a.id, 'late release')).toBe('already-committed');
    const b = await holdOf(ledger, request(5_000));
    expect(await ledger.release(b.id, 'cancelled')).toBe('released');
    expect(await ledger.release(b.id, 'cancelled again')).toBe('already-released');
    await expect(ledger.commit(b.id, mc(5_000))).rejects.toThrow(/was released/);
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({ committedMc: 10_000, heldMc: 0 });
    const [count] = await rows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from ledger_entries where hold_id in (${a.id}::uuid, ${b.id}::uuid)`,
    );
    expect(count!.n).toBe(4);
  });

  it('leaves the period row alone when the actual cost equals the estimate', async () => {
    const { ledger, request } = await setup();
    const a = await holdOf(ledger, request(10_000));
    const version = async () =>
      (
        await rows<{ v: string }>(
          database.db,
          sql`
      select p.xmin::text as v from budget_periods p join ledger_entries e on e.budget_id = p.budget_id and e.period_start = p.period_start
      where e.hold_id = ${a.id}::uuid`,
        )
      )[0]!.v;
    const before = await version();
    await ledger.commit(a.id, mc(10_000));
    expect(await version()).toBe(before);
  });

  it('rejects bad input with a clear message', async () => {
    const { ledger, request, workspaceBudget } = await setup();
    await expect(ledger.reserve(request(-1))).rejects.toThrow(LedgerError);
    await expect(ledger.reserve(request(1.5))).rejects.toThrow(/whole, non-negative/);
    await expect(ledger.reserve([])).rejects.toThrow(/empty/);
    await expect(ledger.reserve([request(1), { ...request(1), teamId: 'OTHER' }])).rejects.toThrow(/one workspace/);
    await expect(ledger.commit('not-a-hold', mc(1))).rejects.toThrow(/not a hold id/);
    await expect(ledger.commit('00000000-0000-0000-0000-000000000000', mc(1))).rejects.toThrow(/unknown hold/);
    await expect(ledger.adjust(999_999, mc(1), 'UADMIN', 'typo')).rejects.toThrow(LedgerError);
    await expect(ledger.adjust(workspaceBudget.id, mc(0), 'UADMIN', 'nothing')).rejects.toThrow(/more than 0/);
    await expect(
      ledger.setBudget({
        teamId: 'T1',
        scope: 'user',
        scopeId: 'U1',
        period: 'day',
        limitMc: mc(1),
        thresholds: [0],
        by: 'U',
      }),
    ).rejects.toThrow(/threshold/);
  });
});

describe('every applicable budget', () => {
  it('must fit: the refusal names the budget short by the most, what remains, and the first alternative that fits', async () => {
    const { ledger, teamId, request } = await setup();
    const channel = await ledger.setBudget({
      teamId,
      scope: 'channel',
      scopeId: 'C1',
      period: 'week',
      limitMc: mc(50_000),
      by: 'UADMIN',
    });
    const user = await ledger.setBudget({
      teamId,
      scope: 'user',
      scopeId: 'U1',
      period: 'month',
      limitMc: mc(40_000),
      by: 'UADMIN',
    });
    await holdOf(ledger, request(35_000));
    await holdOf(ledger, request(10_000, { userId: 'U2' })); // the channel and workspace, not U1's budget

    const alternatives = [
      { label: 'std, 5 s', amountMc: mc(8_000) },
      { label: 'std', amountMc: mc(4_000) },
      { label: 'draft', amountMc: mc(2_000) },
    ];
    const refused = await ledger.reserve(request(12_000, { alternatives }));
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    // user: 5 000 left, short by 7 000; channel: 5 000 left, short by 7 000 — the user's budget is named
    // (ties go to the more specific scope); "std, 5 s" (8 000) does not fit, "std" (4 000) does.
    expect(refused.refusal).toMatchObject({
      budget: { id: user.id, scope: 'user' },
      remainingMc: 5_000,
      neededMc: 12_000,
      fittingAlternative: { label: 'std', amountMc: 4_000 },
    });

    // Another user in the same channel is stopped by the channel alone.
    const other = await ledger.reserve(request(6_000, { userId: 'U3' }));
    expect(!other.ok && other.refusal).toMatchObject({
      budget: { id: channel.id },
      remainingMc: 5_000,
      neededMc: 6_000,
    });
    expect(!other.ok && other.refusal.fittingAlternative).toBeUndefined();
    // In another channel only the workspace applies.
    expect((await ledger.reserve(request(6_000, { channelId: 'C2', userId: 'U3' }))).ok).toBe(true);
  });

  it('reserves a batch all or nothing', async () => {
    const { ledger, teamId, request, workspaceBudget } = await setup();
    await ledger.setBudget({ teamId, scope: 'user', scopeId: 'U1', period: 'day', limitMc: mc(25_000), by: 'UADMIN' });
    const batch = [
      request(10_000, { generationId: 'g1' }),
      request(10_000, { generationId: 'g2' }),
      request(10_000, { generationId: 'g3', userId: 'U2' }),
    ];
    const ok = await ledger.reserve(batch);
    expect(ok.ok && ok.holds.map((h) => h.generationId)).toEqual(['g1', 'g2', 'g3']);

    const tooMuch = await ledger.reserve([request(6_000), request(1_000, { userId: 'U2' })]);
    expect(!tooMuch.ok && tooMuch.refusal).toMatchObject({
      budget: { scope: 'user', scopeId: 'U1' },
      remainingMc: 5_000,
      neededMc: 6_000,
    });
    const batchRefused = await ledger.reserve([
      request(3_000, { alternatives: [{ label: 'std', amountMc: mc(2_000) }] }),
      request(3_000, { alternatives: [{ label: 'std', amountMc: mc(2_000) }] }),
    ]);
    expect(batchRefused.ok).toBe(false);
    // 6 000 needed of the user's 5 000: both in std (4 000) would fit
    expect(!batchRefused.ok && batchRefused.refusal).toMatchObject({
      neededMc: 6_000,
      remainingMc: 5_000,
      fittingAlternative: { label: 'std', amountMc: 2_000 },
    });
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({ heldMc: 30_000 });
    const [holds] = await rows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from holds where team_id = ${teamId}`,
    );
    expect(holds!.n).toBe(3);
  });

  it('lets a soft budget be exceeded, with its alerts', async () => {
    const { ledger, teamId, request } = await setup();
    const soft = await ledger.setBudget({
      teamId,
      scope: 'channel',
      scopeId: 'C1',
      period: 'day',
      limitMc: mc(10_000),
      hard: false,
      thresholds: [50, 100, 150],
      by: 'UADMIN',
    });
    const first = await ledger.reserve(request(12_000));
    expect(first.ok).toBe(true);
    expect(summary(first.events)).toEqual(['channel:threshold50', 'channel:threshold100']);
    const second = await ledger.reserve(request(4_000));
    expect(summary(second.events)).toEqual(['channel:threshold150']);
    expect(await ledger.usage(soft.id)).toMatchObject({ chargedMc: 16_000, remainingMc: 0, percent: 160 });
  });
});

describe('alerts', () => {
  it('come once per budget, period and threshold, only from granted reservations; the first refusal is "exhausted", once', async () => {
    const { ledger, teamId, request, set, workspaceBudget } = await setup();
    await ledger.setAlertsChannel(teamId, 'CALERTS', { by: 'UADMIN' });
    const refused = await ledger.reserve(request(150_000));
    expect(refused.ok).toBe(false);
    expect(summary(refused.events)).toEqual(['workspace:exhausted']); // a refusal claims no threshold
    expect(summary((await ledger.reserve(request(150_000))).events)).toEqual([]);

    expect(summary((await ledger.reserve(request(70_000))).events)).toEqual([]);
    const crossing = await ledger.reserve(request(15_000));
    expect(summary(crossing.events)).toEqual(['workspace:threshold80']);
    expect(crossing.events[0]).toMatchObject({
      chargedMc: 85_000,
      limitMc: 100_000,
      triggeredBy: 'U1',
      periodStart: new Date('2026-11-25T00:00:00Z'),
    });
    const hold = await holdOf(ledger, request(1_000));
    await ledger.release(hold.id, 'cancelled');
    expect(summary((await ledger.reserve(request(1_000))).events)).toEqual([]); // still above 80 %: already claimed

    const full = await ledger.reserve(request(14_000));
    expect(summary(full.events)).toEqual(['workspace:threshold100']);
    expect(summary(await ledger.reserve(request(1)).then((r) => r.events))).toEqual([]); // refused again: exhausted was claimed

    // A new period claims them again.
    set('2026-11-26T08:00:00Z');
    expect(summary((await ledger.reserve(request(90_000))).events)).toEqual(['workspace:threshold80']);

    const outbox = await ledger.undeliveredAlerts(teamId);
    expect(summary(outbox)).toEqual([
      'workspace:exhausted',
      'workspace:threshold80',
      'workspace:threshold100',
      'workspace:threshold80',
    ]);
    expect(outbox[0]!.budget).toEqual(workspaceBudget);
    await ledger.markAlertDelivered(outbox[0]!, ['C0ALERTS']);
    await ledger.markAlertDelivered(outbox[1]!, ['C0ALERTS']);
    expect(summary(await ledger.undeliveredAlerts(teamId))).toEqual([
      'workspace:threshold100',
      'workspace:threshold80',
    ]);
  });

  it('are not claimed by a reservation that another budget refuses', async () => {
    const { ledger, teamId, request } = await setup();
    await ledger.setBudget({ teamId, scope: 'user', scopeId: 'U1', period: 'day', limitMc: mc(5_000), by: 'UADMIN' });
    await holdOf(ledger, request(75_000, { userId: 'U2' }));
    // The workspace row (locked first) would reach 85 %, but U1's budget refuses: nothing is claimed.
    const refused = await ledger.reserve(request(10_000));
    expect(refused.ok).toBe(false);
    expect(summary(refused.events)).toEqual(['user:exhausted']);
    const [alerts] = await rows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from budget_alerts where team_id = ${teamId} and kind = 'threshold'`,
    );
    expect(alerts!.n).toBe(0);
    expect(summary((await ledger.reserve(request(6_000, { userId: 'U3' }))).events)).toEqual(['workspace:threshold80']);
  });

  it('come from a commit that raises the charge across a threshold', async () => {
    const { ledger, request } = await setup();
    const hold = await holdOf(ledger, request(70_000));
    const { events } = await ledger.commit(hold.id, mc(82_000));
    expect(summary(events)).toEqual(['workspace:threshold80']);
    expect(events[0]).toMatchObject({ chargedMc: 82_000, triggeredBy: 'U1' });
  });
});

describe('the alert outbox', () => {
  it('tells two transactions of one person apart even within one millisecond: two messages', async () => {
    const { ledger, teamId, workspaceBudget } = await setup();
    for (const [threshold, at] of [
      [50, '2026-11-25T12:00:00.000100Z'],
      [80, '2026-11-25T12:00:00.000900Z'],
    ] as const) {
      await database.db.execute(sql`
        insert into budget_alerts (budget_id, period_start, kind, threshold, team_id, triggered_by, charged_mc, limit_mc, created_at)
        values (${workspaceBudget.id}, '2026-11-25T00:00:00Z', 'threshold', ${threshold}, ${teamId}, 'U1', 1, 1, ${at}::timestamptz)`);
    }
    const groups = await ledger.undeliveredAlertGroups(teamId);
    expect(groups.map((g) => g.map((e) => (e.kind === 'threshold' ? e.threshold : 0)))).toEqual([[50], [80]]);
  });

  it("gives each message's alerts to one of two racing replicas whole, never a part to each", async () => {
    const groups = [];
    for (let i = 0; i < 12; i++) {
      // One request crossing 80% of its person's budget and of the workspace's: two alerts, one message.
      const { ledger, teamId, request } = await setup({ dailyLimit: 10_000 });
      await ledger.setBudget({
        teamId,
        scope: 'user',
        scopeId: 'U1',
        period: 'day',
        limitMc: mc(10_000),
        by: 'UADMIN',
      });
      await holdOf(ledger, request(8_500));
      const [group] = await ledger.undeliveredAlertGroups(teamId);
      expect(group).toHaveLength(2);
      groups.push(group!);
    }
    const other = await openDatabase({ url: database.url, max: 1, migrate: false });
    try {
      const a = new Ledger(database.db);
      const b = new Ledger(other.db);
      // The two drain the same groups at once, from opposite ends and with the alerts in opposite orders.
      const [byA, byB] = await Promise.all([
        Promise.all(groups.map((g) => a.claimAlerts(g, 60_000))),
        Promise.all([...groups].reverse().map((g) => b.claimAlerts([...g].reverse(), 60_000))),
      ]);
      byB.reverse();
      for (const [i, group] of groups.entries()) {
        expect([byA[i]!.length, byB[i]!.length].sort(), `group ${i}`).toEqual([0, group.length]);
      }
    } finally {
      await other.close();
    }
  });
});

describe('overrun: Kling charged above the estimate and a hard budget went past its limit', () => {
  it('is claimed once per budget and period, naming the jobs charged above their hold, kept for delivery', async () => {
    const { ledger, teamId, request, set } = await setup({ dailyLimit: 50_000 });
    const a = await holdOf(ledger, request(20_000, { generationId: 'kbb_a' }));
    const b = await holdOf(ledger, request(20_000, { generationId: 'kbb_b' }));
    const c = await holdOf(ledger, request(5_000, { generationId: 'kbb_c' }));
    // Above its hold but still within the limit (46 of 50): no overrun yet (80 % was claimed by the holds).
    expect(summary((await ledger.commit(a.id, mc(21_000))).events)).toEqual([]);
    // 52 of 50: over.
    const over = (await ledger.commit(b.id, mc(26_000))).events;
    expect(summary(over)).toEqual(['workspace:threshold100', 'workspace:overrun']);
    expect(over[1]).toMatchObject({
      kind: 'overrun',
      chargedMc: 52_000,
      limitMc: 50_000,
      triggeredBy: 'U1',
      jobIds: ['kbb_a', 'kbb_b'],
    });
    // Another overcharge in the same period: said already.
    expect(summary((await ledger.commit(c.id, mc(9_000))).events)).toEqual([]);
    const kept = (await ledger.undeliveredAlerts(teamId)).filter((e) => e.kind === 'overrun');
    expect(kept).toEqual([expect.objectContaining({ kind: 'overrun', jobIds: ['kbb_a', 'kbb_b'] })]);
    await ledger.markAlertDelivered(kept[0]!, ['C0ALERTS']);
    expect((await ledger.undeliveredAlerts(teamId)).some((e) => e.kind === 'overrun')).toBe(false);

    // The next period has its own.
    set('2026-11-26T12:00:00Z');
    const d = await holdOf(ledger, request(45_000, { generationId: 'kbb_d' }));
    expect(summary((await ledger.commit(d.id, mc(51_000))).events)).toContain('workspace:overrun');
  });

  it('is not raised by a soft budget, nor by a commit at or below its hold', async () => {
    const { ledger, teamId, request } = await setup({ dailyLimit: 10_000 });
    const soft = {
      teamId,
      scope: 'user' as const,
      scopeId: 'U1',
      period: 'day' as const,
      limitMc: mc(1_000),
      hard: false,
    };
    await ledger.setBudget({ ...soft, by: 'UADMIN' });
    const a = await holdOf(ledger, request(9_000, { generationId: 'kbb_soft' }));
    expect(summary((await ledger.commit(a.id, mc(9_500))).events)).not.toContain('user:overrun');
    const b = await holdOf(ledger, request(500, { generationId: 'kbb_exact' }));
    expect(summary((await ledger.commit(b.id, mc(500))).events).filter((e) => e.endsWith('overrun'))).toEqual([]);
  });
});

describe('adjust', () => {
  it('raises the current period by an approved amount, recorded with who and why, and not the next period', async () => {
    const { ledger, request, workspaceBudget, set } = await setup();
    await holdOf(ledger, request(90_000));
    expect((await ledger.reserve(request(20_000))).ok).toBe(false);
    await ledger.adjust(workspaceBudget.id, mc(15_000), 'UADMIN', 'approved launch video');
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({ limitMc: 115_000, remainingMc: 25_000 });
    expect((await ledger.reserve(request(20_000))).ok).toBe(true);
    const [entry] = await rows<{ actor: string; memo: string; allowance_delta_mc: number }>(
      database.db,
      sql`
      select actor, memo, allowance_delta_mc from ledger_entries where budget_id = ${workspaceBudget.id} and kind = 'adjust'`,
    );
    expect(entry).toEqual({ actor: 'UADMIN', memo: 'approved launch video', allowance_delta_mc: 15_000 });
    set('2026-11-26T01:00:00Z');
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({ limitMc: 100_000, chargedMc: 0 });
  });
});

describe('periods', () => {
  it('a hold taken at 23:59 and committed at 00:01 counts in its own period', async () => {
    const { ledger, request, workspaceBudget, set } = await setup({ at: '2026-11-25T23:59:00Z' });
    const hold = await holdOf(ledger, request(40_000));
    set('2026-11-26T00:01:00Z');
    await ledger.commit(hold.id, mc(35_000));
    const late = await holdOf(ledger, request(10_000));
    set('2026-11-26T00:02:00Z');
    await ledger.release(late.id, 'failed');

    expect(await ledger.usage(workspaceBudget.id, new Date('2026-11-25T12:00:00Z'))).toMatchObject({
      periodStart: new Date('2026-11-25T00:00:00Z'),
      periodEnd: new Date('2026-11-26T00:00:00Z'),
      committedMc: 35_000,
      heldMc: 0,
    });
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({
      periodStart: new Date('2026-11-26T00:00:00Z'),
      chargedMc: 0,
      remainingMc: 100_000,
    });
  });

  it('a week resets on Monday and a month on the 1st, and closed periods keep their totals', async () => {
    const { ledger, teamId, request, set } = await setup({ at: '2026-11-29T23:00:00Z' }); // Sunday
    const week = await ledger.setBudget({
      teamId,
      scope: 'user',
      scopeId: 'U1',
      period: 'week',
      limitMc: mc(50_000),
      by: 'UADMIN',
    });
    const month = await ledger.setBudget({
      teamId,
      scope: 'channel',
      scopeId: 'C1',
      period: 'month',
      limitMc: mc(60_000),
      by: 'UADMIN',
    });
    await ledger.commit((await holdOf(ledger, request(45_000))).id, mc(45_000));
    expect((await ledger.reserve(request(10_000))).ok).toBe(false); // the week is full
    set('2026-11-30T00:00:00Z'); // Monday, still November
    expect((await ledger.reserve(request(10_000))).ok).toBe(true); // a new week, same month
    const refused = await ledger.reserve(request(10_000));
    expect(!refused.ok && refused.refusal.budget.id).toBe(month.id); // November has 5 000 left
    set('2026-12-01T00:00:00Z');
    expect((await ledger.reserve(request(10_000))).ok).toBe(true);

    expect(await ledger.usage(week.id, new Date('2026-11-25T00:00:00Z'))).toMatchObject({
      committedMc: 45_000,
      periodStart: new Date('2026-11-23T00:00:00Z'),
    });
    expect(await ledger.usage(month.id, new Date('2026-11-15T00:00:00Z'))).toMatchObject({
      chargedMc: 55_000,
      periodEnd: new Date('2026-12-01T00:00:00Z'),
    });
    expect(await ledger.usage(month.id)).toMatchObject({ chargedMc: 10_000 });
  });

  it('follows local midnight in Europe/Berlin across the October DST change', async () => {
    // Sunday 25 Oct 2026 is 25 hours long in Berlin: 24 Oct 22:00 UTC to 25 Oct 23:00 UTC.
    const { ledger, request, workspaceBudget, set } = await setup({
      timezone: 'Europe/Berlin',
      at: '2026-10-25T22:30:00Z',
    });
    await holdOf(ledger, request(60_000)); // 23:30 local, still Sunday
    set('2026-10-25T23:00:00Z'); // Monday 00:00 local
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({
      chargedMc: 0,
      periodStart: new Date('2026-10-25T23:00:00Z'),
    });
    expect(await ledger.usage(workspaceBudget.id, new Date('2026-10-24T22:00:00Z'))).toMatchObject({
      heldMc: 60_000,
      periodStart: new Date('2026-10-24T22:00:00Z'),
      periodEnd: new Date('2026-10-25T23:00:00Z'),
    });
  });

  it('follows local midnight in America/New_York across the March DST change', async () => {
    const { ledger, request, workspaceBudget, set } = await setup({
      timezone: 'America/New_York',
      at: '2026-03-09T03:59:00Z',
    }); // Sun 23:59 EDT
    const hold = await holdOf(ledger, request(30_000));
    set('2026-03-09T04:01:00Z'); // Mon 00:01 EDT
    await ledger.commit(hold.id, mc(30_000));
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({
      chargedMc: 0,
      periodStart: new Date('2026-03-09T04:00:00Z'),
    });
    // Sunday 8 March began at 05:00 UTC (EST) and lasted 23 hours.
    expect(await ledger.usage(workspaceBudget.id, new Date('2026-03-08T12:00:00Z'))).toMatchObject({
      committedMc: 30_000,
      periodStart: new Date('2026-03-08T05:00:00Z'),
      periodEnd: new Date('2026-03-09T04:00:00Z'),
    });
  });

  it('records who changed a limit; lowering it below the charge, or hardening an overspent soft budget, is no overspend', async () => {
    const { ledger, teamId, request, workspaceBudget } = await setup({ dailyLimit: 100_000 });
    await holdOf(ledger, request(60_000));
    await ledger.setBudget({
      teamId,
      scope: 'workspace',
      scopeId: teamId,
      period: 'day',
      limitMc: mc(40_000),
      by: 'UADMIN',
    });
    expect((await ledger.reserve(request(1))).ok).toBe(false);
    expect(await checkInvariants(database.db)).toEqual([]); // 60 000 charged over a 40 000 limit: not an overspend
    await ledger.setBudget({
      teamId,
      scope: 'workspace',
      scopeId: teamId,
      period: 'day',
      limitMc: mc(200_000),
      by: 'UADMIN',
    });
    const soft = await ledger.setBudget({
      teamId,
      scope: 'channel',
      scopeId: 'C9',
      period: 'day',
      limitMc: mc(1_000),
      hard: false,
      by: 'UADMIN',
    });
    await holdOf(ledger, request(5_000, { channelId: 'C9' })); // over a soft limit: allowed
    await ledger.setBudget({ ...soft, hard: true, by: 'UBOSS' });
    const entries = await rows<{ budget_id: number; amount_mc: number; actor: string; memo: string }>(
      database.db,
      sql`
      select budget_id, amount_mc, actor, memo from ledger_entries where team_id = ${teamId} and kind = 'limit' order by id`,
    );
    expect(entries).toEqual([
      { budget_id: workspaceBudget.id, amount_mc: 100_000, actor: 'UADMIN', memo: 'limit 100000 → 40000 mc' },
      { budget_id: workspaceBudget.id, amount_mc: 40_000, actor: 'UADMIN', memo: 'limit 40000 → 200000 mc' },
      { budget_id: soft.id, amount_mc: 5_000, actor: 'UBOSS', memo: 'limit 1000 → 1000 mc, now hard' },
    ]);
    expect(await checkInvariants(database.db)).toEqual([]);
    // A charge the limits never allowed is still caught.
    await database.db.execute(
      sql`update budget_periods set charged_mc = charged_mc + 200000 where budget_id = ${workspaceBudget.id}`,
    );
    await database.db.execute(sql`insert into ledger_entries (team_id, budget_id, period_start, kind, amount_mc, charged_delta_mc, actor)
      select ${teamId}, budget_id, period_start, 'adjust', 0, 200000, 'tamper' from budget_periods where budget_id = ${workspaceBudget.id}`);
    expect(
      (await checkInvariants(database.db)).filter((p) => p.startsWith(`hard budget ${workspaceBudget.id} `)),
    ).toHaveLength(1);
    // The entries are append-only: the tampering is undone by an entry that compensates it.
    await database.db.execute(
      sql`update budget_periods set charged_mc = charged_mc - 200000 where budget_id = ${workspaceBudget.id}`,
    );
    await database.db.execute(sql`insert into ledger_entries (team_id, budget_id, period_start, kind, amount_mc, charged_delta_mc, actor)
      select ${teamId}, budget_id, period_start, 'adjust', 0, -200000, 'untamper' from budget_periods where budget_id = ${workspaceBudget.id}`);
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('a limit changed while a reservation is opening the period applies to that period', async () => {
    const { ledger, teamId, request, workspaceBudget } = await setup({ dailyLimit: 100_000 });
    let admin: Promise<unknown> | undefined;
    let changed = false;
    await database.db.transaction(async (tx) => {
      expect((await ledger.reserve(request(1_000), tx)).ok).toBe(true); // opens today's period with 100 credits
      admin = ledger
        .setBudget({ teamId, scope: 'workspace', scopeId: teamId, period: 'day', limitMc: mc(5_000), by: 'UADMIN' })
        .then(() => (changed = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(changed).toBe(false); // it waits for the period being opened…
    });
    await admin; // …and then changes it
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({ limitMc: 5_000, chargedMc: 1_000 });
    expect((await ledger.reserve(request(50_000))).ok).toBe(false);
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('a limit change applies to the current period only', async () => {
    const { ledger, teamId, request, workspaceBudget, set } = await setup();
    await holdOf(ledger, request(10_000));
    await ledger.setBudget({
      teamId,
      scope: 'workspace',
      scopeId: teamId,
      period: 'day',
      limitMc: mc(50_000),
      by: 'UADMIN',
    });
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({ limitMc: 50_000, remainingMc: 40_000 });
    set('2026-11-27T12:00:00Z');
    expect(await ledger.usage(workspaceBudget.id, new Date('2026-11-25T12:00:00Z'))).toMatchObject({
      limitMc: 50_000,
      chargedMc: 10_000,
    });
  });
});

describe('a budget set mid-period', () => {
  it('counts what its scope already spent in the period: open and committed holds, not released ones', async () => {
    const { ledger, teamId, request, set } = await setup({ at: '2026-11-25T09:00:00Z' });
    await holdOf(ledger, request(9_000, { userId: 'U2' })); // another person's
    set('2026-11-25T09:30:00Z');
    const committed = await holdOf(ledger, request(1_500));
    await ledger.commit(committed.id, mc(2_000)); // Kling charged more than the estimate
    const open = await holdOf(ledger, request(2_500, { tag: 'launch' }));
    const released = await holdOf(ledger, request(5_000));
    await ledger.release(released.id, 'task failed');
    set('2026-11-24T23:00:00Z'); // yesterday's spending is not this period's
    await holdOf(ledger, request(7_000));

    set('2026-11-25T12:00:00Z');
    const user = (limit: number) =>
      ledger.setBudget({ teamId, scope: 'user', scopeId: 'U1', period: 'day', limitMc: mc(limit), by: 'UADMIN' });
    const budget = await user(10_000);
    const tag = await ledger.setBudget({
      teamId,
      scope: 'tag',
      scopeId: 'launch',
      period: 'week',
      limitMc: mc(3_000),
      by: 'UADMIN',
    });
    expect(await ledger.usage(budget.id)).toMatchObject({ chargedMc: 4_500, heldMc: 2_500, remainingMc: 5_500 });
    expect(await ledger.usage(tag.id)).toMatchObject({ chargedMc: 2_500, remainingMc: 500 });
    // Changing the limit later does not count the spending twice.
    await user(5_000);
    expect(await ledger.usage(budget.id)).toMatchObject({ chargedMc: 4_500, remainingMc: 500 });
    expect((await ledger.reserve(request(1_000))).ok).toBe(false);

    // The open hold settles on the new budget's period too.
    await ledger.commit(open.id, mc(2_000));
    expect(await ledger.usage(budget.id)).toMatchObject({ chargedMc: 4_000, heldMc: 0, remainingMc: 1_000 });
    expect(await ledger.usage(tag.id)).toMatchObject({ chargedMc: 2_000 });
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('may start beyond its limit: nothing more fits, and the invariants hold', async () => {
    const { ledger, teamId, request } = await setup();
    const spent = await holdOf(ledger, request(8_000, { channelId: 'C7' }));
    await ledger.commit(spent.id, mc(8_000));
    const channel = await ledger.setBudget({
      teamId,
      scope: 'channel',
      scopeId: 'C7',
      period: 'month',
      limitMc: mc(5_000),
      by: 'UADMIN',
    });
    expect(await ledger.usage(channel.id)).toMatchObject({ chargedMc: 8_000, remainingMc: 0 });
    expect((await ledger.reserve(request(500, { channelId: 'C7' }))).ok).toBe(false);
    expect((await ledger.reserve(request(500, { channelId: 'C8' }))).ok).toBe(true);
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  /** U1's first daily budget, 10 credits, set through `db` (a transaction's, to keep it open). */
  const setFirstBudget = (db: Db, teamId: string) =>
    new Ledger(db, { now: () => new Date('2026-11-25T12:00:00Z') }).setBudget({
      teamId,
      scope: 'user',
      scopeId: 'U1',
      period: 'day',
      limitMc: mc(10_000),
      by: 'UADMIN',
    });

  /**
   * Runs `open` in a transaction held open for 200 ms while `meanwhile` starts on a second connection, as another
   * replica would; resolves once both are done.
   */
  async function overlapping(open: (tx: Db) => Promise<unknown>, meanwhile: (other: Db) => Promise<unknown>) {
    const other = await openDatabase({ url: database.url, max: 1, migrate: false });
    try {
      let second: Promise<unknown> | undefined;
      await database.db.transaction(async (tx) => {
        await open(tx);
        second = meanwhile(other.db);
        await new Promise((resolve) => setTimeout(resolve, 200));
      });
      await second;
    } finally {
      await other.close();
    }
  }

  const userUsage = async (ledger: Ledger, teamId: string) =>
    (await ledger.usageFor({ teamId, channelId: 'C1', userId: 'U1' })).find((u) => u.budget.scope === 'user');

  it('counts a reservation still in flight when the budget is set', async () => {
    const { ledger, teamId, request } = await setup();
    // The reservation is made, not yet committed, when the admin sets the person's first budget.
    await overlapping(
      (tx) => ledger.reserve(request(3_000), tx),
      (other) => setFirstBudget(other, teamId),
    );
    expect(await userUsage(ledger, teamId)).toMatchObject({ chargedMc: 3_000, heldMc: 3_000, remainingMc: 7_000 });
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('a hold settled while the budget is being set is settled on the new period too', async () => {
    const { ledger, teamId, request } = await setup();
    const hold = await holdOf(ledger, request(3_000));
    // The hold is locked by the budget's opening: the commit waits for it, then finds its new entry.
    await overlapping(
      (tx) => setFirstBudget(tx, teamId),
      (other) => new Ledger(other, { now: () => new Date('2026-11-25T12:00:00Z') }).commit(hold.id, mc(1_000)),
    );
    expect(await userUsage(ledger, teamId)).toMatchObject({ chargedMc: 1_000, heldMc: 0 });
    expect(await checkInvariants(database.db)).toEqual([]);
  });
});

describe('usageFor', () => {
  it('lists every budget that applies to the person in the channel, user first', async () => {
    const { ledger, teamId, request } = await setup();
    await ledger.setBudget({
      teamId,
      scope: 'channel',
      scopeId: 'C1',
      period: 'week',
      limitMc: mc(50_000),
      by: 'UADMIN',
    });
    await ledger.setBudget({
      teamId,
      scope: 'channel',
      scopeId: 'C2',
      period: 'week',
      limitMc: mc(50_000),
      by: 'UADMIN',
    });
    await ledger.setBudget({ teamId, scope: 'user', scopeId: 'U1', period: 'day', limitMc: mc(20_000), by: 'UADMIN' });
    await holdOf(ledger, request(5_000));
    const usages = await ledger.usageFor({ teamId, channelId: 'C1', userId: 'U1' });
    expect(usages.map((u) => [u.budget.scope, u.budget.scopeId, u.heldMc, u.remainingMc])).toEqual([
      ['user', 'U1', 5_000, 15_000],
      ['channel', 'C1', 5_000, 45_000],
      ['workspace', teamId, 5_000, 95_000],
    ]);
  });

  it('usages reads several budgets in one query, in the order asked, and names a budget that does not exist', async () => {
    const { ledger, teamId, request, workspaceBudget } = await setup();
    const channel = await ledger.setBudget({
      teamId,
      scope: 'channel',
      scopeId: 'C2',
      period: 'week',
      limitMc: mc(50_000),
      by: 'UADMIN',
    });
    await holdOf(ledger, request(5_000));
    const usages = await ledger.usages([channel.id, workspaceBudget.id]);
    expect(usages.map((u) => [u.budget.id, u.heldMc, u.remainingMc])).toEqual([
      [channel.id, 0, 50_000],
      [workspaceBudget.id, 5_000, 95_000],
    ]);
    await expect(ledger.usages([workspaceBudget.id, 987_654_321])).rejects.toThrow('there is no budget 987654321');
  });
});

describe('transactions', () => {
  it('a reservation inside a caller transaction disappears when it rolls back', async () => {
    const { ledger, request, workspaceBudget } = await setup();
    await expect(
      database.db.transaction(async (tx) => {
        const result = await ledger.reserve(request(30_000), tx);
        expect(result.ok).toBe(true);
        throw new Error('enqueue failed');
      }),
    ).rejects.toThrow('enqueue failed');
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({ chargedMc: 0 });
    await database.db.transaction(async (tx) => {
      const hold = await holdOf(ledger, request(30_000));
      await ledger.commit(hold.id, mc(30_000), tx);
    });
    expect(await ledger.usage(workspaceBudget.id)).toMatchObject({ committedMc: 30_000 });
  });
});

describe('a workspace first seen inside a transaction that rolls back', () => {
  it('is created again by the next reservation', async () => {
    const ledger = new Ledger(database.db, { now: () => new Date('2026-11-25T12:00:00Z') });
    const request = { teamId: 'TROLLBACK', channelId: 'C', userId: 'U', amountMc: mc(1_000) };
    await expect(
      database.db.transaction(async (tx) => {
        expect((await ledger.reserve(request, tx)).ok).toBe(true);
        throw new Error('rolled back');
      }),
    ).rejects.toThrow('rolled back');
    expect((await ledger.reserve(request)).ok).toBe(true);
  });
});

describe('embedded PGlite', () => {
  it('runs the same migrations and the same ledger', async () => {
    const embedded = await openDatabase({ dataDir: 'memory://' });
    try {
      const ledger = new Ledger(embedded.db, {
        defaultDailyLimitMc: mc(10_000),
        defaultTimezone: 'Europe/Berlin',
        now: () => new Date('2026-03-29T12:00:00Z'),
      });
      const hold = await holdOf(ledger, { teamId: 'T', channelId: 'C', userId: 'U', amountMc: mc(9_000) });
      const refused = await ledger.reserve({ teamId: 'T', channelId: 'C', userId: 'U', amountMc: mc(2_000) });
      expect(!refused.ok && refused.refusal.remainingMc).toBe(1_000);
      await ledger.commit(hold.id, mc(8_500));
      const [usage] = await ledger.usageFor({ teamId: 'T', channelId: 'C', userId: 'U' });
      expect(usage).toMatchObject({
        committedMc: 8_500,
        periodStart: new Date('2026-03-28T23:00:00Z'),
        periodEnd: new Date('2026-03-29T22:00:00Z'),
      });
      expect(await checkInvariants(embedded.db)).toEqual([]);
    } finally {
      await embedded.close();
    }
  }, 240_000); // starting PGlite (WebAssembly) and migrating it is slow on a busy two-core machine
});
