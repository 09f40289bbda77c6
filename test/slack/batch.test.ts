import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Usage } from '../../src/budget';
import { rows, sql } from '../../src/db';
import { viewProblems, type StoredView } from '../../src/dev/slack-workspace';
import { builtInCatalog, type Quote } from '../../src/pricing';
import {
  BATCH_TOTAL_BLOCK,
  batchModal,
  batchQueued,
  batchTooExpensive,
  batchTotalText,
  type BatchTotal,
} from '../../src/slack/blocks/batch';
import { checkBatch, offPeakStart } from '../../src/requests';
import { BatchField, quoteBatch, readBatchForm } from '../../src/slack/commands/batch';
import { cardJobId, startHarness, textOf, type Harness } from './harness';
import { mc } from '../../src/money/credits';

const GRACE = 'U0GRACE';
const LINUS = 'U0LINUS';
const ADA = 'U0ADA';

const quote = (body: Record<string, unknown>): Quote =>
  builtInCatalog.quote({ endpoint: 'text2video', body: { prompt: 'p', ...body } });
/** kling-v2-6 pro 5 s and its std alternative, straight from the catalog. */
const PRO = quote({ model_name: 'kling-v2-6', mode: 'pro', duration: '5' });
const STD = quote({ model_name: 'kling-v2-6', mode: 'std', duration: '5' });

function usage(scope: 'user' | 'channel' | 'workspace', remainingMc: number, hard = true): Usage {
  const budget = {
    id: 1,
    teamId: 'T',
    scope,
    scopeId: 'X',
    period: 'day' as const,
    limitMc: mc(100_000),
    hard,
    thresholds: [80, 100],
  };
  return {
    budget,
    periodStart: new Date(0),
    periodEnd: new Date(0),
    committedMc: mc(0),
    heldMc: mc(0),
    chargedMc: mc(0),
    remainingMc: mc(remainingMc),
    limitMc: mc(100_000),
    percent: 0,
    raises: [],
  };
}

describe('the pre-batch check', () => {
  it('passes a batch that every hard budget can take, whatever the soft ones say', () => {
    expect(checkBatch([PRO, PRO], [usage('user', 2 * PRO.priceMc), usage('workspace', 0, false)])).toEqual({
      fits: true,
      totalMc: 2 * PRO.priceMc,
      budget: expect.objectContaining({ budget: expect.objectContaining({ scope: 'user' }) }),
    });
  });

  it('names the tightest budget, how many fit and the closest cheaper mode that fits all', () => {
    const quotes = Array.from({ length: 5 }, () => PRO);
    const room = 5 * STD.priceMc;
    const check = checkBatch(quotes, [usage('workspace', 100 * PRO.priceMc), usage('channel', room)]);
    expect(check).toMatchObject({
      fits: false,
      totalMc: 5 * PRO.priceMc,
      fitCount: Math.floor(room / PRO.priceMc),
      budget: { budget: { scope: 'channel' } },
    });
    expect(check.fits === false && check.cheaper).toEqual({
      label: 'std instead of pro',
      eachMc: STD.priceMc,
      totalMc: 5 * STD.priceMc,
    });
    const text = batchTooExpensive(check as Extract<typeof check, { fits: false }>, 5, { creditPriceUsd: 0.14 });
    expect(text).toBe(
      `These 5 videos need ${(5 * PRO.priceMc) / 1000} credits ($${((5 * PRO.priceMc * 0.14) / 1000).toFixed(2)}), but this channel's daily budget has ${room / 1000} left. ` +
        `Reduce to ${Math.floor(room / PRO.priceMc)} videos or use std instead of pro (${room / 1000} credits for all 5).`,
    );
  });

  it('says so when not even one video fits', () => {
    const check = checkBatch([STD], [usage('user', STD.priceMc - 1)]);
    expect(check).toMatchObject({ fits: false, fitCount: 0 });
    expect(batchTooExpensive(check as Extract<typeof check, { fits: false }>, 1, { creditPriceUsd: 0.14 })).toMatch(
      /your daily budget has [\d.]+ left\. Not even one video fits/,
    );
  });
});

