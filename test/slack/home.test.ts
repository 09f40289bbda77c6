import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetRef, Usage } from '../../src/budget';
import { viewProblems, type StoredView } from '../../src/dev/slack-workspace';
import type { Generation } from '../../src/generations';
import { budgetModal, homeTab } from '../../src/slack/blocks/home';
import { BudgetField, readBudgetForm } from '../../src/slack/commands/budget-form';
import { startHarness, textOf, type Harness } from './harness';
import { mc } from '../../src/money/credits';

const ADA = 'U0ADA'; // a Slack admin
const GRACE = 'U0GRACE';
const LINUS = 'U0LINUS';

function usageOf(budget: BudgetRef, committedMc: number, heldMc: number): Usage {
  const chargedMc = committedMc + heldMc;
  return {
    budget,
    periodStart: new Date(),
    periodEnd: new Date(),
    committedMc: mc(committedMc),
    heldMc: mc(heldMc),
    chargedMc: mc(chargedMc),
    remainingMc: mc(budget.limitMc - chargedMc),
    limitMc: budget.limitMc,
    percent: (100 * chargedMc) / budget.limitMc,
    raises: [],
  };
}

const ref = (id: number, scope: BudgetRef['scope'], scopeId: string, hard = true): BudgetRef => ({
  id,
  teamId: 'T',
  scope,
  scopeId,
  period: 'day',
  limitMc: mc(10_000),
  hard,
  thresholds: [80, 100],
});

function job(i: number): Generation {
  return {
    id: `kbb_${i}`,
    shortId: `${i}`,
    teamId: 'T',
    channelId: 'C1',
    userId: GRACE,
    endpoint: 'text2video',
    request: { prompt: `${'<!channel> *fox* '.repeat(150)}${i}`, model_name: 'kling-v2-6' },
    estimateMc: mc(1500),
    actualMc: mc(1500),
    state: 'succeeded',
    attempts: 1,
    createdAt: new Date(),
    result: { videos: [{ url: `https://cdn.example/v${i}.mp4` }], images: [] },
  };
}

const account = {
  readAt: new Date('2026-11-24T08:00:00Z'),
  committedSinceMc: mc(3_000),
  remainingMc: mc(6_000),
  paceMcPerDay: 3_000,
  runsOutAt: new Date('2026-11-26T08:00:00Z'),
  expiresUnused: [],
  settings: { runoutDays: 3, expiryDays: 7, reconcileToleranceMc: mc(0) },
  packs: [
    {
      id: 'p',
      name: 'Trial <pack>',
      status: 'online',
      totalMc: mc(5_000),
      readMc: mc(5_000),
      remainingMc: mc(2_000),
      expiresAt: new Date('2026-11-29T00:00:00Z'),
    },
  ],
};

