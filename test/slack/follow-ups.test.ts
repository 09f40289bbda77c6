import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, sql } from '../../src/db';
import { cardJobId, leaveToday, startHarness, textOf, type Harness } from './harness';

/**
 * A finished card's Re-roll, Extend and Upgrade, end to end through the offline workspace, the bot, the Kling
 * simulator and Postgres: each button carries the catalog's price, a click is a new request of whoever clicked
 * (priced, held, refused with a cheaper alternative when over budget), a double click makes one job, and the
 * new card and /kling history name the parent.
 */

let h: Harness;
const ADA = 'U0ADA'; // a Slack admin
const GRACE = 'U0GRACE';
const LINUS = 'U0LINUS';

beforeAll(async () => {
  h = await startHarness({ env: { DEFAULT_DAILY_LIMIT: '1000' } });
});
afterAll(async () => h?.close());

interface Job {
  id: string;
  user_id: string;
  short_id: string;
  state: string;
  endpoint: string;
  request: Record<string, unknown>;
  source: unknown;
  estimate_mc: number;
  parent_id: string | null;
  follow_up: string | null;
  hold_mc: number | null;
}

const childrenOf = (parentId: string, kind: string) =>
  rows<Job>(
    h.database.db,
    sql`select g.id, g.user_id, g.state::text as state, g.endpoint, g.request, g.source, g.estimate_mc::int as estimate_mc,
               g.parent_id, g.follow_up, g.short_id, h.amount_mc::int as hold_mc
          from generations g left join holds h on h.id = g.hold_id
         where g.parent_id = ${parentId} and g.follow_up = ${kind} order by g.seq`,
  );

const cardOf = (id: string) => h.cards('C0VIDEO').find((m) => cardJobId(m) === id);
const buttonsOf = (id: string) => {
  const card = cardOf(id);
  const found: { action_id: string; text: string }[] = [];
  for (const block of (card?.blocks ?? []) as {
    type: string;
    elements?: { action_id?: string; text?: { text: string } }[];
  }[]) {
    if (block.type !== 'actions') continue;
    for (const e of block.elements ?? [])
      if (e.action_id) found.push({ action_id: e.action_id, text: e.text?.text ?? '' });
  }
  return found;
};
const answers = () => h.slack.calls('response_url').map((c) => textOf(c.args as { text?: string; blocks?: unknown[] }));

/** Runs a generate and waits for its card to offer its follow-ups; returns the job id. */
async function finished(userId: string, text: string, prompt: string): Promise<string> {
  const reply = await h.command(userId, text);
  expect(reply.ack, textOf(reply.ack)).toBeUndefined();
  const posted = await h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => textOf(m).includes(prompt)), 10_000);
  const id = String(cardJobId(posted));
  await h.slack.waitFor(() => buttonsOf(id).some((b) => b.action_id === 'job_reroll'), 15_000);
  return id;
}

function click(userId: string, jobId: string, actionId: string) {
  return h.slack.clickButton({ userId, channelId: 'C0VIDEO', messageTs: cardOf(jobId)!.ts, actionId });
}

function createFor(id: string) {
  const found = h.kling.requests.find(
    (r) => r.method === 'POST' && (r.body as { external_task_id?: string })?.external_task_id === id,
  );
  expect(found, `a create for ${id}`).toBeDefined();
  return found!;
}