describe('reading and pricing the form', () => {
  const values = (v: Record<string, unknown>) =>
    Object.fromEntries(Object.entries(v).map(([id, value]) => [id, { [id]: value }])) as Parameters<
      typeof readBatchForm
    >[0];

  it('takes one prompt per non-empty line and the shared settings', () => {
    const read = readBatchForm(
      values({
        [BatchField.prompts]: { value: ' a fox \n\n<!channel> a cat\n' },
        [BatchField.model]: { selected_option: { value: 'kling-v2-6' } },
        [BatchField.mode]: { selected_option: { value: 'pro' } },
        [BatchField.duration]: { selected_option: { value: '10' } },
        [BatchField.options]: { selected_options: [{ value: 'audio' }, { value: 'off-peak' }] },
      }),
      20,
    );
    expect(read).toEqual({
      form: {
        prompts: ['a fox', '<!channel> a cat'],
        flags: { model: 'kling-v2-6', mode: 'pro', duration: 10, audio: true, multishot: false, draft: false },
        offPeak: true,
      },
    });
  });

  it('offers the new models and multi-shot, and puts a multi-shot refusal under the options', () => {
    const read = readBatchForm(
      values({
        [BatchField.prompts]: { value: 'a fox' },
        [BatchField.model]: { selected_option: { value: 'kling-v2-6' } },
        [BatchField.duration]: { selected_option: { value: '5' } },
        [BatchField.options]: { selected_options: [{ value: 'multishot' }] },
      }),
      20,
    );
    if (!('form' in read)) throw new Error('the form should read');
    expect(read.form.flags.multishot).toBe(true);
    expect(quoteBatch(builtInCatalog, read.form, 'kling-v2-5-turbo')).toEqual({
      errors: {
        [BatchField.options]:
          'kling-v2-6 cannot cut a prompt into shots; drop --multishot or use kling-v3, kling-v3-omni or kling-3.0-turbo.',
      },
    });
    const turbo = quoteBatch(
      builtInCatalog,
      { ...read.form, flags: { ...read.form.flags, model: 'kling-3.0-turbo' } },
      'kling-v2-5-turbo',
    );
    expect(turbo).toMatchObject({
      quotes: [{ priceMc: 4000, request: { endpoint: 'text-to-video/kling-3.0-turbo' } }],
    });
    const modal = JSON.stringify(
      batchModal({
        formId: 'F1',
        models: builtInCatalog.models('text2video'),
        defaultModel: 'kling-v2-5-turbo',
        durations: [5],
        maxPrompts: 20,
        timezone: 'UTC',
        total: { kind: 'empty' },
        creditPriceUsd: 0.14,
      }),
    );
    for (const model of ['kling-v3-omni', 'kling-video-o1', 'kling-3.0-turbo', 'multishot'])
      expect(modal).toContain(model);
  });

  it('refuses too many prompts and puts a pricing refusal under the field at fault', () => {
    expect(readBatchForm(values({ [BatchField.prompts]: { value: 'a\nb\nc' } }), 2)).toEqual({
      errors: { [BatchField.prompts]: 'A batch takes up to 2 prompts; this has 3.' },
    });
    const form = {
      prompts: ['a'],
      flags: { model: 'kling-v2-6', mode: 'std' as const, duration: 5, audio: true, draft: false },
      offPeak: false,
    };
    const priced = quoteBatch(builtInCatalog, form, 'kling-v2-5-turbo');
    expect(priced).toEqual({
      errors: { [BatchField.options]: expect.stringContaining('kling-v2-6 cannot add audio in std mode') },
    });
  });
});

