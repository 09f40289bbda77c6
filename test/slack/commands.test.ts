import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, sql } from '../../src/db';
import { signSlackRequest, validateBlocks } from '../../src/dev/slack-workspace';
import { cardJobId, SIGNING_SECRET, startHarness, textOf, type Harness } from './harness';

/**
 * /kling end to end: the real Bolt app over HTTP, requests signed by the offline workspace, its Web API
 * rejecting bad tokens and invalid blocks, the Kling simulator, and Postgres.
 */

let h: Harness;
// Ada is a Slack admin (users.info); Grace and Linus are not.
const ADA = 'U0ADA';
const GRACE = 'U0GRACE';
const LINUS = 'U0LINUS';

beforeAll(async () => {
  h = await startHarness({ env: { CONFIRM_THRESHOLD: '8', DEFAULT_DAILY_LIMIT: '1000' } });
});
afterAll(async () => h?.close());

/** Each job, with its id as cards show it ("#2FC2"). */
async function generations(): Promise<{ id: string; state: string; user_id: string }[]> {
  return rows(
    h.database.db,
    sql`select '#' || short_id as id, state::text as state, user_id from generations order by created_at`,
  );
}

/** The card of a job, once its text satisfies `until`. */
function cardOf(jobId: string, until: (text: string) => boolean = () => true, channel = 'C0VIDEO') {
  return h.slack.waitFor(() => h.cards(channel).find((m) => textOf(m).includes(jobId) && until(textOf(m))), 10_000);
}

/** The job's short id as cards and history show it ("#2FC2"): unique in the workspace. */
function jobIdIn(text: string): string {
  const id = /#[0-9A-F]{4,32}\b/.exec(text)?.[0];
  if (!id) throw new Error(`no job id in: ${text}`);
  return id;
}

/** The ephemeral message an ack left for `userId`, latest first. */
function lastEphemeral(userId: string, channel = 'C0VIDEO') {
  return h.slack
    .messages(channel)
    .filter((m) => m.ephemeralTo === userId)
    .at(-1)!;
}

/** Calls Slack refused, apart from the faults the tests inject on purpose. */
function rejectedCalls() {
  return h.slack.calls().filter((c) => !c.ok && c.error !== 'ratelimited' && c.error !== 'not_in_channel');
}

