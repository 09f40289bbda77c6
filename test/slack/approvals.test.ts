import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, sql } from '../../src/db';
import { blockProblems } from '../../src/dev/slack-workspace';
import { builtInCatalog } from '../../src/pricing';
import type { ApprovalRequest } from '../../src/requests';
import { approvalAnswer, approvalDecided, approvalRequest } from '../../src/slack/blocks/approvals';
import { BOT_TOKEN, cardJobId, startHarness, textOf, type Harness } from './harness';
import { mc } from '../../src/money/credits';

const ADA = 'U0ADA'; // a Slack admin
const GRACE = 'U0GRACE';
const LINUS = 'U0LINUS';
const PRICE = builtInCatalog.quote({
  endpoint: 'text2video',
  body: { model_name: 'kling-v2-6', mode: 'pro', prompt: 'p' },
}).priceMc;

const request: ApprovalRequest = {
  id: 'apr_1',
  teamId: 'T',
  channelId: 'C0VIDEO',
  userId: 'U0LINUS',
  commandText: 'generate x',
  description: 'kling-v2-6 pro · 5 s',
  amountMc: mc(2500),
  state: 'pending',
  requestedAt: new Date('2026-03-10T12:00:00Z'),
};

describe('approval blocks', () => {
  it('asks the admins with the figures, the escaped prompt and Approve/Deny carrying the request id', () => {
    const budget = {
      id: 1,
      teamId: 'T',
      scope: 'user' as const,
      scopeId: 'U0LINUS',
      period: 'day' as const,
      limitMc: mc(2000),
      hard: true,
      thresholds: [80],
    };
    const usage = {
      budget,
      periodStart: new Date(),
      periodEnd: new Date(),
      committedMc: mc(0),
      heldMc: mc(0),
      chargedMc: mc(0),
      remainingMc: mc(2000),
      limitMc: mc(2000),
      percent: 0,
      raises: [],
    };
    const ask = approvalRequest(request, '<!channel> a city', [usage], { creditPriceUsd: 0.14 });
    expect(blockProblems(ask.blocks, 'message')).toEqual([]);
    const text = textOf(ask);
    expect(text).toContain(
      '<@U0LINUS> asks to go over budget in <#C0VIDEO>: *kling-v2-6 pro · 5 s*, 2.5 credits ($0.35)',
    );
    expect(text).toContain('>&lt;!channel&gt; a city');
    expect(text).toContain("• <@U0LINUS>'s daily budget: 2 of 2 left, short by *0.5*");
    expect(JSON.stringify(ask.blocks)).toMatch(
      /"action_id":"approval_approve","value":"apr_1".*"action_id":"approval_deny","value":"apr_1"/,
    );
  });

  it('shows who decided and drops the buttons; tells the requester', () => {
    const decided = {
      ...request,
      state: 'approved' as const,
      decidedBy: 'U0ADA',
      decidedAt: new Date('2026-03-10T12:05:00Z'),
    };
    const shown = approvalDecided(decided, 'a city', {
      creditPriceUsd: 0.14,
      raised: [{ budget: { scope: 'user', scopeId: 'U0LINUS', period: 'day' }, amountMc: mc(500) }],
    });
    expect(blockProblems(shown.blocks, 'message')).toEqual([]);
    expect(JSON.stringify(shown.blocks)).not.toContain('approval_approve');
    expect(textOf(shown)).toMatch(
      /Approved\* by <@U0ADA> <!date\^\d+\^.*\n<@U0LINUS>'s daily budget raised by 0\.5 for this period\./,
    );
    expect(textOf(approvalAnswer(decided, 'queued'))).toContain(
      '<@U0ADA> approved *kling-v2-6 pro · 5 s* (2.5 credits). It is queued',
    );
    expect(textOf(approvalAnswer({ ...decided, state: 'denied' }, 'denied'))).toContain('<@U0ADA> declined');
  });
});