describe('off-peak', () => {
  it('starts at 22:00 in the workspace timezone, or at once when it is already off-peak', () => {
    expect(offPeakStart(new Date('2026-03-10T12:00:00Z'), 'Europe/Berlin')).toEqual(new Date('2026-03-10T21:00:00Z'));
    expect(offPeakStart(new Date('2026-03-10T21:30:00Z'), 'Europe/Berlin')).toBeUndefined();
    expect(offPeakStart(new Date('2026-03-10T03:00:00Z'), 'Europe/Berlin')).toBeUndefined();
    // The day the clocks go forward (29 March 2026): 22:00 is UTC+2 in the evening.
    expect(offPeakStart(new Date('2026-03-29T10:00:00Z'), 'Europe/Berlin')).toEqual(new Date('2026-03-29T20:00:00Z'));
  });
});

describe('batch blocks', () => {
  it('builds a modal Slack accepts, with every model of the catalog and the default chosen', () => {
    const models = builtInCatalog.models('text2video');
    const view = batchModal({
      formId: 'batch_1',
      models,
      defaultModel: 'kling-v2-5-turbo',
      durations: [3, 5, 10, 15],
      maxPrompts: 20,
      timezone: 'Europe/Berlin',
      total: { kind: 'empty' },
      creditPriceUsd: 0.14,
    });
    expect(viewProblems(view, 'modal')).toEqual([]);
    expect(view).toMatchObject({ external_id: 'batch_1' }); // the channel stays with the bot (batch_forms)
    expect(view.private_metadata).toBeUndefined();
    expect(JSON.stringify(view)).toContain(
      '"initial_option":{"text":{"type":"plain_text","text":"kling-v2-5-turbo","emoji":true},"value":"kling-v2-5-turbo"}',
    );
  });

  it('says what was queued, what is held and when an off-peak batch starts', () => {
    const note = batchQueued([PRO, PRO], {
      channelId: 'C1',
      notBefore: new Date('2026-03-10T21:00:00Z'),
      creditPriceUsd: 0.14,
    });
    expect(textOf(note)).toMatch(
      /Queued 2 videos, \*kling-v2-6 pro · 5 s · silent\*, holding [\d.]+ credits .* in <#C1>\. They wait for the off-peak hours and start <!date\^1773176400\^/,
    );
  });
});

describe('the live total (pure builders)', () => {
  const modalWith = (total: BatchTotal) =>
    batchModal({
      formId: 'batch_1',
      models: builtInCatalog.models('text2video'),
      defaultModel: 'kling-v2-5-turbo',
      durations: [5, 10],
      maxPrompts: 20,
      timezone: 'UTC',
      total,
      creditPriceUsd: 0.14,
    });
  type Blocks = { type: string; block_id?: string; dispatch_action?: boolean; element?: Record<string, unknown> }[];

  it('every input tells the bot of a change, and only the total differs between updates', () => {
    const empty = modalWith({ kind: 'empty' });
    const priced = modalWith({ kind: 'priced', count: 1, check: checkBatch([PRO], []) });
    expect(viewProblems(empty, 'modal')).toEqual([]);
    expect(viewProblems(priced, 'modal')).toEqual([]);
    const inputs = (empty.blocks as Blocks).filter((b) => b.type === 'input');
    expect(inputs.map((b) => b.block_id)).toEqual(Object.values(BatchField));
    expect(inputs.every((b) => b.dispatch_action === true)).toBe(true);
    expect(inputs[0]!.element).toMatchObject({
      dispatch_action_config: { trigger_actions_on: ['on_character_entered'] },
    });
    // Slack keeps what the person entered in a block whose ids stay: the inputs are the same in every update.
    const without = (blocks: Blocks) => blocks.filter((b) => b.block_id !== BATCH_TOTAL_BLOCK);
    expect(without(priced.blocks as Blocks)).toEqual(without(empty.blocks as Blocks));
    expect(JSON.stringify(priced)).not.toEqual(JSON.stringify(empty));
  });

  it('says how many videos, what they cost and whether the budgets take it; or why there is no total', () => {
    const price = { creditPriceUsd: 0.14 };
    const usd = (m: number) => `$${((m * 0.14) / 1000).toFixed(2)}`;
    expect(batchTotalText({ kind: 'empty' }, price)).toBe('The total shows here as you write prompts.');
    const fits = checkBatch([PRO, PRO], [usage('user', 5 * PRO.priceMc), usage('workspace', 100 * PRO.priceMc)]);
    expect(batchTotalText({ kind: 'priced', count: 2, check: fits }, price)).toBe(
      `:white_check_mark: *2 videos: ${(2 * PRO.priceMc) / 1000} credits (${usd(2 * PRO.priceMc)})*. ` +
        `Your budgets can take it; your daily budget keeps ${(3 * PRO.priceMc) / 1000} credits.`,
    );
    const over = checkBatch([PRO, PRO], [usage('channel', 2 * STD.priceMc)]);
    expect(batchTotalText({ kind: 'priced', count: 2, check: over }, price)).toBe(
      `:no_entry: These 2 videos need ${(2 * PRO.priceMc) / 1000} credits (${usd(2 * PRO.priceMc)}), but this channel's daily budget has ${(2 * STD.priceMc) / 1000} left. ` +
        `Reduce to 1 video or use std instead of pro (${(2 * STD.priceMc) / 1000} credits for all 2).`,
    );
    expect(batchTotalText({ kind: 'unpriced', reason: 'Line 2: a <b> & c' }, price)).toBe(
      ':warning: No total: Line 2: a &lt;b&gt; &amp; c',
    );
  });

  it('names the line the catalog cannot price', () => {
    const flags = { model: 'kling-v2-6', mode: 'std' as const, duration: 5, audio: false, draft: false };
    const priced = quoteBatch(builtInCatalog, { prompts: ['a fox', 'a \u0000 cat'], flags, offPeak: false }, 'x');
    expect(priced).toEqual({
      errors: { [BatchField.prompts]: expect.stringMatching(/^Line 2: The prompt contains a NUL/) },
    });
  });
});