describe('/kling generate', () => {
  it('holds the price, posts a job card, updates it through Done and puts the video in its thread', async () => {
    const reply = await h.command(GRACE, 'generate a fox running through snow --aspect 9:16');
    expect(reply.status).toBe(200);
    expect(reply.ack).toBeUndefined();
    const posted = await h.slack.waitFor(() =>
      h.cards('C0VIDEO').find((m) => textOf(m).includes('a fox running through snow')),
    );
    const id = jobIdIn(textOf(posted));
    const done = await cardOf(id, (t) => t.includes('Done'));
    expect(textOf(done)).toMatch(/kling-v2-5-turbo std · 5 s · silent · 9:16 · charged 1\.5 credits \(\$0\.21\)/);
    expect(textOf(done)).toMatch(/took \d+s/);
    const thread = await h.slack.waitFor(() => h.slack.messages('C0VIDEO').find((m) => m.threadTs === done.ts));
    // The video itself is in the thread, uploaded from Kling's file, so it plays in Slack and outlives Kling's copy.
    expect(textOf(thread)).toContain('Your video (5 s), kept here in Slack.');
    expect(thread.files?.map((f) => f.name)).toEqual([`kling-${cardJobId(done)}.mp4`]);
    const updates = h.slack.calls('chat.update').filter((c) => c.args.ts === done.ts);
    expect(updates.length).toBeGreaterThanOrEqual(2);
    expect((await generations()).find((g) => g.id === id)?.state).toBe('succeeded');
  });

  it('answers a mistake privately, naming the wrong part and showing the usage, and queues nothing', async () => {
    const before = (await generations()).length;
    const reply = await h.command(GRACE, 'generate a fox --mode ultra');
    expect(reply.ack?.text).toContain('`--mode` must be std, pro or 4k');
    expect(textOf(reply.ack)).toContain('Usage: `/kling generate &lt;prompt&gt; [--model M] [--mode std|pro|4k]');
    const unsupported = await h.command(GRACE, 'generate a fox --model kling-v2-6 --mode std --audio');
    expect(textOf(unsupported.ack)).toMatch(/kling-v2-6 cannot add audio in std mode/);
    const tooLong = await h.command(GRACE, `generate ${'a'.repeat(2501)}`);
    expect(textOf(tooLong.ack)).toContain('The prompt is 2501 characters; Kling takes at most 2500.');
    const nul = await h.command(GRACE, 'generate a fox\u0000 in snow');
    expect(nul.status).toBe(200);
    expect(textOf(nul.ack)).toContain('The prompt contains a NUL character (U+0000): remove it and try again.');
    const nulNegative = await h.command(GRACE, 'estimate a fox --negative "blur\u0000"');
    expect(textOf(nulNegative.ack)).toContain('The negative prompt contains a NUL character');
    expect((await generations()).length).toBe(before);
  });

  it("shows Kling's reason on a failed job and says the credits went back", async () => {
    h.kling.fault({ kind: 'fail-task', times: 1 });
    await h.command(LINUS, 'generate a risky scene');
    const posted = await h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => textOf(m).includes('a risky scene')));
    const failed = await cardOf(jobIdIn(textOf(posted)), (t) => t.includes('Failed'));
    expect(textOf(failed)).toMatch(
      /Kling could not make this video: .+\nThe 1\.5 credits \(\$0\.21\) held for it went back to the budget\./,
    );
  });

  it('escapes a prompt with <!channel> and 2500 characters of emoji and mrkdwn into valid blocks that ping nobody', async () => {
    const noise = '*_~`>&<#C0GENERAL> 🦊👩‍👩‍👧‍👦 ';
    const body = `<!channel> ${noise.repeat(200)}`;
    const text = [...body].slice(0, 2500).join('');
    const reply = await h.command(GRACE, `generate ${text.replace(/&/g, '&amp;')}`);
    expect(reply.ack).toBeUndefined();
    const card = await h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => textOf(m).includes('@channel')));
    const shown = JSON.stringify(card.blocks) + card.text;
    expect(shown).not.toContain('<!channel>');
    expect(shown).toContain('@channel');
    expect(validateBlocks(card.blocks, 'message')).toBeUndefined();
    // 2500 code points is within Kling's limit as the price list counts it; the simulator counts UTF-16 units
    // and may fail the job. Either end re-renders the whole prompt, and every render must be valid.
    const ended = await cardOf(jobIdIn(textOf(card)), (t) => t.includes('Done') || t.includes('Failed'));
    expect(validateBlocks(ended.blocks, 'message')).toBeUndefined();
    expect(JSON.stringify(ended.blocks)).not.toContain('<!channel>');
    expect(rejectedCalls()).toEqual([]);
  });

  it('keeps the card when chat.update answers 429: the update is retried after Retry-After', async () => {
    h.slack.injectFault({ method: 'chat.update', httpStatus: 429, retryAfterSec: 1, times: 1 });
    await h.command(LINUS, 'generate a lighthouse in a storm');
    const posted = await h.slack.waitFor(() =>
      h.cards('C0VIDEO').find((m) => textOf(m).includes('a lighthouse in a storm')),
    );
    const done = await cardOf(jobIdIn(textOf(posted)), (t) => t.includes('Done'));
    expect(h.slack.calls('chat.update').some((c) => c.error === 'ratelimited')).toBe(true);
    await h.slack.waitFor(() => h.slack.messages('C0VIDEO').find((m) => m.threadTs === done.ts));
  });

  it("puts the card in the requester's DM when the bot cannot post in the channel", async () => {
    h.slack.injectFault({ method: 'chat.postMessage', error: 'not_in_channel', times: 1 });
    await h.command(GRACE, 'generate a secret project teaser');
    const opened = await h.slack.waitFor(() =>
      h.slack.calls('conversations.open').find((c) => c.ok && c.args.users === GRACE),
    );
    const dm = await h.slack.waitFor(() => {
      const posted = h.slack
        .calls('chat.postMessage')
        .find((c) => c.ok && String(c.args.text).includes('a secret project teaser'));
      return posted && String(posted.args.channel);
    });
    expect(dm).not.toBe('C0VIDEO');
    expect(opened).toBeDefined();
    await h.slack.waitFor(() => h.cards(dm).find((m) => textOf(m).includes('Done')), 10_000);
  });

  it('offers an identical earlier video at no cost, and "Generate anyway" queues a new one', async () => {
    const first = await h.command(ADA, 'generate a paper boat on a river');
    expect(first.ack).toBeUndefined();
    const card = await h.slack.waitFor(() =>
      h.cards('C0VIDEO').find((m) => textOf(m).includes('a paper boat on a river')),
    );
    await cardOf(jobIdIn(textOf(card)), (t) => t.includes('Done'));
    const again = await h.command(GRACE, 'generate a paper boat on a river');
    expect(textOf(again.ack)).toMatch(
      /<@U0ADA> made exactly this video .*<http[^|]+\|watch it>\. Reusing it costs nothing\./,
    );
    const count = h.cards('C0VIDEO').length;
    const offer = lastEphemeral(GRACE);
    await h.slack.clickButton({
      userId: GRACE,
      channelId: 'C0VIDEO',
      messageTs: offer.ts,
      actionId: 'generate_anyway',
    });
    await h.slack.waitFor(() => h.cards('C0VIDEO').length > count);
    expect(textOf(lastEphemeral(GRACE))).toContain('Queued');
  });

  it('asks for a confirmation above the workspace threshold, then queues on the button', async () => {
    const reply = await h.command(GRACE, 'generate a dragon --model kling-v2-6 --mode pro --duration 10 --audio');
    expect(textOf(reply.ack)).toMatch(
      /costs \*10 credits \(\$1\.40\)\*, above this workspace's confirmation threshold of 8 credits/,
    );
    const count = h.cards('C0VIDEO').length;
    await h.slack.clickButton({
      userId: GRACE,
      channelId: 'C0VIDEO',
      messageTs: lastEphemeral(GRACE).ts,
      actionId: 'generate_confirm',
    });
    const card = await h.slack.waitFor(() => h.cards('C0VIDEO').length > count && h.cards('C0VIDEO').at(-1));
    expect(textOf(card)).toContain('kling-v2-6 pro · 10 s · audio');
    // Once it exists, the same request is offered at no cost before any price is confirmed.
    await cardOf(jobIdIn(textOf(card)), (t) => t.includes('Done'));
    const again = await h.command(LINUS, 'generate a dragon --model kling-v2-6 --mode pro --duration 10 --audio');
    expect(textOf(again.ack)).toMatch(/<@U0GRACE> made exactly this video .*Reusing it costs nothing\./);
  });

  it('lets an admin move the confirmation threshold or turn it off, and nobody else', async () => {
    const expensive = (what: string) =>
      h.command(GRACE, `generate ${what} --model kling-v2-6 --mode pro --duration 10 --audio`);
    const refused = await h.command(GRACE, 'budget confirm 1');
    expect(textOf(refused.ack)).toContain('Only workspace admins');
    expect(textOf(refused.ack)).not.toContain('ADMIN_USER_IDS');
    expect(textOf((await h.command(ADA, 'budget confirm 100')).ack)).toContain(
      'priced above 100 credits now asks for a confirmation first',
    );
    expect((await expensive('a griffin')).ack).toBeUndefined(); // queued at once: 10 credits is below 100
    expect(textOf((await h.command(ADA, 'budget confirm 9.5')).ack)).toContain('above 9.5 credits');
    expect(textOf((await expensive('a kraken')).ack)).toMatch(
      /above this workspace's confirmation threshold of 9\.5 credits/,
    );
    expect(textOf((await h.command(ADA, 'budget confirm off')).ack)).toContain('Nobody is asked to confirm');
    expect((await expensive('a phoenix')).ack).toBeUndefined();
    await h.command(ADA, 'budget confirm 8');
  });

  it('refuses over a user budget with what is left, the cheaper option that fits and a request-approval button', async () => {
    // Linus's 1.5 credits of earlier today count against the budget set now.
    const set = await h.command(ADA, 'budget set <@U0LINUS|linus> day 3.5');
    expect(textOf(set.ack)).toContain("<@U0LINUS>'s daily budget is now 3.5 credits");
    expect(textOf(set.ack)).toContain('1.5 already spent today: 2 left.');
    const refused = await h.command(LINUS, 'generate a city at night --model kling-v2-6 --mode pro');
    const text = textOf(refused.ack);
    expect(text).toMatch(
      /Not queued: this needs \*\d+(\.\d+)? credits .*\* but <@U0LINUS>'s daily budget has \*[\d.]+\* left until/,
    );
    expect(text).toMatch(/\*.+\* would cost [\d.]+ credits \(\$[\d.]+\) and fits/);
    expect(JSON.stringify(refused.ack)).toContain('approval_request');
    // What the button does is the approvals feature's (test/slack/approvals.test.ts).
  });
});