describe('approvals end to end', () => {
  let h: Harness;
  let linusDm: string;

  beforeAll(async () => {
    h = await startHarness({ env: { DEFAULT_DAILY_LIMIT: '1000' } });
    const web = new WebClient(BOT_TOKEN, { slackApiUrl: `${h.slack.url}/api/` });
    linusDm = (await web.conversations.open({ users: LINUS })).channel!.id!;
  });
  afterAll(async () => h?.close());

  const lastEphemeral = (userId: string, channel: string) =>
    h.slack
      .messages(channel)
      .filter((m) => m.ephemeralTo === userId)
      .at(-1)!;
  const linusBudget = async () =>
    (await h.ledger.usageFor({ teamId: 'T0DEMO', channelId: 'C0VIDEO', userId: LINUS })).find(
      (u) => u.budget.scope === 'user',
    )!;
  const adjustments = () =>
    rows<{ amount_mc: number; actor: string; memo: string }>(
      h.database.db,
      sql`select amount_mc, actor, memo from ledger_entries where kind = 'adjust' order by id`,
    );
  const jobsOf = (prompt: string) =>
    rows<{ id: string; state: string }>(
      h.database.db,
      sql`select id, state::text as state from generations where request->>'prompt' = ${prompt} and state <> 'refused'`,
    );
  const approvalsRows = () =>
    rows<{ id: string; state: string; decided_by: string | null }>(
      h.database.db,
      sql`select id, state::text as state, decided_by from approvals order by requested_at`,
    );

  /** Linus is refused over his daily budget and presses "Request a raise"; resolves with the admins' message. */
  async function askForApproval(prompt: string) {
    const refused = await h.command(LINUS, `generate ${prompt} --model kling-v2-6 --mode pro`);
    expect(JSON.stringify(refused.ack)).toMatch(/"text":"Request a raise".*"action_id":"approval_request"/);
    await h.slack.clickButton({
      userId: LINUS,
      channelId: 'C0VIDEO',
      messageTs: lastEphemeral(LINUS, 'C0VIDEO').ts,
      actionId: 'approval_request',
    });
    await h.slack.waitFor(() => textOf(lastEphemeral(LINUS, 'C0VIDEO')).includes('Sent to the admins'));
    return h.slack.waitFor(() =>
      h.slack
        .messages('C0ALERTS')
        .find((m) => textOf(m).includes(prompt) && JSON.stringify(m.blocks).includes('approval_approve')),
    );
  }

  it('a refused request goes to the admins; a non-admin cannot decide; an admin approves once, even clicking twice', async () => {
    await h.command(ADA, `budget set <@${LINUS}|linus> day ${(PRICE - 500) / 1000}`);
    const ask = await askForApproval('a city at night');
    expect(textOf(ask)).toContain(`<@${LINUS}> asks to go over budget in <#C0VIDEO>`);
    expect(textOf(ask)).toContain(
      `<@${LINUS}>'s daily budget: ${(PRICE - 500) / 1000} of ${(PRICE - 500) / 1000} left, short by *0.5*`,
    );

    // Grace is not an admin: a polite refusal only she sees, and nothing changes.
    await h.slack.clickButton({
      userId: GRACE,
      channelId: 'C0ALERTS',
      messageTs: ask.ts,
      actionId: 'approval_approve',
    });
    const refusal = await h.slack.waitFor(() => h.slack.messages('C0ALERTS').find((m) => m.ephemeralTo === GRACE));
    expect(textOf(refusal)).toContain('only admins can approve or deny');
    expect((await approvalsRows()).map((r) => r.state)).toEqual(['pending']);
    expect(await adjustments()).toEqual([]);
    expect(JSON.stringify(h.slack.messages('C0ALERTS').find((m) => m.ts === ask.ts)!.blocks)).toContain(
      'approval_approve',
    );

    // Ada double-clicks Approve: both clicks arrive before the message changes.
    await Promise.all([
      h.slack.clickButton({ userId: ADA, channelId: 'C0ALERTS', messageTs: ask.ts, actionId: 'approval_approve' }),
      h.slack.clickButton({ userId: ADA, channelId: 'C0ALERTS', messageTs: ask.ts, actionId: 'approval_approve' }),
    ]);
    const decided = await h.slack.waitFor(() => {
      const m = h.slack.messages('C0ALERTS').find((x) => x.ts === ask.ts)!;
      return textOf(m).includes('*Approved*') && m;
    });
    expect(textOf(decided)).toMatch(/Approved\* by <@U0ADA> <!date/);
    expect(textOf(decided)).toContain(`<@${LINUS}>'s daily budget raised by 0.5 for this period.`);
    expect(JSON.stringify(decided.blocks)).not.toContain('approval_approve');
    // The other click only tells Ada it was already decided.
    const note = await h.slack.waitFor(() =>
      h.slack.messages('C0ALERTS').find((m) => m.ephemeralTo === ADA && textOf(m).includes('already approved')),
    );
    expect(textOf(note)).toMatch(/<@U0ADA> already approved this request <!date/);

    const [approval] = await approvalsRows();
    expect(approval).toMatchObject({ state: 'approved', decided_by: ADA });
    expect(await adjustments()).toEqual([
      { amount_mc: 500, actor: ADA, memo: expect.stringContaining(`approved ${approval!.id}`) },
    ]);
    const jobs = await jobsOf('a city at night');
    expect(jobs).toHaveLength(1);
    const budget = await linusBudget();
    expect(budget.limitMc).toBe(PRICE);
    expect(budget.chargedMc).toBe(PRICE);

    const card = await h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => cardJobId(m) === jobs[0]!.id));
    expect(textOf(card)).toContain('a city at night');
    const dm = await h.slack.waitFor(() => h.slack.messages(linusDm).find((m) => textOf(m).includes('approved')));
    expect(textOf(dm)).toContain(
      `<@${ADA}> approved *kling-v2-6 pro · 5 s* (${PRICE / 1000} credits). It is queued; the job card is in <#C0VIDEO>.`,
    );
    expect(h.slack.messages(linusDm).filter((m) => textOf(m).includes('approved'))).toHaveLength(1);
  });

  it('a denial tells the requester, holds nothing and happens once', async () => {
    const before = await linusBudget();
    const ask = await askForApproval('a second city');
    await Promise.all([
      h.slack.clickButton({ userId: ADA, channelId: 'C0ALERTS', messageTs: ask.ts, actionId: 'approval_deny' }),
      h.slack.clickButton({ userId: ADA, channelId: 'C0ALERTS', messageTs: ask.ts, actionId: 'approval_deny' }),
    ]);
    const decided = await h.slack.waitFor(() => {
      const m = h.slack.messages('C0ALERTS').find((x) => x.ts === ask.ts)!;
      return textOf(m).includes('*Denied*') && m;
    });
    expect(textOf(decided)).toMatch(/Denied\* by <@U0ADA>/);
    await h.slack.waitFor(() =>
      h.slack.messages('C0ALERTS').find((m) => m.ephemeralTo === ADA && textOf(m).includes('already denied')),
    );
    const dm = await h.slack.waitFor(() => h.slack.messages(linusDm).find((m) => textOf(m).includes('declined')));
    expect(textOf(dm)).toContain('Nothing was spent');
    expect(h.slack.messages(linusDm).filter((m) => textOf(m).includes('declined'))).toHaveLength(1);
    expect((await approvalsRows()).map((r) => r.state)).toEqual(['approved', 'denied']);
    expect(await adjustments()).toHaveLength(1);
    expect(await jobsOf('a second city')).toEqual([]);
    const after = await linusBudget();
    // (The approved video may have moved from held to committed meanwhile; the total and the room did not change.)
    expect({ limit: after.limitMc, charged: after.chargedMc }).toEqual({
      limit: before.limitMc,
      charged: before.chargedMc,
    });
  });
  it('Request a raise → an admin raises by +N until a date from the modal → queued, and /kling budget shows the raise', async () => {
    const ask = await askForApproval('a harbour at dawn');
    expect(JSON.stringify(ask.blocks)).toMatch(/"Approve this request".*"Raise…".*"Deny"/);
    // Grace is no admin: no modal for her.
    const toGrace = () => h.slack.messages('C0ALERTS').filter((m) => m.ephemeralTo === GRACE);
    const told = toGrace().length;
    await h.slack.clickButton({ userId: GRACE, channelId: 'C0ALERTS', messageTs: ask.ts, actionId: 'approval_raise' });
    const refused = await h.slack.waitFor(() => toGrace().length > told && toGrace().at(-1));
    expect(textOf(refused)).toContain('only admins');
    expect(h.slack.views(GRACE).filter((v) => v.view.callback_id === 'approval_raise_submit')).toEqual([]);

    await h.slack.clickButton({ userId: ADA, channelId: 'C0ALERTS', messageTs: ask.ts, actionId: 'approval_raise' });
    const modal = await h.slack.waitFor(() =>
      h.slack.views(ADA).find((v) => v.open && v.view.callback_id === 'approval_raise_submit'),
    );
    const before = await linusBudget();
    const lacks = PRICE - before.remainingMc;
    const blocks = JSON.stringify(modal.view.blocks);
    expect(blocks).toContain(`"initial_value":"${Math.ceil(lacks / 1000)}"`);
    expect(blocks).toMatch(/"type":"datepicker","initial_date":"\d{4}-\d{2}-\d{2}"/);

    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
    const submit = (credits: string, until: string) =>
      h.slack.submitView({
        userId: ADA,
        viewId: modal.id,
        values: { raise_amount: { raise_amount: credits }, raise_until: { raise_until: until } },
      });
    // Too little, or too far ahead: the modal says which field, and nothing is written.
    await submit(String(Math.floor(lacks / 1000) - 1), day(3));
    expect(h.slack.views(ADA).find((v) => v.id === modal.id)).toMatchObject({
      open: true,
      errors: { raise_amount: expect.stringContaining('this video lacks') },
    });
    await submit('20', day(120));
    expect(h.slack.views(ADA).find((v) => v.id === modal.id)?.errors).toEqual({
      raise_until: expect.stringContaining('at most until'),
    });
    expect((await approvalsRows()).at(-1)!.state).toBe('pending');

    await submit('20', day(3));
    expect(h.slack.views(ADA).find((v) => v.id === modal.id)?.open).toBe(false);
    const decided = await h.slack.waitFor(() => {
      const m = h.slack.messages('C0ALERTS').find((x) => x.ts === ask.ts)!;
      return textOf(m).includes('*Approved*') && m;
    });
    expect(textOf(decided)).toMatch(new RegExp(`<@${LINUS}>'s daily budget raised by 20 credits until <!date`));
    expect(JSON.stringify(decided.blocks)).not.toContain('approval_raise');
    expect(await jobsOf('a harbour at dawn')).toHaveLength(1);
    const dm = await h.slack.waitFor(() =>
      h.slack.messages(linusDm).find((m) => textOf(m).includes('a harbour') || textOf(m).includes('raised by 20')),
    );
    expect(textOf(dm)).toContain('It is queued');
    expect(textOf(dm)).toMatch(/Your budgets were raised:\n• <@U0LINUS>'s daily budget raised by 20 credits until/);

    const budget = await h.command(LINUS, 'budget');
    expect(textOf(budget.ack)).toMatch(/:arrow_up: \+20 credits until <!date\^\d+\^[^>]+> \(raised by <@U0ADA>\)/);
    expect((await linusBudget()).limitMc).toBe(before.limitMc + 20_000);
    const audit = await h.command(ADA, 'audit');
    expect(textOf(audit.ack)).toContain(`<@${ADA}> raised <@${LINUS}>'s daily budget by 20 credits until <!date^`);
    expect(textOf(audit.ack)).toContain(
      `(from ${before.limitMc / 1000} credits to ${before.limitMc / 1000 + 20} credits)`,
    );
  });
  it('/kling image offers Request a raise too, and an approval queues the images', async () => {
    await h.command(ADA, `budget set <@${GRACE}|grace> day 0`);
    const refused = await h.command(GRACE, 'image a lighthouse in watercolour');
    expect(JSON.stringify(refused.ack)).toMatch(/"text":"Request a raise".*"action_id":"approval_request"/);
    const mine = () => h.slack.messages('C0VIDEO').filter((m) => m.ephemeralTo === GRACE);
    await h.slack.clickButton({
      userId: GRACE,
      channelId: 'C0VIDEO',
      messageTs: mine().at(-1)!.ts,
      actionId: 'approval_request',
    });
    const ask = await h.slack.waitFor(() =>
      h.slack
        .messages('C0ALERTS')
        .find(
          (m) =>
            textOf(m).includes('a lighthouse in watercolour') && JSON.stringify(m.blocks).includes('approval_raise'),
        ),
    );
    await h.slack.clickButton({ userId: ADA, channelId: 'C0ALERTS', messageTs: ask.ts, actionId: 'approval_approve' });
    await h.slack.waitFor(() =>
      textOf(h.slack.messages('C0ALERTS').find((m) => m.ts === ask.ts)).includes('*Approved*'),
    );
    expect(await jobsOf('a lighthouse in watercolour')).toHaveLength(1);
  });
  it('a raise submitted after the request was decided writes nothing more and tells the admin who decided', async () => {
    const refused = await h.command(GRACE, 'generate a quiet pier --model kling-v2-6 --mode pro');
    expect(JSON.stringify(refused.ack)).toContain('approval_request');
    const mine = h.slack.messages('C0VIDEO').filter((m) => m.ephemeralTo === GRACE);
    await h.slack.clickButton({
      userId: GRACE,
      channelId: 'C0VIDEO',
      messageTs: mine.at(-1)!.ts,
      actionId: 'approval_request',
    });
    const ask = await h.slack.waitFor(() =>
      h.slack
        .messages('C0ALERTS')
        .find((m) => textOf(m).includes('a quiet pier') && JSON.stringify(m.blocks).includes('approval_raise')),
    );
    await h.slack.clickButton({ userId: ADA, channelId: 'C0ALERTS', messageTs: ask.ts, actionId: 'approval_raise' });
    const modal = await h.slack.waitFor(() =>
      h.slack.views(ADA).find((v) => v.open && v.view.callback_id === 'approval_raise_submit'),
    );
    // Meanwhile the request is approved from the message (another admin, or the same one on another device).
    await h.slack.clickButton({ userId: ADA, channelId: 'C0ALERTS', messageTs: ask.ts, actionId: 'approval_approve' });
    await h.slack.waitFor(() =>
      textOf(h.slack.messages('C0ALERTS').find((m) => m.ts === ask.ts)).includes('*Approved*'),
    );
    const raisesBefore = await rows<{ n: number }>(h.database.db, sql`select count(*)::int as n from budget_raises`);

    const until = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    await h.slack.submitView({
      userId: ADA,
      viewId: modal.id,
      values: { raise_amount: { raise_amount: '50' }, raise_until: { raise_until: until } },
    });
    const told = await h.slack.waitFor(() =>
      h.slack.messages('C0ALERTS').find((m) => m.ephemeralTo === ADA && textOf(m).includes('Nothing more was raised')),
    );
    expect(textOf(told)).toMatch(/<@U0ADA> already approved this request <!date/);
    expect(await rows<{ n: number }>(h.database.db, sql`select count(*)::int as n from budget_raises`)).toEqual(
      raisesBefore,
    );
    expect(await jobsOf('a quiet pier')).toHaveLength(1);
  });
});