describe('/kling batch end to end', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { DEFAULT_DAILY_LIMIT: '1000' } });
  });
  afterAll(async () => h?.close());

  async function openModal(userId: string): Promise<StoredView> {
    const reply = await h.command(userId, 'batch');
    expect(reply).toEqual({ status: 200, ack: undefined });
    return h.slack.waitFor(() =>
      h.slack.views(userId).find((v) => v.type === 'modal' && v.open && v.view.callback_id === 'batch_submit'),
    );
  }

  function submit(
    userId: string,
    view: StoredView,
    prompts: string[],
    settings: { model: string; mode?: string; duration?: string; options?: string[] },
  ) {
    return h.slack.submitView({
      userId,
      viewId: view.id,
      values: {
        [BatchField.prompts]: { [BatchField.prompts]: prompts.join('\n') },
        [BatchField.model]: { [BatchField.model]: settings.model },
        [BatchField.mode]: { [BatchField.mode]: settings.mode ?? '' },
        [BatchField.duration]: { [BatchField.duration]: settings.duration ?? '5' },
        [BatchField.options]: { [BatchField.options]: settings.options ?? [] },
      },
    });
  }

  const jobsOf = (userId: string) =>
    rows<{ id: string; state: string; batch_id: string | null; not_before: string | null; estimate_mc: number }>(
      h.database.db,
      sql`select id, state::text as state, batch_id, not_before, estimate_mc from generations where user_id = ${userId} order by seq`,
    );

  it('holds and queues a batch that fits, all in one batch, with a job card per video', async () => {
    const view = await openModal(GRACE);
    const reply = await submit(GRACE, view, ['a fox in snow', 'a fox asleep', 'a fox <!channel> at dawn'], {
      model: 'kling-v2-6',
      mode: 'pro',
    });
    expect(reply).toEqual({ status: 200, body: '' });
    expect(h.slack.views(GRACE).find((v) => v.id === view.id)?.open).toBe(false);

    const jobs = await jobsOf(GRACE);
    expect(jobs).toHaveLength(3);
    expect(new Set(jobs.map((j) => j.batch_id)).size).toBe(1);
    expect(jobs[0]!.batch_id).toMatch(/^batch_/);
    expect(jobs.every((j) => j.estimate_mc === PRO.priceMc)).toBe(true);

    const cards = await h.slack.waitFor(() => {
      const found = h.cards('C0VIDEO').filter((m) => jobs.some((j) => cardJobId(m) === j.id));
      return found.length === 3 && found;
    }, 10_000);
    expect(cards.map(textOf).join('\n')).toContain('a fox &lt;!channel&gt; at dawn');
    const note = await h.slack.waitFor(() =>
      h.slack.messages('C0VIDEO').find((m) => m.ephemeralTo === GRACE && textOf(m).includes('Queued 3 videos')),
    );
    expect(textOf(note)).toContain('kling-v2-6 pro · 5 s · silent');
    // The worker takes them to Kling.
    await h.slack.waitFor(
      () => h.kling.tasks().filter((t) => jobs.some((j) => j.id === t.externalTaskId)).length === 3,
      10_000,
    );
  });

  it('answers a batch that does not fit with "reduce to N or a cheaper mode", and holds nothing', async () => {
    await h.command(ADA, `budget set <@${LINUS}|linus> day ${(4 * STD.priceMc) / 1000}`);
    const view = await openModal(LINUS);
    const reply = await submit(LINUS, view, ['one', 'two', 'three', 'four'], { model: 'kling-v2-6', mode: 'pro' });
    expect(reply.status).toBe(200);
    const ack = JSON.parse(reply.body) as { response_action: string; errors: Record<string, string> };
    expect(ack.response_action).toBe('errors');
    const fit = Math.floor((4 * STD.priceMc) / PRO.priceMc);
    expect(ack.errors[BatchField.prompts]).toBe(
      `These 4 videos need ${(4 * PRO.priceMc) / 1000} credits ($${((4 * PRO.priceMc * 0.14) / 1000).toFixed(2)}), but your daily budget has ${(4 * STD.priceMc) / 1000} left. ` +
        `Reduce to ${fit} videos or use std instead of pro (${(4 * STD.priceMc) / 1000} credits for all 4).`,
    );
    // The modal stays open with the error under the prompts; nothing was held or queued.
    expect(h.slack.views(LINUS).find((v) => v.id === view.id)).toMatchObject({ open: true, errors: ack.errors });
    expect(await jobsOf(LINUS)).toEqual([]);
    const mine = (await h.ledger.usageFor({ teamId: 'T0DEMO', channelId: 'C0VIDEO', userId: LINUS })).find(
      (u) => u.budget.scope === 'user',
    )!;
    expect(mine.heldMc).toBe(0);

    // The advice works: the same four in std fit exactly.
    const again = await submit(LINUS, view, ['one', 'two', 'three', 'four'], { model: 'kling-v2-6', mode: 'std' });
    expect(again).toEqual({ status: 200, body: '' });
    const queued = await jobsOf(LINUS);
    expect(queued).toHaveLength(4);
    expect(queued.every((j) => j.estimate_mc === STD.priceMc && j.state !== 'refused')).toBe(true);
  });

  it('queues in the channel of the command that opened the form; a forgotten form says so', async () => {
    const view = await openModal(GRACE);
    view.view.private_metadata = '{"channelId":"C0GENERAL"'; // not even JSON
    const queued = await submit(GRACE, view, ['a heron at dusk'], { model: 'kling-v2-5-turbo' });
    expect(queued).toEqual({ status: 200, body: '' });
    await h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => textOf(m).includes('a heron at dusk')), 10_000);
    expect(h.cards('C0GENERAL').some((m) => textOf(m).includes('a heron'))).toBe(false);

    const forgotten = await openModal(GRACE);
    await h.database.db.execute(sql`delete from batch_forms where form_id = ${String(forgotten.view.external_id)}`);
    const reply = await submit(GRACE, forgotten, ['a heron at dawn'], { model: 'kling-v2-5-turbo' });
    const unknown = 'This form is no longer known to the bot. Close it and run `/kling batch` again.';
    expect(JSON.parse(reply.body)).toEqual({ response_action: 'errors', errors: { [BatchField.prompts]: unknown } });
    await h.slack.closeView({ userId: GRACE, viewId: forgotten.id });
  });

  it('shows a catalog refusal under the field at fault and a mistake under the prompts', async () => {
    const view = await openModal(GRACE);
    const audio = await submit(GRACE, view, ['a fox'], { model: 'kling-v2-6', mode: 'std', options: ['audio'] });
    expect(JSON.parse(audio.body)).toEqual({
      response_action: 'errors',
      errors: { [BatchField.options]: expect.stringContaining('cannot add audio in std mode') },
    });
    const many = await submit(
      GRACE,
      view,
      Array.from({ length: 11 }, (_, i) => `fox ${i}`),
      { model: 'kling-v2-5-turbo' },
    );
    expect(JSON.parse(many.body).errors[BatchField.prompts]).toBe('A batch takes up to 10 prompts; this has 11.');
  });

  it('off-peak: the batch waits until 22:00 in the workspace timezone', async () => {
    // A timezone in which it is the middle of the day right now, so the batch must wait.
    const offset = ((13 - new Date().getUTCHours() + 36) % 24) - 12;
    const timezone = offset === 0 ? 'UTC' : `Etc/GMT${offset > 0 ? '-' : '+'}${Math.abs(offset)}`;
    // Set at once (an admin's change waits for the next period boundary).
    await h.database.db.execute(sql`update workspaces set timezone = ${timezone} where team_id = 'T0DEMO'`);
    const view = await openModal(ADA);
    const before = new Date();
    expect(
      await submit(ADA, view, ['night fox', 'night owl'], { model: 'kling-v2-5-turbo', options: ['off-peak'] }),
    ).toEqual({ status: 200, body: '' });
    const jobs = await jobsOf(ADA);
    const expected = offPeakStart(before, timezone)!;
    expect(expected.getTime()).toBeGreaterThan(before.getTime());
    expect(jobs.map((j) => new Date(j.not_before!).getTime())).toEqual([expected.getTime(), expected.getTime()]);
    const note = await h.slack.waitFor(() =>
      h.slack.messages('C0VIDEO').find((m) => m.ephemeralTo === ADA && textOf(m).includes('Queued 2 videos')),
    );
    expect(textOf(note)).toContain(`start <!date^${expected.getTime() / 1000}^`);
    // Held and waiting: a video asked for afterwards reaches Kling while the off-peak ones stay queued.
    await h.command(ADA, 'generate a daytime fox');
    await h.slack.waitFor(
      () => h.kling.tasks().some((t) => (t.body as { prompt?: string }).prompt === 'a daytime fox'),
      10_000,
    );
    expect((await jobsOf(ADA)).slice(0, 2).map((j) => j.state)).toEqual(['queued', 'queued']);
    expect(h.kling.tasks().some((t) => jobs.some((j) => j.id === t.externalTaskId))).toBe(false);
    const held = (await h.ledger.usageFor({ teamId: 'T0DEMO', channelId: 'C0VIDEO', userId: ADA })).find(
      (u) => u.budget.scope === 'workspace',
    )!;
    expect(held.heldMc).toBeGreaterThanOrEqual(jobs.reduce((sum, j) => sum + j.estimate_mc, 0));
  });
});