describe('/kling estimate, budget, history, status, help', () => {
  it('estimate shows the price, the budgets it would touch and cheaper options, and spends nothing', async () => {
    const reply = await h.command(GRACE, 'estimate --model kling-v2-6 --mode pro --duration 10 --audio');
    const text = textOf(reply.ack);
    expect(text).toContain('*kling-v2-6 pro · 10 s · audio* costs *10 credits ($1.40)*');
    expect(text).toMatch(/the workspace daily budget: [\d,.]+ of 1,000 left, fits/);
    expect(text).toMatch(/\*Cheaper options\*\n• .+: [\d.]+ credits/);
    expect(text).toContain('nothing was spent');
  });

  it('budget shows used, held and what is left; admins set budgets, thresholds and the alerts channel', async () => {
    const shown = await h.command(GRACE, 'budget');
    expect(textOf(shown.ack)).toMatch(
      /\*the workspace daily budget\*\n[█▒░]{10} \d+%\nused [\d.,]+ · held [\d.,]+ · \*[\d.,]+ left\* of 1,000/,
    );

    const set = await h.command(ADA, 'budget set <#C0VIDEO|video> week 300');
    expect(textOf(set.ack)).toContain("<#C0VIDEO>'s weekly budget is now 300 credits (alerts at 80%, 100%)");
    const thresholds = await h.command(ADA, 'budget thresholds <#C0VIDEO|video> week 50,90');
    expect(textOf(thresholds.ack)).toContain('alerts at 50%, 90%');
    const channel = (await h.ledger.budgets('T0DEMO')).find((b) => b.scope === 'channel');
    expect(channel).toMatchObject({ scopeId: 'C0VIDEO', period: 'week', limitMc: 300_000, thresholds: [50, 90] });

    const alerts = await h.command(ADA, 'budget alerts <#C0ALERTS|kling-alerts>');
    expect(textOf(alerts.ack)).toContain('Budget alerts now go to <#C0ALERTS>');
    const missing = await h.command(ADA, 'budget thresholds <@U0GRACE> month 50');
    expect(textOf(missing.ack)).toContain("There is no such budget yet: <@U0GRACE>'s monthly budget");
  });

  it("budget <period> shows the usage of an earlier day, each budget's period that contained it", async () => {
    const today = textOf((await h.command(GRACE, 'budget')).ack);
    const used = /\*the workspace daily budget\*\n\S+ \d+%\nused ([\d.,]+) · held ([\d.,]+)/.exec(today)!;
    expect(Number(used[1]!.replace(/,/g, '')) + Number(used[2]!.replace(/,/g, ''))).toBeGreaterThan(0);
    const yesterday = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const shown = textOf((await h.command(GRACE, 'budget yesterday')).ack);
    expect(shown).toContain(`*Your budgets in ${yesterday}*`);
    const workspace = /\*the workspace daily budget\*\n[░]{10} 0%\nused 0 · held 0 · \*1,000 left\* of 1,000 · ended/;
    expect(shown).toMatch(workspace);
    expect(textOf((await h.command(GRACE, `budget ${yesterday}`)).ack)).toContain(`*Your budgets in ${yesterday}*`);
  });

  it('a non-admin cannot change a budget', async () => {
    const before = await h.ledger.budgets('T0DEMO');
    const reply = await h.command(GRACE, 'budget set workspace day 99999');
    expect(textOf(reply.ack)).toContain('Only workspace admins');
    const alerts = await h.command(GRACE, 'budget alerts <#C0GENERAL|general>');
    expect(textOf(alerts.ack)).toContain('Only workspace admins');
    expect(await h.ledger.budgets('T0DEMO')).toEqual(before);
  });

  it('budget mistakes name the wrong part and show the right usage', async () => {
    const reply = await h.command(ADA, 'budget set video day 10');
    expect(textOf(reply.ack)).toContain('`video` is not a budget: use workspace, a #channel, an @person');
    expect(textOf(reply.ack)).toContain(
      '`/kling budget set &lt;workspace|#channel|@user|tag:name&gt; &lt;day|week|month&gt; &lt;credits&gt;`',
    );
  });

  it("history lists the person's jobs; status shows one; an unknown id is said plainly", async () => {
    const history = await h.command(GRACE, 'history');
    expect(textOf(history.ack)).toMatch(
      /:white_check_mark: \*#[0-9A-F]{4,}\* .* · 1\.5 cr · a fox running through snow/,
    );
    expect(textOf(history.ack)).not.toContain('kbb_');
    expect(history.ack).toMatchObject({ unfurl_links: false, unfurl_media: false });
    const id = jobIdIn(textOf(history.ack));
    for (const typed of [id, id.slice(1), id.slice(1).toLowerCase()]) {
      const status = await h.command(GRACE, `status ${typed}`);
      expect(textOf(status.ack)).toContain(`job ${id}`);
    }
    const late = await h.command(GRACE, `cancel ${id}`);
    expect(textOf(late.ack)).toContain(`Job ${id} cannot be cancelled: it is already done; only a video still waiting`);
    expect(textOf(late.ack)).not.toContain('kbb_');
    const refusedEstimate = await h.command(GRACE, 'estimate a fox --model kling-v0-nope');
    expect(textOf(refusedEstimate.ack)).toContain('Usage: `/kling estimate');
    expect(textOf(refusedEstimate.ack)).not.toContain('/kling generate');
    const unknown = await h.command(GRACE, 'status kbb_nope');
    expect(textOf(unknown.ack)).toContain('There is no job `kbb_nope` in this workspace');
  });

  it('help and an unknown command', async () => {
    expect(textOf((await h.command(GRACE, 'help')).ack)).toContain('/kling generate &lt;prompt&gt;');
    expect(textOf((await h.command(GRACE, '')).ack)).toContain('*Admins*');
    const unknown = await h.command(GRACE, 'render a fox');
    expect(textOf(unknown.ack)).toContain('`render` is not a /kling command');
  });

  it('digest preview and now are for admins', async () => {
    const refused = await h.command(GRACE, 'digest now');
    expect(textOf(refused.ack)).toContain('Only workspace admins');
    expect(textOf(refused.ack)).not.toContain('ADMIN_USER_IDS');
    const preview = await h.command(ADA, 'digest preview');
    expect(textOf(preview.ack)).toContain('Building the preview');
    const shown = await h.slack.waitFor(() => lastEphemeral(ADA).via === 'response_url' && lastEphemeral(ADA));
    expect(validateBlocks(shown.blocks, 'message')).toBeUndefined();
    const before = h.slack.messages('C0ALERTS').length;
    await h.command(ADA, 'digest now');
    await h.slack.waitFor(() => h.slack.messages('C0ALERTS').length > before);
    await h.slack.waitFor(() => textOf(lastEphemeral(ADA)).includes('The digest is posted'));
  });
});

