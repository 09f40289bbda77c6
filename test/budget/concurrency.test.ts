// Reservations racing from many connections (separate postgres.js clients, as separate bot replicas
// would): never over any limit, exactly as many granted as fit, and the ledger invariants afterwards.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, checkInvariants, type LedgerEvent, type ReserveRequest, type ReserveResult } from '../../src/budget';
import { openDatabase, rows, sql, type Database } from '../../src/db';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

const CLIENTS = 24; // + the test database's own pool: 28 connections, under the 40 a file may hold
const NOW = new Date('2026-11-25T12:00:00Z');

let database: TestDatabase;
let clients: { db: Database; ledger: Ledger }[];
let admin: Ledger;

beforeAll(async () => {
  database = await createTestDatabase({ max: 4 });
  admin = new Ledger(database.db, { now: () => NOW });
  clients = await Promise.all(
    Array.from({ length: CLIENTS }, async () => {
      const db = await openDatabase({ url: database.url, max: 1, migrate: false });
      return { db, ledger: new Ledger(db.db, { now: () => NOW }) };
    }),
  );
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.db.close()));
  await database.drop();
});

/** Runs one loop per client, all released at the same instant. */
async function race<T>(loop: (ledger: Ledger, client: number) => Promise<T>): Promise<T[]> {
  let go!: () => void;
  const start = new Promise<void>((resolve) => (go = resolve));
  const running = clients.map(async ({ ledger }, client) => {
    await start;
    return loop(ledger, client);
  });
  go();
  return Promise.all(running);
}

const events = (results: ReserveResult[]) => results.flatMap((r) => r.events);
const count = (all: LedgerEvent[], kind: string, threshold?: number) =>
  all.filter(
    (e) => e.kind === kind && (threshold === undefined || (e.kind === 'threshold' && e.threshold === threshold)),
  ).length;

async function periods(teamId: string) {
  return rows<{ scope: string; scope_id: string; charged: number; room: number }>(
    database.db,
    sql`
    select b.scope, b.scope_id, p.charged_mc as charged, p.limit_mc + p.allowance_mc as room
    from budget_periods p join budgets b on b.id = p.budget_id where b.team_id = ${teamId} and p.hard`,
  );
}