describe('the batch form shows its total as the person fills it', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { DEFAULT_DAILY_LIMIT: '1000' } });
  });
  afterAll(async () => h?.close());

  const totalOf = (viewId: string) => {
    const view = h.slack.views(GRACE).find((v) => v.id === viewId)!;
    const block = (view.view.blocks as { block_id?: string; text?: { text: string } }[]).find(
      (b) => b.block_id === BATCH_TOTAL_BLOCK,
    );
    return block?.text?.text ?? '';
  };
  /** The person changes one input; the bot hears of it (dispatch_action) and the total becomes `expected`. */
  async function change(viewId: string, blockId: string, value: string | string[], expected: string | RegExp) {
    const reply = await h.slack.changeViewInput({ userId: GRACE, viewId, blockId, value });
    expect(reply?.status).toBe(200);
    const matches = () => {
      const text = totalOf(viewId);
      return typeof expected === 'string' ? text === expected : expected.test(text);
    };
    await h.slack.waitFor(matches, 10_000).catch(() => expect(totalOf(viewId)).toMatch(expected));
  }
  const credits = (m: number) => `${m / 1000} credits ($${((m * 0.14) / 1000).toFixed(2)})`;

  it('types lines, changes settings, and sees the total, a line it cannot price and a total over budget', async () => {
    await h.command(ADA, `budget set <@${GRACE}|grace> day ${(3 * STD.priceMc) / 1000}`);
    await h.command(GRACE, 'batch');
    const view = await h.slack.waitFor(() =>
      h.slack.views(GRACE).find((v) => v.open && v.view.callback_id === 'batch_submit'),
    );
    expect(totalOf(view.id)).toBe('The total shows here as you write prompts.');

    await change(view.id, BatchField.model, 'kling-v2-6', 'The total shows here as you write prompts.');
    await change(view.id, BatchField.mode, 'std', 'The total shows here as you write prompts.');
    await change(
      view.id,
      BatchField.prompts,
      'a fox\na cat',
      `:white_check_mark: *2 videos: ${credits(2 * STD.priceMc)}*. Your budgets can take it; your daily budget keeps ${STD.priceMc / 1000} credits.`,
    );
    // A setting the catalog does not price: no total, never a guess.
    await change(
      view.id,
      BatchField.options,
      ['audio'],
      /^:warning: No total: kling-v2-6 cannot add audio in std mode/,
    );
    await change(view.id, BatchField.options, [], /^:white_check_mark: \*2 videos/);
    // A line Kling would refuse.
    await change(
      view.id,
      BatchField.prompts,
      `a fox\n${'long '.repeat(520)}\na cat`,
      ":warning: No total: Prompt 2 is over Kling's 2500 characters.",
    );
    await change(
      view.id,
      BatchField.prompts,
      'one\ntwo\nthree\nfour',
      `:no_entry: These 4 videos need ${credits(4 * STD.priceMc)}, but your daily budget has ${(3 * STD.priceMc) / 1000} left. Reduce to 3 videos.`,
    );

    // What the person entered survived every update, and each update named the view's hash.
    const shown = h.slack.views(GRACE).find((v) => v.id === view.id)!;
    const values = (shown.view.state as { values: Record<string, Record<string, Record<string, unknown>>> }).values;
    expect(values[BatchField.prompts]![BatchField.prompts]!.value).toBe('one\ntwo\nthree\nfour');
    expect(values[BatchField.model]![BatchField.model]!.selected_option).toMatchObject({ value: 'kling-v2-6' });
    const updates = h.slack.calls('views.update');
    expect(updates.filter((c) => c.ok && typeof c.args.hash === 'string').length).toBeGreaterThanOrEqual(5);
    expect(updates.every((c) => c.ok || c.error === 'hash_conflict')).toBe(true);

    // Changes in a burst overtake each other on the way: the total that stays is the newest change's.
    const burst = ['one', 'one\ntwo', 'one\ntwo\nthree', 'one\ntwo'];
    await Promise.all(
      burst.map((value) =>
        h.slack.changeViewInput({ userId: GRACE, viewId: view.id, blockId: BatchField.prompts, value }),
      ),
    );
    const two = `:white_check_mark: *2 videos: ${credits(2 * STD.priceMc)}*. Your budgets can take it; your daily budget keeps ${STD.priceMc / 1000} credits.`;
    await h.slack.waitFor(() => totalOf(view.id) === two, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(totalOf(view.id)).toBe(two);

    // Three fit: the total says so, and "Check and queue" queues them.
    await change(
      view.id,
      BatchField.prompts,
      'one\ntwo\nthree',
      /^:white_check_mark: \*3 videos: .*keeps 0 credits\.$/,
    );
    const submitted = await h.slack.submitView({
      userId: GRACE,
      viewId: view.id,
      values: {
        [BatchField.prompts]: { [BatchField.prompts]: 'one\ntwo\nthree' },
        [BatchField.model]: { [BatchField.model]: 'kling-v2-6' },
        [BatchField.mode]: { [BatchField.mode]: 'std' },
        [BatchField.duration]: { [BatchField.duration]: '5' },
        [BatchField.options]: { [BatchField.options]: [] },
      },
    });
    expect(submitted).toEqual({ status: 200, body: '' });
  });

  it("counts the tag's budget, and a forgotten form says so rather than guessing the channel", async () => {
    await h.command(ADA, `budget set tag:launch day ${STD.priceMc / 1000}`);
    await h.command(LINUS, 'batch --tag launch');
    const view = await h.slack.waitFor(() =>
      h.slack.views(LINUS).find((v) => v.open && v.view.callback_id === 'batch_submit'),
    );
    const total = () =>
      (
        h.slack.views(LINUS).find((v) => v.id === view.id)!.view.blocks as {
          block_id?: string;
          text?: { text: string };
        }[]
      ).find((b) => b.block_id === BATCH_TOTAL_BLOCK)?.text?.text ?? '';
    await h.slack.changeViewInput({ userId: LINUS, viewId: view.id, blockId: BatchField.model, value: 'kling-v2-6' });
    await h.slack.changeViewInput({ userId: LINUS, viewId: view.id, blockId: BatchField.mode, value: 'std' });
    await h.slack.changeViewInput({ userId: LINUS, viewId: view.id, blockId: BatchField.prompts, value: 'a\nb' });
    await h.slack.waitFor(() => total().includes("the tag's daily budget has"), 10_000);
    expect(total()).toContain(
      `These 2 videos need ${credits(2 * STD.priceMc)}, but the tag's daily budget has ${STD.priceMc / 1000} left. Reduce to 1 video.`,
    );
    // The form says which project its videos go to, when opened and after each update.
    for (const shown of [view.view, h.slack.views(LINUS).find((v) => v.id === view.id)!.view])
      expect(JSON.stringify(shown.blocks)).toContain('Every video is tagged `launch`.');

    await h.database.db.execute(sql`delete from batch_forms where form_id = ${String(view.view.external_id)}`);
    await h.slack.changeViewInput({ userId: LINUS, viewId: view.id, blockId: BatchField.prompts, value: 'a' });
    await h.slack.waitFor(() => total().includes('no longer known'), 10_000);
    expect(total()).toBe(
      ':warning: No total: This form is no longer known to the bot. Close it and run `/kling batch` again.',
    );
  });

  it('the workspace refuses a views.update with a stale hash', async () => {
    await h.command(GRACE, 'batch');
    const view = await h.slack.waitFor(() =>
      h.slack.views(GRACE).find((v) => v.open && v.view.callback_id === 'batch_submit' && v.view.hash),
    );
    const stale = String(view.view.hash);
    await h.slack.changeViewInput({ userId: GRACE, viewId: view.id, blockId: BatchField.prompts, value: 'a fox' });
    await h.slack.waitFor(() => h.slack.views(GRACE).find((v) => v.id === view.id)!.view.hash !== stale, 10_000);
    const answer = await fetch(`${h.slack.url}/api/views.update`, {
      method: 'POST',
      headers: { authorization: 'Bearer xoxb-test-token', 'content-type': 'application/json' },
      body: JSON.stringify({
        view_id: view.id,
        hash: stale,
        view: { type: 'modal', title: { type: 'plain_text', text: 'x' }, blocks: [] },
      }),
    });
    expect(await answer.json()).toMatchObject({ ok: false, error: 'hash_conflict' });
  });
});