describe('home blocks', () => {
  it('stays a valid home tab within 100 blocks for any number of budgets and jobs', () => {
    const budgets = Array.from({ length: 1000 }, (_, i) =>
      usageOf(ref(i + 1, 'user', `U${i}`, i % 2 === 0), 6_200, 500),
    );
    const view = homeTab({
      mine: budgets.slice(0, 6),
      budgets,
      moreBudgets: 0,
      jobs: Array.from({ length: 50 }, (_, i) => job(i)),
      isAdmin: true,
      creditPriceUsd: 0.14,
    });
    expect(viewProblems(view, 'home')).toEqual([]);
    expect(view.blocks.length).toBeLessThanOrEqual(100);
    // And with the Kling account of an operator who bought many packs.
    const packs = Array.from({ length: 30 }, (_, i) => ({ ...account.packs[0]!, id: `p${i}` }));
    const jobs = Array.from({ length: 50 }, (_, i) => job(i));
    const withAccount = homeTab({
      mine: budgets.slice(0, 6),
      budgets,
      moreBudgets: 0,
      jobs,
      isAdmin: true,
      creditPriceUsd: 0.14,
      account: { ...account, packs },
    });
    expect(viewProblems(withAccount, 'home')).toEqual([]);
    expect(withAccount.blocks.length).toBeLessThanOrEqual(100);
    expect(JSON.stringify(withAccount)).toContain('…and 25 more packs');
    expect(JSON.stringify(withAccount)).toContain('Your recent videos');
    const text = textOf(view);
    expect(text).toContain("*<@U0>'s daily budget*\n██████▒░░░ 67% · 6.7 of 10 · alerts at 80%, 100%");
    expect(text).toContain("*<@U1>'s daily budget* (soft: alerts only)");
    expect(text).toContain('…and 960 more.');
    expect(text).toContain('&lt;!channel&gt;');
    expect(text).not.toContain('<!channel>');
    expect(text).toContain('<https://cdn.example/v0.mp4|video>');
    // The recent videos come last and survive the cap.
    expect(text).toContain('Your recent videos');
  });

  it('shows Edit and Add only to admins', () => {
    const input = {
      mine: [],
      budgets: [usageOf(ref(7, 'workspace', 'T'), 0, 0)],
      moreBudgets: 0,
      jobs: [],
      creditPriceUsd: 0.14,
    };
    expect(JSON.stringify(homeTab({ ...input, isAdmin: false }))).not.toMatch(/home_budget_(edit|new)/);
    const admin = JSON.stringify(homeTab({ ...input, isAdmin: true }));
    expect(admin).toContain('"action_id":"home_budget_edit","value":"7"');
    expect(admin).toContain('"action_id":"home_budget_new"');
  });

  it("shows admins the Kling account's packs", () => {
    const input = { mine: [], budgets: [], moreBudgets: 0, jobs: [], creditPriceUsd: 0.14, account };
    const admin = homeTab({ ...input, isAdmin: true });
    expect(viewProblems(admin, 'home')).toEqual([]);
    expect(JSON.stringify(admin)).toContain('*Trial &lt;pack&gt;* (online)\\n2 units left of 5 units');
    expect(JSON.stringify(homeTab({ ...input, isAdmin: false }))).not.toContain('Trial');
    const unused = { ...account, expiresUnused: [{ pack: account.packs[0]!, amountMc: mc(1_500) }] };
    expect(textOf(homeTab({ ...input, account: unused, isAdmin: true }))).toContain(
      ':hourglass: At this pace about 1.5 units of *Trial &lt;pack&gt;* expire unused',
    );
  });

  it('builds valid edit and add modals, the edit one prefilled', () => {
    const edit = budgetModal({ ...ref(3, 'channel', 'C9', false), limitMc: mc(1_234_500), thresholds: [50, 90] });
    expect(viewProblems(edit, 'modal')).toEqual([]);
    expect(JSON.parse(String(edit.private_metadata))).toEqual({
      id: 3,
      scope: 'channel',
      scopeId: 'C9',
      period: 'day',
    });
    expect(JSON.stringify(edit)).toContain('"initial_value":"1234.5"');
    expect(JSON.stringify(edit)).toContain('"initial_value":"50, 90"');
    expect(JSON.stringify(edit)).toContain(
      '"initial_option":{"text":{"type":"plain_text","text":"Soft: alert only","emoji":true},"value":"soft"}',
    );
    expect(viewProblems(budgetModal(), 'modal')).toEqual([]);
  });
});

describe('reading the budget form', () => {
  const values = (v: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(v).map(([id, value]) => [id, { [id]: value }])) as Parameters<
      typeof readBudgetForm
    >[0];

  it('reads a new channel budget, and an edit keeps its scope and period', () => {
    const read = readBudgetForm(
      values({
        [BudgetField.scope]: { selected_option: { value: 'channel' } },
        [BudgetField.channel]: { selected_conversation: 'C0VIDEO' },
        [BudgetField.period]: { selected_option: { value: 'week' } },
        [BudgetField.limit]: { value: '1,250.5' },
        [BudgetField.thresholds]: { value: '90%, 50 90' },
        [BudgetField.enforcement]: { selected_option: { value: 'soft' } },
      }),
      'T1',
    );
    expect(read).toEqual({
      budget: {
        scope: 'channel',
        scopeId: 'C0VIDEO',
        period: 'week',
        limitMc: 1_250_500,
        thresholds: [50, 90],
        hard: false,
      },
    });
    const edit = readBudgetForm(
      values({ [BudgetField.limit]: { value: '20' }, [BudgetField.thresholds]: { value: '' } }),
      'T1',
      { id: 4, scope: 'workspace', scopeId: 'T1', period: 'day' },
    );
    expect(edit).toEqual({
      budget: {
        id: 4,
        scope: 'workspace',
        scopeId: 'T1',
        period: 'day',
        limitMc: 20_000,
        thresholds: [80, 100],
        hard: true,
      },
    });
  });

  it('names every mistake under its field', () => {
    const read = readBudgetForm(
      values({
        [BudgetField.scope]: { selected_option: { value: 'user' } },
        [BudgetField.period]: { selected_option: { value: 'day' } },
        [BudgetField.limit]: { value: 'lots' },
        [BudgetField.thresholds]: { value: '80, 150' },
      }),
      'T1',
    );
    expect(read).toEqual({
      errors: {
        [BudgetField.person]: 'Pick the person this budget is for.',
        [BudgetField.limit]: 'A number of credits, such as 200 or 12.5.',
        [BudgetField.thresholds]: 'Percents of the limit from 1 to 100, such as 80, 100.',
      },
    });
  });
});

