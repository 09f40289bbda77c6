import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger, checkInvariants } from '../../src/budget';
import { GenerationQueue } from '../../src/generations';
import { rows, sql } from '../../src/db';
import { builtInCatalog, type Quote } from '../../src/pricing';
import { ApprovalRequests, Requests, Workspaces } from '../../src/requests';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

/** Temporary raises through the use cases, on real Postgres, with a clock the test moves. */

const quoteOf = (prompt: string): Quote =>
  builtInCatalog.quote({ endpoint: 'text2video', body: { prompt, model_name: 'kling-v2-5-turbo' } });

describe('a raise granted on an approval', () => {
  let database: TestDatabase;
  const clock = { now: new Date('2026-11-25T12:00:00Z') };
  let ledger: Ledger;
  let requests: Requests;
  let teams = 0;

  beforeAll(async () => {
    database = await createTestDatabase();
    const now = () => clock.now;
    ledger = new Ledger(database.db, { now, defaultDailyLimitMc: mc(10_000_000), defaultTimezone: 'Europe/Berlin' });
    const queue = new GenerationQueue(database.db, ledger, { maxQueuedPerUser: 50, now });
    requests = new Requests({
      ledger,
      queue,
      workspaces: new Workspaces(ledger, {}),
      approvals: new ApprovalRequests(database.db, now),
      db: database.db,
      now,
      onQueued: () => {},
      onAlerts: () => {},
      onRefused: () => {},
    });
  });
  afterAll(async () => {
    expect(await checkInvariants(database.db)).toEqual([]);
    await database?.drop();
  });

  /** A person with a hard daily budget of 1 credit, refused `quote`, who asked the admins. */
  async function asked(prompt: string) {
    clock.now = new Date('2026-11-25T12:00:00Z');
    const scope = { teamId: `T-raise-${++teams}`, channelId: 'C1', userId: 'U-short' };
    const quote = quoteOf(prompt);
    const user = { teamId: scope.teamId, scope: 'user' as const, scopeId: 'U-short', period: 'day' as const };
    await requests.setBudget({ ...user, limitMc: mc(1_000), by: 'U-admin' });
    expect((await requests.video(scope, { quote })).kind).toBe('refused');
    const sent = await requests.askApproval(scope, { commandText: `generate ${prompt}`, quote });
    if (sent.kind !== 'sent') throw new Error(sent.kind);
    const decision = { approvalId: sent.approval.id, teamId: scope.teamId, adminId: 'U-admin' };
    return { scope, quote, decision, price: () => ({ quote }) };
  }

  const raisesOf = async (approvalId: string) =>
    (
      await rows<{ amount_mc: number; ends_at: string }>(
        database.db,
        sql`select amount_mc, ends_at from budget_raises where approval_id = ${approvalId}`,
      )
    ).map((r) => ({ amount_mc: Number(r.amount_mc), ends_at: new Date(r.ends_at) }));

  it('proposes what the request lacks until at least a week ahead; refuses too little, a past day or past 90 days, writing nothing', async () => {
    const { quote, decision, price } = await asked('an otter');
    const form = await requests.raiseForm(decision, price);
    if (form.kind !== 'raise') throw new Error(form.kind);
    expect(form.lacksMc).toBe(quote.priceMc - 1_000);
    expect(form.raisable.map((u) => u.budget.scope)).toEqual(['user']);
    // A daily budget's period ends tonight: the proposal is a week ahead, and the bound 90 days.
    expect(form.until).toEqual({ year: 2026, month: 12, day: 2 });
    expect(form.last).toEqual({ year: 2027, month: 2, day: 23 });

    const until = { year: 2026, month: 11, day: 27 };
    expect(await requests.approve(decision, price, { amountMc: mc(form.lacksMc - 1), until })).toEqual({
      kind: 'raise-too-small',
      lacksMc: form.lacksMc,
    });
    expect(
      await requests.approve(decision, price, { amountMc: form.lacksMc, until: { year: 2026, month: 11, day: 24 } }),
    ).toEqual({ kind: 'raise-ends-too-soon', first: { year: 2026, month: 11, day: 25 } });
    expect(
      await requests.approve(decision, price, { amountMc: form.lacksMc, until: { year: 2027, month: 2, day: 24 } }),
    ).toEqual({ kind: 'raise-ends-too-late', last: form.last });
    expect(await raisesOf(decision.approvalId)).toEqual([]);
    expect((await requests.raiseForm(decision, price)).kind).toBe('raise'); // still pending

    // The admin's form is checked the same way before the approval runs, and the check writes nothing either.
    const tooSmall = { amountMc: mc(form.lacksMc - 1), until };
    expect(await requests.checkRaise(decision, price, tooSmall)).toEqual({
      kind: 'raise-too-small',
      lacksMc: form.lacksMc,
    });
    expect(await requests.checkRaise(decision, price, { amountMc: form.lacksMc, until })).toBeUndefined();
    expect(await raisesOf(decision.approvalId)).toEqual([]);
    expect((await requests.raiseForm(decision, price)).kind).toBe('raise');
  });

  it('queues the request, lets a request that fits only with it through, shows in the budgets, and ends at its date', async () => {
    const { scope, quote, decision, price } = await asked('a heron');
    const amountMc = mc(2 * quote.priceMc);
    // Through the 26th in Berlin: it ends at midnight there, 23:00 UTC.
    const outcome = await requests.approve(decision, price, { amountMc, until: { year: 2026, month: 11, day: 26 } });
    const endsAt = new Date('2026-11-26T23:00:00Z');
    expect(outcome).toMatchObject({
      kind: 'approved',
      queued: true,
      raised: [{ budget: { scope: 'user', scopeId: 'U-short' }, amountMc, endsAt }],
    });
    expect(await raisesOf(decision.approvalId)).toEqual([{ amount_mc: amountMc, ends_at: endsAt }]);

    // What /kling budget shows: the raised limit and the raise with its end and who granted it.
    const [mine] = (await requests.budgetsFor(scope)).filter((u) => u.budget.scope === 'user');
    expect(mine).toMatchObject({ limitMc: 1_000 + amountMc, chargedMc: quote.priceMc });
    expect(mine!.raises).toEqual([expect.objectContaining({ amountMc, endsAt, grantedBy: 'U-admin' })]);

    // Tomorrow is a new period, raised too: the same request, over the base limit, fits only with the raise.
    clock.now = new Date('2026-11-26T22:59:59Z');
    expect((await requests.video(scope, { quote, skipDuplicate: true })).kind).toBe('queued');
    // At its end, the same request is refused again.
    clock.now = endsAt;
    const after = await requests.video(scope, { quote, skipDuplicate: true });
    expect(after).toMatchObject({ kind: 'refused', refusal: { budget: { scope: 'user' } } });
    const [later] = (await requests.budgetsFor(scope)).filter((u) => u.budget.scope === 'user');
    expect({ limit: later!.limitMc, raises: later!.raises }).toEqual({ limit: 1_000, raises: [] });
  });

  it('two admins granting at once (or one approving while another raises) write one decision and one raise', async () => {
    const { quote, decision, price } = await asked('a lynx');
    const until = { year: 2026, month: 11, day: 30 };
    const grant = (adminId: string) =>
      requests.approve({ ...decision, adminId }, price, { amountMc: mc(quote.priceMc), until });
    const outcomes = await Promise.all([grant('U-ada'), grant('U-bob'), requests.approve(decision, price)]);
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['approved', 'decided-already', 'decided-already']);
    const won = outcomes.find((o) => o.kind === 'approved')!;
    const raises = await raisesOf(decision.approvalId);
    const adjusted = await rows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from ledger_entries where kind = 'adjust' and memo like ${`approved ${decision.approvalId}%`}`,
    );
    // Exactly one grant: a raise if a raise won, an adjustment if the plain approval did.
    expect(raises.length + adjusted[0]!.n).toBe(1);
    const loser = outcomes.find((o) => o.kind === 'decided-already');
    expect(loser).toMatchObject({
      request: { state: 'approved', decidedBy: won.kind === 'approved' && won.request.decidedBy },
    });
    const [jobs] = await rows<{ n: number }>(
      database.db,
      sql`select count(*)::int as n from generations where team_id = ${decision.teamId} and state <> 'refused'`,
    );
    expect(jobs!.n).toBe(1);
  });
});
