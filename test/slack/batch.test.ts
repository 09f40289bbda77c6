import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Usage } from '../../src/budget';
import { rows, sql } from '../../src/db';
import { viewProblems, type StoredView } from '../../src/dev/slack-workspace';
import { builtInCatalog, type Quote } from '../../src/pricing';
import { batchModal, batchQueued, batchTooExpensive } from '../../src/slack/blocks/batch';
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