describe('App Home end to end', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { DEFAULT_DAILY_LIMIT: '1000' } });
  });
  afterAll(async () => h?.close());

  async function openHome(userId: string, after = 0): Promise<StoredView> {
    expect(await h.slack.openHome(userId)).toEqual({ status: 200 });
    return h.slack.waitFor(() => h.slack.views(userId).find((v) => v.type === 'home' && v.updatedAt > after));
  }

  it('shows a person their budgets, the workspace budgets as bars and their recent videos, with no admin buttons', async () => {
    await h.command(ADA, `budget set <@${GRACE}|grace> day 10`);
    await h.command(ADA, 'budget set <#C0VIDEO|video> week 50');
    await h.command(GRACE, 'generate a heron over a lake');
    const card = await h.slack.waitFor(
      () => h.cards('C0VIDEO').find((m) => textOf(m).includes('a heron over a lake') && textOf(m).includes('Done')),
      10_000,
    );
    const jobId = /#[0-9A-F]{4,}/.exec(textOf(card))![0];

    const home = await openHome(GRACE);
    expect(viewProblems(home.view, 'home')).toEqual([]);
    const text = textOf(home.view as { blocks: unknown[] });
    expect(text).toContain('Your video budget');
    expect(text).toMatch(/\*<@U0GRACE>'s daily budget\*\n[█▒░]{10} 15%\nused 1\.5 · held 0 · \*8\.5 left\* of 10/);
    expect(text).toMatch(/\*the workspace daily budget\*\n[█▒░]{10} 0% · 1\.5 of 1,000/);
    expect(text).toMatch(/\*<#C0VIDEO>'s weekly budget\*\n[█▒░]{10} 3% · 1\.5 of 50/);
    expect(text).toContain(`*${jobId}*`);
    expect(text).toMatch(/1\.5 cr · a heron over a lake · <[^|]+\.mp4\|video>/);
    expect(JSON.stringify(home.view.blocks)).not.toMatch(/home_budget_(edit|new)/);
  });

  it('lets an admin edit a budget in a modal; the budget changes and the home is republished', async () => {
    const home = await openHome(ADA);
    const graceBudget = (await h.ledger.budgets('T0DEMO')).find((b) => b.scope === 'user' && b.scopeId === GRACE)!;
    expect(JSON.stringify(home.view.blocks)).toContain(`"action_id":"home_budget_edit","value":"${graceBudget.id}"`);

    await h.slack.clickViewButton({
      userId: ADA,
      viewId: home.id,
      actionId: 'home_budget_edit',
      value: String(graceBudget.id),
    });
    const modal = await h.slack.waitFor(() =>
      h.slack.views(ADA).find((v) => v.type === 'modal' && v.open && v.view.callback_id === 'budget_submit'),
    );
    expect(textOf(modal.view as { blocks: unknown[] })).toContain("*<@U0GRACE>'s daily budget*");

    // private_metadata that is not what the bot wrote: a clear error in the modal, not a timed-out submission.
    const metadata = modal.view.private_metadata;
    modal.view.private_metadata = '{"scope":';
    const values = {
      [BudgetField.limit]: { [BudgetField.limit]: '25' },
      [BudgetField.enforcement]: { [BudgetField.enforcement]: 'hard' },
    };
    const garbled = await h.slack.submitView({ userId: ADA, viewId: modal.id, values });
    const unreadable = 'This form could not be read. Close it and open it again from the Home tab.';
    expect(JSON.parse(garbled.body)).toEqual({
      response_action: 'errors',
      errors: { [BudgetField.limit]: unreadable },
    });
    modal.view.private_metadata = metadata;

    const wrong = await h.slack.submitView({
      userId: ADA,
      viewId: modal.id,
      values: {
        [BudgetField.limit]: { [BudgetField.limit]: 'lots' },
        [BudgetField.enforcement]: { [BudgetField.enforcement]: 'hard' },
      },
    });
    expect(JSON.parse(wrong.body)).toEqual({
      response_action: 'errors',
      errors: { [BudgetField.limit]: 'A number of credits, such as 200 or 12.5.' },
    });

    const before = home.updatedAt;
    const saved = await h.slack.submitView({
      userId: ADA,
      viewId: modal.id,
      values: {
        [BudgetField.limit]: { [BudgetField.limit]: '25' },
        [BudgetField.thresholds]: { [BudgetField.thresholds]: '50, 90' },
        [BudgetField.enforcement]: { [BudgetField.enforcement]: 'soft' },
      },
    });
    expect(saved).toEqual({ status: 200, body: '' });
    const changed = (await h.ledger.budgets('T0DEMO')).find((b) => b.id === graceBudget.id)!;
    expect(changed).toMatchObject({
      scope: 'user',
      scopeId: GRACE,
      period: 'day',
      limitMc: 25_000,
      thresholds: [50, 90],
      hard: false,
    });
    const republished = await h.slack.waitFor(() =>
      h.slack.views(ADA).find((v) => v.type === 'home' && v.updatedAt > before),
    );
    expect(textOf(republished.view as { blocks: unknown[] })).toMatch(
      /\*<@U0GRACE>'s daily budget\* \(soft: alerts only\)\n[█▒░]{10} 6% · 1\.5 of 25 · alerts at 50%, 90%/,
    );
  });

  it('lets an admin add a budget, and lists any number of budgets within the block limit', async () => {
    const home = await openHome(ADA);
    await h.slack.clickViewButton({ userId: ADA, viewId: home.id, actionId: 'home_budget_new' });
    const modal = await h.slack.waitFor(() =>
      h.slack.views(ADA).find((v) => v.type === 'modal' && v.open && v.view.callback_id === 'budget_submit'),
    );
    const saved = await h.slack.submitView({
      userId: ADA,
      viewId: modal.id,
      values: {
        [BudgetField.scope]: { [BudgetField.scope]: 'user' },
        [BudgetField.person]: { [BudgetField.person]: LINUS },
        [BudgetField.period]: { [BudgetField.period]: 'month' },
        [BudgetField.limit]: { [BudgetField.limit]: '300' },
        [BudgetField.enforcement]: { [BudgetField.enforcement]: 'hard' },
      },
    });
    expect(saved).toEqual({ status: 200, body: '' });
    expect((await h.ledger.budgets('T0DEMO')).find((b) => b.scope === 'user' && b.scopeId === LINUS)).toMatchObject({
      period: 'month',
      limitMc: 300_000,
      hard: true,
      thresholds: [80, 100],
    });

    for (let i = 0; i < 80; i++)
      await h.ledger.setBudget({
        teamId: 'T0DEMO',
        scope: 'channel',
        scopeId: `C${String(i).padStart(4, '0')}`,
        period: 'day',
        limitMc: mc(5_000),
        by: ADA,
      });
    const crowded = await openHome(LINUS, Date.now());
    expect(viewProblems(crowded.view, 'home')).toEqual([]);
    expect((crowded.view.blocks as unknown[]).length).toBeLessThanOrEqual(100);
    const text = textOf(crowded.view as { blocks: unknown[] });
    expect(text).toMatch(/…and \d+ more\./);
    expect(text).toMatch(/\*<@U0LINUS>'s monthly budget\*\n░{10} 0%\nused 0 · held 0 · \*300 left\* of 300/);
    expect(text).toContain('You have not made any videos yet.');
  });
});