describe('racing reservations', () => {
  it('on one budget: 240 from 24 connections, exactly the 100 that fit are granted, alerts once', async () => {
    const teamId = 'TONE';
    await admin.ensureWorkspace(teamId);
    const [budget] = await admin.budgets(teamId);
    await admin.setBudget({ ...budget!, limitMc: mc(100_000), by: 'UADMIN' });

    const results = (
      await race(async (ledger, client) => {
        const mine: ReserveResult[] = [];
        for (let i = 0; i < 10; i++)
          mine.push(
            await ledger.reserve({ teamId, channelId: `C${client % 3}`, userId: `U${client}`, amountMc: mc(1_000) }),
          );
        return mine;
      })
    ).flat();

    expect(results).toHaveLength(240);
    expect(results.filter((r) => r.ok)).toHaveLength(100);
    expect(await admin.usage(budget!.id)).toMatchObject({ chargedMc: 100_000, heldMc: 100_000, remainingMc: 0 });
    const all = events(results);
    expect([count(all, 'threshold', 80), count(all, 'threshold', 100), count(all, 'exhausted')]).toEqual([1, 1, 1]);
    // Only granted reservations carry threshold events; the exhausted one comes with a refusal.
    expect(
      results
        .filter((r) => !r.ok)
        .flatMap((r) => r.events)
        .every((e) => e.kind === 'exhausted'),
    ).toBe(true);
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('on overlapping budgets (user + channel + workspace), with batches: never over any limit, and no refused request would fit', async () => {
    const teamId = 'TOVERLAP';
    await admin.ensureWorkspace(teamId);
    const [workspace] = await admin.budgets(teamId);
    await admin.setBudget({ ...workspace!, limitMc: mc(150_000), by: 'UADMIN' });
    for (let c = 0; c < 3; c++)
      await admin.setBudget({
        teamId,
        scope: 'channel',
        scopeId: `C${c}`,
        period: 'week',
        limitMc: mc(60_000),
        by: 'UADMIN',
      });
    for (let u = 0; u < 8; u++)
      await admin.setBudget({
        teamId,
        scope: 'user',
        scopeId: `U${u}`,
        period: 'month',
        limitMc: mc(25_000),
        by: 'UADMIN',
      });
    await admin.setBudget({
      teamId,
      scope: 'user',
      scopeId: 'U0',
      period: 'day',
      limitMc: mc(9_000),
      hard: false,
      by: 'UADMIN',
    });

    // 24 clients, 3 per user; users spread over the channels; every third attempt is a batch across two channels.
    const attempts = (
      await race(async (ledger, client) => {
        const made: { requests: ReserveRequest[]; result: ReserveResult }[] = [];
        const userId = `U${client % 8}`;
        for (let i = 0; i < 10; i++) {
          const amount = 1_000 * (1 + ((client + i) % 4));
          const requests: ReserveRequest[] =
            i % 3 === 2
              ? [
                  { teamId, channelId: `C${i % 3}`, userId, amountMc: mc(amount) },
                  { teamId, channelId: `C${(i + 1) % 3}`, userId, amountMc: mc(1_000) },
                ]
              : [{ teamId, channelId: `C${(client + i) % 3}`, userId, amountMc: mc(amount) }];
          made.push({ requests, result: await ledger.reserve(requests) });
        }
        return made;
      })
    ).flat();

    expect(attempts.length).toBeGreaterThanOrEqual(240);
    const granted = attempts.filter((a) => a.result.ok);
    for (const a of granted) expect(a.result.ok && a.result.holds).toHaveLength(a.requests.length);
    expect(granted.length).toBeGreaterThan(20);
    expect(attempts.length - granted.length).toBeGreaterThan(20);

    const rowsNow = await periods(teamId);
    for (const p of rowsNow) expect(p.charged, `${p.scope} ${p.scope_id}`).toBeLessThanOrEqual(p.room);
    // Each period's charge is exactly what was granted against it.
    const grantedOn = (scope: string, id: string) =>
      granted
        .flatMap((a) => a.requests)
        .filter((r) => scope === 'workspace' || (scope === 'channel' ? r.channelId === id : r.userId === id))
        .reduce((sum, r) => sum + r.amountMc, 0);
    for (const p of rowsNow) expect(p.charged, `${p.scope} ${p.scope_id}`).toBe(grantedOn(p.scope, p.scope_id));
    // Charges only grew during the race, so a refused request must still not fit one of its hard budgets now.
    const room = (scope: string, id: string) => {
      const row = rowsNow.find((p) => p.scope === scope && p.scope_id === id);
      return row ? row.room - row.charged : Infinity;
    };
    for (const a of attempts.filter((x) => !x.result.ok)) {
      const need = (scope: string, id: string) =>
        a.requests
          .filter((r) => scope === 'workspace' || (scope === 'channel' ? r.channelId === id : r.userId === id))
          .reduce((sum, r) => sum + r.amountMc, 0);
      const budgetsHit: [string, string][] = [
        ['workspace', teamId],
        ...a.requests.map((r): [string, string] => ['channel', r.channelId]),
        ['user', a.requests[0]!.userId],
      ];
      expect(
        budgetsHit.some(([scope, id]) => need(scope, id) > room(scope, id)),
        JSON.stringify(a.requests),
      ).toBe(true);
    }
    // The soft daily budget of U0 alerted without refusing anything.
    expect(
      count(
        events(attempts.map((a) => a.result)).filter((e) => !e.budget.hard),
        'exhausted',
      ),
    ).toBe(0);
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('on a tag budget: from 24 connections exactly the tagged requests that fit are granted, untagged ones pass', async () => {
    const teamId = 'TTAG';
    await admin.ensureWorkspace(teamId);
    const [workspace] = await admin.budgets(teamId);
    await admin.setBudget({ ...workspace!, limitMc: mc(1_000_000), by: 'UADMIN' });
    await admin.setBudget({
      teamId,
      scope: 'tag',
      scopeId: 'launch',
      period: 'day',
      limitMc: mc(50_000),
      by: 'UADMIN',
    });

    // Even clients tag every request 'launch', odd ones alternate between another tag and none.
    const attempts = (
      await race(async (ledger, client) => {
        const made: { tag?: string; result: ReserveResult }[] = [];
        for (let i = 0; i < 10; i++) {
          const tag = client % 2 === 0 ? 'launch' : i % 2 ? 'other' : undefined;
          const request = { teamId, channelId: `C${client % 3}`, userId: `U${client}`, amountMc: mc(1_000), tag };
          made.push({ tag, result: await ledger.reserve(request) });
        }
        return made;
      })
    ).flat();

    const tagged = attempts.filter((a) => a.tag === 'launch');
    expect(tagged).toHaveLength(120);
    expect(tagged.filter((a) => a.result.ok)).toHaveLength(50);
    expect(attempts.filter((a) => a.tag !== 'launch').every((a) => a.result.ok)).toBe(true);
    const refused = tagged.find((a) => !a.result.ok)!.result;
    expect(!refused.ok && refused.refusal.budget).toMatchObject({ scope: 'tag', scopeId: 'launch' });
    const tagBudget = (await admin.budgets(teamId)).find((b) => b.scope === 'tag')!;
    expect(await admin.usage(tagBudget.id)).toMatchObject({ chargedMc: 50_000, remainingMc: 0 });
    expect(count(events(attempts.map((a) => a.result)), 'exhausted')).toBe(1);
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('with commits and releases interleaved: never over a limit while racing, and the counters come out exact', async () => {
    const teamId = 'TMIXED';
    await admin.ensureWorkspace(teamId);
    const [workspace] = await admin.budgets(teamId);
    await admin.setBudget({ ...workspace!, limitMc: mc(60_000), by: 'UADMIN' });
    for (let c = 0; c < 2; c++)
      await admin.setBudget({
        teamId,
        scope: 'channel',
        scopeId: `C${c}`,
        period: 'day',
        limitMc: mc(35_000),
        by: 'UADMIN',
      });
    for (let u = 0; u < 6; u++)
      await admin.setBudget({
        teamId,
        scope: 'user',
        scopeId: `U${u}`,
        period: 'day',
        limitMc: mc(12_000),
        by: 'UADMIN',
      });

    // A watcher samples every hard period while the race runs.
    let racing = true;
    let samples = 0;
    const over: string[] = [];
    const watcher = (async () => {
      while (racing) {
        for (const p of await periods(teamId))
          if (p.charged > p.room) over.push(`${p.scope} ${p.scope_id}: ${p.charged} > ${p.room}`);
        samples++;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();

    const outcomes = await race(async (ledger, client) => {
      let committed = 0;
      let grants = 0;
      const userId = `U${client % 6}`;
      for (let i = 0; i < 12; i++) {
        const amount = 1_000 * (1 + ((client * 7 + i) % 3));
        const result = await ledger.reserve({
          teamId,
          channelId: `C${(client + i) % 2}`,
          userId,
          amountMc: mc(amount),
        });
        if (!result.ok) continue;
        grants++;
        const hold = result.holds[0]!;
        switch ((client + i) % 4) {
          case 0:
            await ledger.release(hold.id, 'failed');
            break;
          case 1:
            await ledger.commit(hold.id, mc(amount));
            committed += amount;
            break;
          case 2:
            await ledger.commit(hold.id, mc(amount - 500));
            committed += amount - 500;
            break;
          default:
            await ledger.commit(hold.id, mc(amount));
            await ledger.commit(hold.id, mc(amount));
            committed += amount; // a retried commit
        }
      }
      return { committed, grants };
    });
    racing = false;
    await watcher;

    expect(outcomes.reduce((s, o) => s + o.grants, 0)).toBeGreaterThan(24);
    expect(samples).toBeGreaterThan(3);
    expect(over).toEqual([]);
    const committed = outcomes.reduce((s, o) => s + o.committed, 0);
    const usage = await admin.usage(workspace!.id);
    expect(usage).toMatchObject({ heldMc: 0, committedMc: committed, chargedMc: committed });
    expect(await checkInvariants(database.db)).toEqual([]);

    // What the ledger says remains is exactly what it still grants: all of it, and not one millicredit more.
    const outsider = { teamId, channelId: 'COTHER', userId: 'UOTHER' };
    expect((await admin.reserve({ ...outsider, amountMc: mc(usage.remainingMc + 1) })).ok).toBe(false);
    expect((await admin.reserve({ ...outsider, amountMc: usage.remainingMc })).ok).toBe(true);
    expect((await admin.reserve({ ...outsider, amountMc: mc(1) })).ok).toBe(false);
  });
});