describe('follow-ups on a finished card', () => {
  let parent: string;
  let kite: string;

  it('a kling-v2-6 std card offers each follow-up at the catalog price, and says how Extend is made', async () => {
    parent = await finished(GRACE, 'generate a lighthouse in a storm --model kling-v2-6', 'a lighthouse in a storm');
    // 2.6 std 5 s is 1.5; std → pro is 2.5; kling-v2-6 has no video-extend, so kling-v3-omni std with the
    // video as a reference (0.9 per second × 5 s).
    expect(buttonsOf(parent)).toEqual([
      { action_id: 'job_reroll', text: 'Re-roll · 1.5 cr' },
      { action_id: 'job_extend', text: 'Extend +5 s · 4.5 cr' },
      { action_id: 'job_upgrade', text: 'Upgrade to pro · 2.5 cr' },
    ]);
    expect(textOf(cardOf(parent))).toContain('Extend +5 s: kling-v3-omni std · 5 s · with reference video');
  });

  it('Re-roll double-clicked by someone else: one new job of theirs, held, no duplicate offer, naming its parent', async () => {
    const before = answers().length;
    await Promise.all([click(LINUS, parent, 'job_reroll'), click(LINUS, parent, 'job_reroll')]);
    const told = await h.slack.waitFor(() => answers().length >= before + 2 && answers().slice(before), 15_000);
    expect(told.filter((t) => t.includes('Queued. The job card is in the channel'))).toHaveLength(1);
    expect(told.filter((t) => t.includes('Already done: this queued job'))).toHaveLength(1);
    const [child, ...more] = await childrenOf(parent, 'reroll');
    expect(more).toHaveLength(0);
    expect(child).toMatchObject({ user_id: LINUS, estimate_mc: 1500, hold_mc: 1500, parent_id: parent });
    const card = await h.slack.waitFor(() => textOf(cardOf(child!.id)).includes('Done') && cardOf(child!.id), 15_000);
    expect(textOf(card)).toContain(`↳ re-roll of \`${parent}\``);
    const { external_task_id: _a, ...asked } = createFor(child!.id).body as Record<string, unknown>;
    const { external_task_id: _b, ...first } = createFor(parent).body as Record<string, unknown>;
    expect(asked).toEqual(first);
  });

  it('the card is re-rendered after a click: the next click of the same person is a new request', async () => {
    await rendered(parent);
    await click(LINUS, parent, 'job_reroll');
    await queued(parent, 'reroll', 2);
  });

  it('Upgrade asks for the same video in pro, priced and held at the pro price', async () => {
    await rendered(parent);
    await click(GRACE, parent, 'job_upgrade');
    const [child] = await queued(parent, 'upgrade', 1);
    expect(child).toMatchObject({ user_id: GRACE, estimate_mc: 2500, hold_mc: 2500 });
    expect(child!.request).toMatchObject({
      model_name: 'kling-v2-6',
      mode: 'pro',
      duration: '5',
      prompt: 'a lighthouse in a storm',
    });
  });

  it('Extend of a model without video-extend: omni-video with the video as a feature reference', async () => {
    await rendered(parent);
    await click(GRACE, parent, 'job_extend');
    const [child] = await queued(parent, 'extend', 1);
    expect(child).toMatchObject({ endpoint: 'omni-video', estimate_mc: 4500, hold_mc: 4500 });
    await h.slack.waitFor(() => textOf(cardOf(child!.id)).includes('Done'), 15_000);
    const video = (
      await rows<{ url: string }>(
        h.database.db,
        sql`select result->'videos'->0->>'url' as url from generations where id = ${parent}`,
      )
    )[0]!.url;
    expect(createFor(child!.id).path).toBe('/v1/videos/omni-video');
    expect(createFor(child!.id).body).toMatchObject({
      model_name: 'kling-v3-omni',
      mode: 'std',
      duration: '5',
      prompt: 'Based on <<<video_1>>>, generate the next shot: a lighthouse in a storm',
      video_list: [{ video_url: video, refer_type: 'feature' }],
    });
    const history = await h.command(GRACE, 'history');
    expect(textOf(history.ack)).toContain(`*#${child!.short_id}*`);
    expect(textOf(history.ack)).toContain(`↳ extend of \`${parent}\``);
  });

  it('Extend of a kling-v1-6 video goes to video-extend with its video_id, inheriting model and mode', async () => {
    const v16 = await finished(GRACE, 'generate a kite on a beach --model kling-v1-6 --mode pro', 'a kite on a beach');
    kite = v16;
    expect(buttonsOf(v16).find((b) => b.action_id === 'job_extend')?.text).toBe('Extend +5 s · 3.5 cr');
    await click(GRACE, v16, 'job_extend');
    const [child] = await queued(v16, 'extend', 1);
    expect(child).toMatchObject({
      endpoint: 'video-extend',
      estimate_mc: 3500,
      source: { model_name: 'kling-v1-6', mode: 'pro' },
    });
    await h.slack.waitFor(() => textOf(cardOf(child!.id)).includes('Done'), 15_000);
    const videoId = (
      await rows<{ id: string }>(
        h.database.db,
        sql`select result->'videos'->0->>'id' as id from generations where id = ${v16}`,
      )
    )[0]!.id;
    expect(createFor(child!.id)).toMatchObject({
      path: '/v1/videos/video-extend',
      body: { video_id: videoId, prompt: 'a kite on a beach' },
    });
    // The extension's own card offers another extension and a re-roll (the mode is inherited: no upgrade).
    await h.slack.waitFor(() => buttonsOf(child!.id).some((b) => b.action_id === 'job_reroll'), 15_000);
    expect(buttonsOf(child!.id).map((b) => b.text)).toEqual(['Re-roll · 3.5 cr', 'Extend +5 s · 3.5 cr']);
  });

  it('a card whose follow-up the catalog cannot price does not offer it: no upgrade above 4k', async () => {
    const top = await finished(GRACE, 'generate a glacier at noon --model kling-v3 --mode 4k', 'a glacier at noon');
    expect(buttonsOf(top).map((b) => b.action_id)).toEqual(['job_reroll', 'job_extend']);
  });

  it('Extend keeps the duplicate check: the same extension made already is offered first, nothing held', async () => {
    const before = answers().length;
    await rendered(parent);
    await click(LINUS, parent, 'job_extend');
    const [told] = await h.slack.waitFor(() => answers().length > before && answers().slice(before), 15_000);
    expect(told).toContain(`<@${GRACE}> made exactly this video`);
    expect(await childrenOf(parent, 'extend')).toHaveLength(1);
  });

  it("above the workspace's confirmation threshold a follow-up asks first; confirming queues it once", async () => {
    await h.command(ADA, 'budget confirm 2');
    try {
      await rendered(kite);
      await click(GRACE, kite, 'job_reroll');
      const ask = await h.slack.waitFor(() =>
        h.slack
          .messages('C0VIDEO')
          .find((m) => m.ephemeralTo === GRACE && textOf(m).includes('confirmation threshold')),
      );
      expect(textOf(ask)).toContain('costs *3.5 credits');
      expect(await childrenOf(kite, 'reroll')).toHaveLength(0);
      const confirm = { userId: GRACE, channelId: 'C0VIDEO', messageTs: ask.ts, actionId: 'generate_confirm' };
      await Promise.all([h.slack.clickButton(confirm), h.slack.clickButton(confirm)]);
      const [child, ...more] = await queued(kite, 'reroll', 1);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(more).toHaveLength(0);
      expect(await childrenOf(kite, 'reroll')).toHaveLength(1);
      expect(child).toMatchObject({ user_id: GRACE, estimate_mc: 3500, hold_mc: 3500 });
    } finally {
      await h.command(ADA, 'budget confirm off');
    }
  });

  it('over budget: the click is refused with the cheaper version that fits, and nothing is held', async () => {
    const mine = await finished(LINUS, 'generate a barn at dawn --model kling-v2-6', 'a barn at dawn');
    // A budget of its own for Linus with 2 credits left, so the upgrade to pro (2.5) does not fit and std (1.5) does.
    await leaveToday(h, ADA, LINUS, 2);
    const left = await h.ledger.usageFor({ teamId: 'T0DEMO', channelId: 'C0VIDEO', userId: LINUS });
    expect(left.find((u) => u.budget.scope === 'user')?.remainingMc).toBe(2000);
    const held = await rows<{ n: number }>(h.database.db, sql`select count(*)::int as n from holds`);
    const before = answers().length;
    await click(LINUS, mine, 'job_upgrade');
    const [told] = await h.slack.waitFor(() => answers().length > before && answers().slice(before), 15_000);
    expect(told).toContain('Not queued: this needs *2.5 credits');
    expect(told).toContain('*std instead of pro* would cost 1.5 credits');
    expect(told).toContain('An admin can raise <@U0LINUS>');
    // The refusal is kept as a row, as for a command; it holds nothing.
    expect((await childrenOf(mine, 'upgrade')).map((j) => [j.state, j.hold_mc])).toEqual([['refused', null]]);
    expect(await rows<{ n: number }>(h.database.db, sql`select count(*)::int as n from holds`)).toEqual(held);

    // Request a raise carries the follow-up: an admin's raise queues the upgrade of this very job.
    const refusal = h.slack
      .messages('C0VIDEO')
      .filter((m) => m.ephemeralTo === LINUS && JSON.stringify(m.blocks).includes('approval_request'))
      .at(-1)!;
    await h.slack.clickButton({
      userId: LINUS,
      channelId: 'C0VIDEO',
      messageTs: refusal.ts,
      actionId: 'approval_request',
    });
    const ask = await h.slack.waitFor(() =>
      h.slack.messages('C0ALERTS').find((m) => JSON.stringify(m.blocks).includes('approval_raise')),
    );
    expect(textOf(ask)).toContain('kling-v2-6 pro');
    expect(textOf(ask)).toContain(`↳ upgrade of \`${mine}\``);
    await h.slack.clickButton({ userId: ADA, channelId: 'C0ALERTS', messageTs: ask.ts, actionId: 'approval_raise' });
    const modal = await h.slack.waitFor(() =>
      h.slack.views(ADA).find((v) => v.open && v.view.callback_id === 'approval_raise_submit'),
    );
    const until = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    await h.slack.submitView({
      userId: ADA,
      viewId: modal.id,
      values: { raise_amount: { raise_amount: '1' }, raise_until: { raise_until: until } },
    });
    const [, upgrade] = await queued(mine, 'upgrade', 2);
    expect(upgrade).toMatchObject({ user_id: LINUS });
    expect(upgrade!.state).not.toBe('refused');
  });
});

