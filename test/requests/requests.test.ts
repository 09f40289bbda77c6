import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ledger } from '../../src/budget';
import { GenerationQueue } from '../../src/generations';
import { rows, sql } from '../../src/db';
import { builtInCatalog, type Quote } from '../../src/pricing';
import { ApprovalRequests, Requests, Workspaces } from '../../src/requests';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { mc } from '../../src/money/credits';

/** The use cases on a real ledger and queue, with no Slack: what they answer, and what they tell the ports. */

const quoteOf = (prompt: string): Quote =>
  builtInCatalog.quote({ endpoint: 'text2video', body: { prompt, model_name: 'kling-v2-5-turbo' } });

describe('use cases', () => {
  let database: TestDatabase;
  let ledger: Ledger;
  let requests: Requests;
  const queued: string[][] = [];
  const refused: string[] = [];
  const alerted: string[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
    ledger = new Ledger(database.db, { defaultDailyLimitMc: mc(10_000_000) });
    const queue = new GenerationQueue(database.db, ledger, { maxQueuedPerUser: 50 });
    requests = new Requests({
      ledger,
      queue,
      workspaces: new Workspaces(ledger, {}),
      approvals: new ApprovalRequests(database.db),
      db: database.db,
      now: () => new Date(),
      onQueued: (ids) => queued.push(ids),
      onAlerts: (teamId) => alerted.push(teamId),
      onRefused: (reason) => refused.push(reason),
    });
  });
  afterAll(async () => database?.close());

  it('a video is held and queued once per claim, and its job handed on', async () => {
    const scope = { teamId: 'T-video', channelId: 'C1', userId: 'U1' };
    const quote = quoteOf('a fox');
    const first = await requests.video(scope, { quote }, { key: 'command:1' });
    expect(first.kind).toBe('queued');
    if (first.kind !== 'queued') return;
    expect(first.job.estimateMc).toBe(quote.priceMc);
    expect(queued.at(-1)).toEqual([first.job.id]);
    const again = await requests.video(scope, { quote }, { key: 'command:1' });
    expect(again).toEqual({ kind: 'claimed', jobs: [expect.objectContaining({ id: first.job.id })] });
    expect(queued.flat().filter((id) => id === first.job.id)).toHaveLength(1);
  });

  it('a price above the threshold asks to confirm, holding nothing; confirmed, it is queued', async () => {
    const scope = { teamId: 'T-confirm', channelId: 'C1', userId: 'U1' };
    const quote = quoteOf('a heron');
    await requests.budgetsFor(scope); // the workspace's first command creates it
    await requests.setConfirmThreshold(scope.teamId, mc(quote.priceMc - 1), { by: 'admin' });
    expect(await requests.video(scope, { quote })).toEqual({ kind: 'confirm', thresholdMc: quote.priceMc - 1 });
    expect((await ledger.usageFor(scope)).every((u) => u.heldMc === 0)).toBe(true);
    expect((await requests.video(scope, { quote, confirmed: true })).kind).toBe('queued');
  });

  it('a price above the threshold that a budget cannot take is refused at once, not offered for confirmation', async () => {
    const scope = { teamId: 'T-confirm-short', channelId: 'C1', userId: 'U-poor' };
    const quote = quoteOf('a lynx');
    const user = { teamId: scope.teamId, scope: 'user' as const, scopeId: 'U-poor', period: 'day' as const };
    await requests.setBudget({ ...user, limitMc: mc(quote.priceMc - 1), by: 'admin' });
    await requests.setConfirmThreshold(scope.teamId, mc(quote.priceMc - 1), { by: 'admin' });
    const answer = await requests.video(scope, { quote });
    expect(answer).toMatchObject({ kind: 'refused', refusal: { budget: { scope: 'user' }, neededMc: quote.priceMc } });
    expect(refused.at(-1)).toBe('user');
    expect((await ledger.usageFor(scope)).every((u) => u.heldMc === 0)).toBe(true);
  });

  it('a video over a hard budget is refused with the budget, and the refusal counted', async () => {
    const scope = { teamId: 'T-refuse', channelId: 'C1', userId: 'U-poor' };
    const quote = quoteOf('a whale');
    await requests.setBudget({
      teamId: scope.teamId,
      scope: 'user',
      scopeId: 'U-poor',
      period: 'day',
      limitMc: mc(quote.priceMc - 1),
      by: 'admin',
    });
    const answer = await requests.video(scope, { quote });
    expect(answer.kind).toBe('refused');
    if (answer.kind === 'refused' && !('kind' in answer.refusal)) expect(answer.refusal.budget.scope).toBe('user');
    expect(refused.at(-1)).toBe('user');
  });

  it('an approval is asked once per claim, raises the short budget and queues the video once', async () => {
    const scope = { teamId: 'T-approve', channelId: 'C1', userId: 'U-short' };
    const quote = quoteOf('an otter');
    await requests.setBudget({
      teamId: scope.teamId,
      scope: 'user',
      scopeId: 'U-short',
      period: 'day',
      limitMc: mc(1_000),
      by: 'admin',
    });
    const ask = { commandText: 'generate an otter', quote, claimKey: 'nonce-1' };
    const sent = await requests.askApproval(scope, ask);
    expect(sent.kind).toBe('sent');
    if (sent.kind !== 'sent') return;
    expect(sent.raisable.map((u) => u.budget.scope)).toEqual(['user']);
    expect(await requests.askApproval(scope, ask)).toEqual({ kind: 'asked-already', earlier: sent.approval });

    const decision = { approvalId: sent.approval.id, teamId: scope.teamId, adminId: 'U-admin' };
    expect(await requests.approve({ ...decision, teamId: 'T-other' }, () => ({ quote }))).toEqual({
      kind: 'other-workspace',
    });
    const before = queued.length;
    const [approved, twice] = await Promise.all([
      requests.approve(decision, () => ({ quote, tag: 'otters' })),
      requests.approve(decision, () => ({ quote, tag: 'otters' })),
    ]);
    const kinds = [approved.kind, twice.kind].sort();
    expect(kinds).toEqual(['approved', 'decided-already']);
    const won = approved.kind === 'approved' ? approved : twice;
    if (won.kind !== 'approved') return;
    expect(won.queued).toBe(true);
    expect(won.raised).toEqual([
      { budget: expect.objectContaining({ scope: 'user' }), amountMc: quote.priceMc - 1_000 },
    ]);
    expect(queued.length).toBe(before + 1);
    // The approved request keeps its project tag.
    const jobId = queued.at(-1)![0]!;
    const [job] = await rows<{ tag: string }>(database.db, sql`select tag from generations where id = ${jobId}`);
    expect(job?.tag).toBe('otters');
    expect(await requests.deny(decision)).toEqual({
      kind: 'decided-already',
      request: expect.objectContaining({ state: 'approved' }),
    });
  });

  it('an approval raises a budget already past its limit by all the request lacks, and queues it', async () => {
    const scope = { teamId: 'T-approve-over', channelId: 'C1', userId: 'U-over' };
    const quote = quoteOf('a walrus');
    const user = { teamId: scope.teamId, scope: 'user' as const, scopeId: 'U-over', period: 'day' as const };
    await requests.setBudget({ ...user, limitMc: mc(10_000), by: 'admin' });
    expect((await requests.video(scope, { quote: quoteOf('a seal') })).kind).toBe('queued');
    // The admin lowers the limit below what the day has already charged.
    const spent = (await requests.setBudget({ ...user, limitMc: mc(500), by: 'admin' })).chargedMc;
    expect(spent).toBeGreaterThan(500);
    const sent = await requests.askApproval(scope, { commandText: 'generate a walrus', quote, claimKey: 'over-1' });
    if (sent.kind !== 'sent') throw new Error(sent.kind);
    const approved = await requests.approve(
      { approvalId: sent.approval.id, teamId: scope.teamId, adminId: 'U-admin' },
      () => ({ quote }),
    );
    expect(approved).toMatchObject({
      kind: 'approved',
      queued: true,
      raised: [{ budget: expect.objectContaining({ scope: 'user' }), amountMc: spent + quote.priceMc - 500 }],
    });
  });

  it('a batch that does not fit is answered before anything is held; one that fits is queued whole, once', async () => {
    const scope = { teamId: 'T-batch', channelId: 'C1', userId: 'U1' };
    const quotes = ['one', 'two', 'three', 'four', 'five'].map(quoteOf);
    await requests.setBudget({
      teamId: scope.teamId,
      scope: 'channel',
      scopeId: 'C1',
      period: 'day',
      limitMc: mc(4 * quotes[0]!.priceMc),
      by: 'admin',
    });
    const tooMuch = await requests.batch(scope, { quotes, offPeak: false, now: new Date() }, { key: 'view:1' });
    expect(tooMuch.kind === 'too-expensive' && tooMuch.check.fitCount).toBe(4);
    expect((await ledger.usageFor(scope)).every((u) => u.heldMc === 0)).toBe(true);
    const two = quotes.slice(0, 2);
    const done = await requests.batch(scope, { quotes: two, offPeak: false, now: new Date() }, { key: 'view:2' });
    expect(done.kind === 'queued' && done.jobs.length).toBe(2);
    expect(queued.at(-1)).toHaveLength(2);
    // A second submit of the same form (there is room for it) queues nothing more.
    expect(await requests.batch(scope, { quotes: two, offPeak: false, now: new Date() }, { key: 'view:2' })).toEqual({
      kind: 'claimed',
    });
  });
  it("the quick checks read the project tag's budget: confirm, batch and approvals say it is short before anything is held", async () => {
    const scope = { teamId: 'T-tag-short', channelId: 'C1', userId: 'U1' };
    const quote = quoteOf('a launch teaser');
    const tag = { teamId: scope.teamId, scope: 'tag' as const, scopeId: 'launch', period: 'day' as const };
    await requests.setBudget({ ...tag, limitMc: mc(quote.priceMc - 1), by: 'admin' });
    await requests.setConfirmThreshold(scope.teamId, mc(quote.priceMc - 1), { by: 'admin' });
    // Above the confirmation threshold: refused at once by the tag's budget, not offered for confirmation.
    expect(await requests.video(scope, { quote, tag: 'launch' })).toMatchObject({
      kind: 'refused',
      refusal: { budget: { scope: 'tag', scopeId: 'launch' }, neededMc: quote.priceMc },
    });
    // Untagged, the same request asks for a confirmation: the tag's budget does not apply.
    expect((await requests.video(scope, { quote })).kind).toBe('confirm');
    const batch = { quotes: [quote], offPeak: false, now: new Date(), tag: 'launch' };
    const tooMuch = await requests.batch(scope, batch, { key: 'view:tag-1' });
    expect(tooMuch.kind === 'too-expensive' && tooMuch.check.budget.budget).toMatchObject({ scope: 'tag' });
    expect(await requests.usageFor({ ...scope, tag: 'launch' })).toEqual(
      expect.arrayContaining([expect.objectContaining({ budget: expect.objectContaining({ scope: 'tag' }) })]),
    );
    // Approvals and raises cover a person's or a channel's budget: a short tag budget is an admin's new limit.
    const asked = await requests.askApproval(scope, { commandText: 'generate x --tag launch', quote, tag: 'launch' });
    expect(asked).toMatchObject({ kind: 'unraisable', budget: { scope: 'tag', scopeId: 'launch' } });
    expect((await ledger.usageFor(scope)).every((u) => u.heldMc === 0)).toBe(true);
  });
});