describe('HTTP', () => {
  it('refuses a forged signature and a stale timestamp with 401', async () => {
    const body = new URLSearchParams({
      command: '/kling',
      text: 'budget set workspace day 1',
      user_id: ADA,
      team_id: 'T0DEMO',
      channel_id: 'C0VIDEO',
    }).toString();
    const post = (headers: Record<string, string>) =>
      fetch(`${h.botUrl}/slack/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body,
      });
    expect((await post(signSlackRequest('not-the-secret', body))).status).toBe(401);
    expect((await post(signSlackRequest(SIGNING_SECRET, body, Math.floor(Date.now() / 1000) - 600))).status).toBe(401);
    expect((await post({})).status).toBe(401);
    expect((await h.ledger.budgets('T0DEMO')).find((b) => b.scope === 'workspace')?.limitMc).not.toBe(1000);
  });

  it('answers a signed interaction lacking what Slack always sends with 400 saying what, never 500', async () => {
    const send = (payload: unknown) => {
      const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
      const signed = signSlackRequest(SIGNING_SECRET, body);
      const headers = { 'content-type': 'application/x-www-form-urlencoded', ...signed };
      return fetch(`${h.botUrl}/slack/events`, { method: 'POST', headers, body });
    };
    const team = { id: 'T0DEMO' };
    const button = (actionId: string) => [{ action_id: actionId, type: 'button', value: 'x' }];
    const cases: [unknown, string][] = [
      [{ type: 'block_actions', team, actions: button('approval_approve') }, 'the interaction has no user'],
      [{ type: 'block_actions', actions: button('queue_resume') }, 'the interaction has no user'],
      [{ type: 'view_submission', team, user: { id: ADA, team_id: 'T0DEMO' } }, 'the view submission has no view'],
      [null, 'the body is not a Slack payload'],
      [[], 'the body is not a Slack payload'],
      ['block_actions', 'the body is not a Slack payload'],
    ];
    for (const [payload, problem] of cases) {
      const res = await send(payload);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({ ok: false, error: `malformed payload: ${problem}` });
    }
    // Still serving: none of them took the process down.
    expect((await fetch(`${h.botUrl}/healthz`)).status).toBe(200);
  });

  it('/healthz answers while the database does; /metrics counts commands and refusals', async () => {
    const health = await fetch(`${h.botUrl}/healthz`);
    expect(health.status).toBe(200);
    const metrics = await (await fetch(`${h.botUrl}/metrics`)).text();
    expect(metrics).toMatch(/kling_bot_commands_total\{command="generate"\} \d+/);
    expect(metrics).toMatch(/kling_bot_refusals_total\{reason="user"\} 1/);
    expect(metrics).toMatch(/kling_bot_jobs\{state="succeeded"\} \d+/);
    expect(metrics).toMatch(/kling_bot_credits\{kind="committed"\} \d+/);
    expect(metrics).toMatch(/kling_bot_ack_seconds_count\{kind="command"\} \d+/);
  });

  it('/kling/callback wakes the worker and refuses what it cannot read', async () => {
    const bad = await fetch(`${h.botUrl}/kling/callback`, { method: 'POST', body: 'not json' });
    expect([400, 401]).toContain(bad.status);
  });
});

// Last: its channel budget would be the first one the budget test above finds.
describe('/kling generate above the confirmation threshold', () => {
  it('refuses a price above the threshold that the budgets cannot take at once, instead of asking to confirm it', async () => {
    await h.command(ADA, 'budget set <#C0GENERAL|general> day 9');
    const before = (await generations()).length;
    const reply = await h.command(
      GRACE,
      'generate a comet --model kling-v2-6 --mode pro --duration 10 --audio',
      'C0GENERAL',
    );
    const text = textOf(reply.ack);
    expect(text).toMatch(/Not queued: this needs \*10 credits .*\* but <#C0GENERAL>'s daily budget has \*9\* left/);
    expect(text).not.toContain('confirmation threshold');
    expect(JSON.stringify(reply.ack)).toContain('approval_request');
    expect(JSON.stringify(reply.ack)).not.toContain('generate_confirm');
    expect(await generations()).toHaveLength(before);
  });
});
