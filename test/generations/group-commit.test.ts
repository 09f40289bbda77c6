import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, checkInvariants } from '../../src/budget';
import { rows, sql, type Db } from '../../src/db';
import { GenerationQueue, type EnqueueResult } from '../../src/generations';
import { GroupCommit } from '../../src/db/group-commit';
import { builtInCatalog } from '../../src/pricing';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { request } from './support';
import { mc } from '../../src/money/credits';

/** The same database, counting the transactions the queue opens (each one is one COMMIT). */
function countingTransactions(db: Db): { db: Db; count: () => number } {
  let n = 0;
  const counted = new Proxy(db, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop !== 'transaction') return value;
      return (...args: unknown[]) => {
        n += 1;
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { db: counted, count: () => n };
}

const settled = (calls: Promise<EnqueueResult>[]) => Promise.allSettled(calls);

describe('GroupCommit', () => {
  it('runs a lone item at once, then everything that arrived meanwhile as groups of at most max, in order', async () => {
    const groups: number[][] = [];
    let release!: () => void;
    const firstRunning = new Promise<void>((resolve) => (release = resolve));
    const gc = new GroupCommit<number, number>(async (items) => {
      groups.push(items);
      if (items[0] === 0) await firstRunning;
      return items.map((value) => ({ ok: true, value: value * 10 }));
    }, 3);
    const first = gc.submit('T', 0);
    await new Promise((r) => setTimeout(r, 0));
    expect(groups).toEqual([[0]]);
    const rest = [1, 2, 3, 4, 5].map((i) => gc.submit('T', i));
    const other = gc.submit('T-other', 9); // another workspace does not wait behind T
    expect(await other).toBe(90);
    release();
    expect(await Promise.all([first, ...rest])).toEqual([0, 10, 20, 30, 40, 50]);
    expect(groups).toEqual([[0], [9], [1, 2, 3], [4, 5]]);
  });
});

/** Group commit in the queue, on real Postgres: fewer COMMITs, and every call keeps its own outcome. */
describe('GenerationQueue group commit', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase({ max: 10 });
  });
  afterAll(async () => database?.drop());

  const rig = async (teamId: string, limitMc: number) => {
    const ledger = new Ledger(database.db);
    await ledger.ensureWorkspace(teamId);
    await ledger.setBudget({
      teamId,
      scope: 'workspace',
      scopeId: teamId,
      period: 'day',
      limitMc: mc(limitMc),
      by: 'admin',
    });
    const transactions = countingTransactions(database.db);
    const queue = new GenerationQueue(transactions.db, ledger, { maxQueuedPerUser: 5 });
    const enqueue = (userId: string) => queue.enqueue({ ...request(userId), teamId });
    return { queue, enqueue, transactions: transactions.count };
  };
  const queuedOf = async (teamId: string) =>
    rows<{ user_id: string; n: number }>(
      database.db,
      sql`select user_id, count(*)::int as n from generations where team_id = ${teamId} and state = 'queued' group by user_id order by user_id`,
    );

  it('commits many concurrent enqueues of one workspace in fewer transactions', async () => {
    const { enqueue, transactions } = await rig('T-burst', 10_000_000);
    const calls = Array.from({ length: 40 }, (_, i) => enqueue(`U${i % 8}`));
    const results = await Promise.all(calls);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(transactions()).toBeLessThan(40);
    expect(await queuedOf('T-burst')).toHaveLength(8);
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('fails only the entry whose rows cannot be written; the rest of its group commits on their own', async () => {
    const { queue, transactions } = await rig('T-bad', 10_000_000);
    const bad = { ...request('U-bad'), teamId: 'T-bad' };
    // A NUL byte in jsonb text makes the generations insert fail after the entry's reservation.
    bad.quote = {
      ...bad.quote,
      request: { ...bad.quote.request, body: { ...bad.quote.request.body, prompt: 'nul \u0000 byte' } },
    };
    const good = (u: string) => queue.enqueue({ ...request(u), teamId: 'T-bad' });
    const results = await settled([good('U1'), queue.enqueue(bad), good('U2'), good('U3')]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(results.every((r) => r.status === 'rejected' || r.value.ok)).toBe(true);
    // The group's transaction failed whole; then each of its four calls ran alone.
    expect(transactions()).toBe(1 + 4);
    const holds = await rows<{ user_id: string }>(
      database.db,
      sql`select user_id from holds where team_id = 'T-bad' order by user_id`,
    );
    expect(holds.map((h) => h.user_id)).toEqual(['U1', 'U2', 'U3']);
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('grants exactly as many as fit in one group and refuses the rest, keeping the ledger whole', async () => {
    const each = request('U').quote.priceMc;
    const { enqueue, transactions } = await rig('T-mix', 7 * each + each / 2);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => enqueue(`U${i % 4}`)));
    expect(transactions()).toBeLessThan(12);
    expect(results.filter((r) => r.ok)).toHaveLength(7);
    // The first seven in arrival order fit; every later one is a budget refusal recorded as a refused row.
    expect(results.map((r) => r.ok)).toEqual([...Array(7).fill(true), ...Array(5).fill(false)]);
    for (const r of results.slice(7))
      expect(!r.ok && 'budget' in r.refusal && r.refusal.budget.scope).toBe('workspace');
    const [refused] = await rows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from generations where team_id = 'T-mix' and state = 'refused'`,
    );
    expect(refused!.n).toBe(5);
    const [charged] = await rows<{ mc: number }>(
      database.db,
      sql`select sum(p.charged_mc)::int as mc from budget_periods p join budgets b on b.id = p.budget_id where b.team_id = 'T-mix' and b.scope = 'workspace'`,
    );
    expect(charged!.mc).toBe(7 * each);
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('holds the per-person cap within one group, counting what the group granted before', async () => {
    const { enqueue, transactions } = await rig('T-cap', 10_000_000);
    const results = await Promise.all(Array.from({ length: 16 }, (_, i) => enqueue(i % 2 ? 'U-odd' : 'U-even')));
    expect(transactions()).toBe(1);
    const full = results.filter((r) => !r.ok && 'kind' in r.refusal && r.refusal.kind === 'user-queue-full');
    expect(full).toHaveLength(6);
    expect(await queuedOf('T-cap')).toEqual([
      { user_id: 'U-even', n: 5 },
      { user_id: 'U-odd', n: 5 },
    ]);
  });

  it("does not count a person's refused reservation toward their cap later in the same group", async () => {
    const { queue, enqueue, transactions } = await rig('T-exact', 5 * request('U').quote.priceMc);
    for (let i = 0; i < 4; i++) expect((await enqueue('U-near')).ok).toBe(true); // one under the cap of 5
    const expensive = { ...request('U-near'), teamId: 'T-exact' };
    expensive.quote = builtInCatalog.quote({
      endpoint: 'text2video',
      body: { prompt: 'a long fox', model_name: 'kling-v2-5-turbo', mode: 'pro', duration: '10' },
    });
    const before = transactions();
    const [big, small] = await Promise.all([queue.enqueue(expensive), enqueue('U-near')]);
    expect(transactions() - before).toBe(1); // one group
    expect(!big.ok && 'budget' in big.refusal).toBe(true);
    expect(small.ok).toBe(true);
    expect(await queuedOf('T-exact')).toEqual([{ user_id: 'U-near', n: 5 }]);
  });

  it('answers enqueues unlessDuplicate with the earlier job inside the group, holding nothing for them', async () => {
    const { queue, transactions } = await rig('T-dup', 10_000_000);
    const asked = (prompt: string) => ({ ...request('U', prompt), teamId: 'T-dup' });
    const done = await queue.enqueue(asked('a fox'));
    if (!done.ok) throw new Error('not queued');
    await database.db.execute(
      sql`update generations set state = 'succeeded', ended_at = now() where id = ${done.generations[0]!.id}`,
    );
    const before = transactions();
    const answers = await Promise.all([
      queue.enqueueUnlessDuplicate(asked('a fox')),
      queue.enqueueUnlessDuplicate(asked('a hare')),
      queue.enqueueUnlessDuplicate(asked('  a   fox ')),
      queue.enqueue(asked('a fox')), // a plain enqueue ("generate anyway") is not looked up
    ]);
    expect(transactions() - before).toBe(1);
    expect(answers.map((a) => ('duplicate' in a ? a.duplicate.id : a.ok))).toEqual([
      done.generations[0]!.id,
      true,
      done.generations[0]!.id,
      true,
    ]);
    const [holds] = await rows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from holds where team_id = 'T-dup'`,
    );
    expect(holds!.n).toBe(3);
    expect(await queue.findSucceededDuplicate('T-dup', asked('a fox').quote.request)).toMatchObject({
      id: done.generations[0]!.id,
    });
    expect(await queue.findSucceededDuplicate('T-elsewhere', asked('a fox').quote.request)).toBeUndefined();
  });

  it('queues a claim once: in one group, across two queues (replicas) on one database, after a refusal', async () => {
    const { queue, transactions } = await rig('T-claim', 10_000_000);
    const replica = new GenerationQueue(database.db, new Ledger(database.db), { maxQueuedPerUser: 5 });
    const asked = (prompt: string) => ({ ...request('U', prompt), teamId: 'T-claim' });
    const before = transactions();
    // Three calls in one tick (one group) and one on the other replica, all with one key: one job.
    const answers = await Promise.all([
      queue.enqueue(asked('an owl'), { key: 'k1' }),
      queue.enqueueUnlessDuplicate(asked('an owl'), { key: 'k1' }),
      queue.enqueue(asked('an owl'), { key: 'k1' }),
      replica.enqueue(asked('an owl'), { key: 'k1' }),
    ]);
    expect(transactions() - before).toBe(1);
    const first = answers.find((a) => a.ok);
    if (!first?.ok) throw new Error('nothing queued');
    const claimedIds = answers.map((a) => 'claimed' in a && a.claimed.map((g) => g.id)).filter(Boolean);
    expect(claimedIds).toEqual(Array(3).fill([first.generations[0]!.id]));
    // Later, a batch under a key: a second call finds every job of the batch.
    const batch = await queue.enqueue([asked('a mole'), asked('a vole')], { key: 'k2' });
    const again = await replica.enqueue([asked('a mole'), asked('a vole')], { key: 'k2' });
    const ids = batch.ok && batch.generations.map((g) => g.id);
    expect('claimed' in again && again.claimed.map((g) => g.id)).toEqual(ids);
    // A refusal claims nothing: once the budget allows it, the same key queues.
    const setLimit = (limitMc: number) =>
      new Ledger(database.db).setBudget({
        teamId: 'T-claim',
        scope: 'workspace',
        scopeId: 'T-claim',
        period: 'day',
        limitMc: mc(limitMc),
        by: 'admin',
      });
    await setLimit(1);
    const refused = await queue.enqueue(asked('a wren'), { key: 'k3' });
    expect(refused).toMatchObject({ ok: false, refusal: { remainingMc: expect.any(Number) } });
    await setLimit(10_000_000);
    expect(await queue.enqueue(asked('a wren'), { key: 'k3' })).toMatchObject({ ok: true });
    // A claim's first step says no: nothing is held or queued.
    const declined = await queue.enqueue(asked('a lark'), { key: 'k4', first: async () => false });
    expect(declined).toEqual({ ok: false, claimed: [], events: [] });
    const [counts] = await rows<{ jobs: number; holds: number }>(
      database.db,
      sql`
      select (select count(*)::int from generations where team_id = 'T-claim' and state = 'queued') as jobs,
             (select count(*)::int from holds where team_id = 'T-claim') as holds`,
    );
    expect(counts).toEqual({ jobs: 4, holds: 4 });
    expect(await checkInvariants(database.db)).toEqual([]);
  });

  it('never runs a group again when its COMMIT failed after the work: that group may have been kept', async () => {
    const ledger = new Ledger(database.db);
    await ledger.ensureWorkspace('T-lost');
    // The first transaction commits, then its answer is lost, as when the connection drops during COMMIT.
    let lost = false;
    const flaky = new Proxy(database.db, {
      get: (target, prop, receiver) =>
        prop === 'transaction'
          ? async (...args: Parameters<typeof target.transaction>) => {
              const result = await target.transaction(...args);
              if (!lost) {
                lost = true;
                throw Object.assign(new Error('write CONNECTION_CLOSED'), { code: 'CONNECTION_CLOSED' });
              }
              return result;
            }
          : Reflect.get(target, prop, receiver),
    });
    const queue = new GenerationQueue(flaky, new Ledger(flaky), { maxQueuedPerUser: 5 });
    await expect(queue.enqueue({ ...request('U-lost'), teamId: 'T-lost' })).rejects.toThrow('CONNECTION_CLOSED');
    lost = false;
    await expect(
      new Ledger(flaky).reserve({ teamId: 'T-lost', channelId: 'C1', userId: 'U-lost', amountMc: mc(1_000) }),
    ).rejects.toThrow('CONNECTION_CLOSED');
    // Each was kept once (the COMMIT did happen), never twice.
    const [kept] = await rows<{ holds: number; jobs: number }>(
      database.db,
      sql`
      select (select count(*)::int from holds where team_id = 'T-lost') as holds, (select count(*)::int from generations where team_id = 'T-lost') as jobs`,
    );
    expect(kept).toEqual({ holds: 2, jobs: 1 });
    expect(await checkInvariants(database.db)).toEqual([]);
  });
});