/** Polls until the parent has `n` follow-ups of the kind. */
async function queued(parentId: string, kind: string, n: number): Promise<Job[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const found = await childrenOf(parentId, kind);
    if (found.length >= n) return found;
    if (Date.now() > deadline) throw new Error(`no ${kind} of ${parentId} within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Waits until the card's buttons carry claims nobody has clicked (a click re-renders the card). */
async function rendered(jobId: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const values = JSON.stringify(cardOf(jobId)?.blocks ?? []);
    const claims = await rows<{ claim_key: string }>(
      h.database.db,
      sql`
      select claim_key from generations where parent_id = ${jobId} and claim_key is not null`,
    );
    if (claims.every((c) => !values.includes(c.claim_key.split(':')[1]!))) return;
    if (Date.now() > deadline) throw new Error(`card of ${jobId} not re-rendered within 15 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('/kling image', () => {
  it('makes n images through images/generations, priced in image units at their list price, held and settled', async () => {
    const reply = await h.command(GRACE, 'image a red fox in fresh snow --model kling-v3 --n 3 --aspect 4:3');
    expect(reply.ack, textOf(reply.ack)).toBeUndefined();
    const posted = await h.slack.waitFor(
      () => h.cards('C0VIDEO').find((m) => textOf(m).includes('a red fox in fresh snow')),
      10_000,
    );
    const id = String(cardJobId(posted));
    await h.slack.waitFor(() => buttonsOf(id).some((b) => b.action_id === 'job_reroll'), 15_000);
    // kling-v3: 8 image units an image at $0.0035, 0.2 of a $0.14 credit; three of them.
    const [job] = await rows<Job & { actual_mc: number }>(
      h.database.db,
      sql`
      select g.endpoint, g.estimate_mc::int as estimate_mc, g.actual_mc::int as actual_mc, h.amount_mc::int as hold_mc
        from generations g join holds h on h.id = g.hold_id where g.id = ${id}`,
    );
    expect(job).toMatchObject({ endpoint: 'images/generations', estimate_mc: 600, hold_mc: 600, actual_mc: 600 });
    expect(createFor(id)).toMatchObject({
      path: '/v1/images/generations',
      body: { prompt: 'a red fox in fresh snow', model_name: 'kling-v3', n: 3, aspect_ratio: '4:3' },
    });
    expect(textOf(cardOf(id))).toContain('The images are in the thread');
    // Images have no longer or better version: the card offers a re-roll only.
    expect(buttonsOf(id).map((b) => b.text)).toEqual(['Re-roll · 0.6 cr']);
    // Uploaded into the card's thread, one file each, so they outlive Kling's 30 days.
    const inThread = () => h.slack.messages('C0VIDEO').filter((m) => m.threadTs === cardOf(id)!.ts);
    const thread = await h.slack.waitFor(() => inThread().filter((m) => m.files?.length).length === 3 && inThread());
    const names = thread.flatMap((m) => (m.files ?? []).map((f) => f.name));
    expect(names).toEqual([1, 2, 3].map((i) => `kling-${id}-${i}.png`));
    expect(thread.map((m) => textOf(m))).toContain(':frame_with_picture: Image 3 of 3, kept here in Slack.');
  });

  it('refuses what the catalog cannot price, naming why, and holds nothing', async () => {
    const reply = await h.command(GRACE, 'image a red fox --model kling-v9');
    expect(textOf(reply.ack)).toContain('"kling-v9" is not a model the price list knows');
    const wrong = await h.command(GRACE, 'image a red fox --n 12');
    expect(textOf(wrong.ack)).toContain('`--n` must be a number of images from 1 to 9.');
    const flag = await h.command(GRACE, 'image a red fox --duration 5');
    expect(textOf(flag.ack)).toContain('`--duration` is not an option of image.');
  });

  it('over budget: refused with the cheaper version that fits, nothing held', async () => {
    // 1 credit left today for Grace (Linus's day went to a raised upgrade): 9 images cost 1.8, one costs 0.2.
    await leaveToday(h, ADA, GRACE, 1);
    const reply = await h.command(GRACE, 'image a lantern festival --model kling-v3 --n 9');
    expect(textOf(reply.ack)).toContain('Not queued: this needs *1.8 credits');
    expect(textOf(reply.ack)).toContain('*1 image instead of 9* would cost 0.2 credits');
    const [row] = await rows<{ n: number }>(
      h.database.db,
      sql`
      select count(*)::int as n from generations where request->>'prompt' = 'a lantern festival' and hold_id is not null`,
    );
    expect(row!.n).toBe(0);
  });
});
