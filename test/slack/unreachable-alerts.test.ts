import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, sql } from '../../src/db';
import { builtInCatalog } from '../../src/pricing';
import { BOT_TOKEN, startHarness, textOf, type Harness } from './harness';

/**
 * The alerts channel answers channel_not_found (deleted, or the bot was never in it): admin alerts go to the
 * admins' DMs, the requester of an approval is told where it went (or that it reached nobody), and a queue
 * Kling paused shows in /kling status and /metrics and resumes with /kling queue resume.
 */

const ADA = 'U0ADA'; // a Slack admin, and in ADMIN_USER_IDS
const GRACE = 'U0GRACE';
const LINUS = 'U0LINUS';
const GONE = 'C0GONE';
const PRO = { endpoint: 'text2video' as const, body: { model_name: 'kling-v2-6', mode: 'pro', prompt: 'p' } };
const PRICE = builtInCatalog.quote(PRO).priceMc;

let h: Harness;
let adaDm: string;
beforeAll(async () => {
  h = await startHarness({ env: { ALERT_CHANNEL_ID: GONE, ADMIN_USER_IDS: ADA, DEFAULT_DAILY_LIMIT: '1000' } });
  const web = new WebClient(BOT_TOKEN, { slackApiUrl: `${h.slack.url}/api/` });
  adaDm = (await web.conversations.open({ users: ADA })).channel!.id!;
});
afterAll(async () => h?.close());

const ephemerals = (userId: string) => h.slack.messages('C0VIDEO').filter((m) => m.ephemeralTo === userId);
const approvalsRows = () =>
  rows<{ id: string; state: string }>(h.database.db, sql`select id, state from approvals order by requested_at`);

/** Linus is refused over his daily budget and presses "Request a raise"; resolves with what he is told next. */
async function requestApproval(prompt: string): Promise<string> {
  const refused = await h.command(LINUS, `generate ${prompt} --model kling-v2-6 --mode pro`);
  expect(JSON.stringify(refused.ack)).toContain('approval_request');
  const seen = new Set(ephemerals(LINUS).map((m) => textOf(m)));
  const refusal = ephemerals(LINUS).at(-1)!;
  const click = { userId: LINUS, channelId: 'C0VIDEO', messageTs: refusal.ts, actionId: 'approval_request' };
  await h.slack.clickButton(click);
  const answered = (t: string) => !seen.has(t) && /Sent to the admins|Could not reach any admin/.test(t);
  return h.slack.waitFor(
    () =>
      ephemerals(LINUS)
        .map((m) => textOf(m))
        .find(answered),
    15_000,
  );
}

describe('approval requests', () => {
  it('reach the admins by DM when the alerts channel is channel_not_found, and the requester is told so', async () => {
    await h.command(ADA, `budget set <@${LINUS}|linus> day ${(PRICE - 500) / 1000}`);
    const told = await requestApproval('a lighthouse in a storm');
    expect(told).toContain(`Sent to the admins by DM because <#${GONE}> is unreachable`);
    const inDm = (text: string) => h.slack.messages(adaDm).find((m) => textOf(m).includes(text));
    const ask = await h.slack.waitFor(() => inDm('a lighthouse in a storm'));
    expect(JSON.stringify(ask.blocks)).toContain('approval_approve');
    const refused = h.slack.calls('chat.postMessage').filter((c) => c.args.channel === GONE);
    expect(refused.some((c) => c.error === 'channel_not_found')).toBe(true);
  });

  it('that reach nobody are kept, and the requester is told to ask an admin', async () => {
    h.slack.injectFault({ method: 'conversations.open', error: 'user_not_found', times: 1 });
    const told = await requestApproval('a lighthouse at dawn');
    expect(told).toContain(`Could not reach any admin: <#${GONE}> is unreachable and no admin could get a DM.`);
    const kept = (await approvalsRows()).at(-1)!;
    expect(kept.state).toBe('pending');
    expect(told).toContain(`Your request \`${kept.id}\` is kept: ask an admin`);
    expect(h.slack.messages(adaDm).some((m) => textOf(m).includes('a lighthouse at dawn'))).toBe(false);
  });
});

describe('a queue Kling paused (resource pack exhausted)', () => {
  const metric = async () => {
    const text = await (await fetch(`${h.botUrl}/metrics`)).text();
    return /kling_bot_queues_paused (\d+)/.exec(text)?.[1];
  };

  it('alerts the admins by DM, shows in /kling status and /metrics, and resumes with /kling queue resume', async () => {
    expect(await metric()).toBe('0');
    expect(textOf((await h.command(GRACE, 'status')).ack)).toContain('The video queue is running');
    h.kling.setBalance(0);
    await h.command(GRACE, 'generate an empty harbour');
    const dmWith = (text: string) => h.slack.messages(adaDm).find((m) => textOf(m).includes(text));
    const alert = await h.slack.waitFor(() => dmWith('Kling refused new work'), 15_000);
    expect(JSON.stringify(alert.blocks)).toContain('queue_resume');

    const status = textOf((await h.command(GRACE, 'status')).ack);
    expect(status).toContain('The video queue is paused');
    expect(status).toContain('Resource pack exhausted');
    expect(status).toContain('/kling queue resume');
    expect(await metric()).toBe('1');

    expect(textOf((await h.command(GRACE, 'queue resume')).ack)).toContain('Only admins can resume the queue');
    expect(await metric()).toBe('1');

    h.kling.setBalance(1_000);
    expect(textOf((await h.command(ADA, 'queue resume')).ack)).toContain('Resumed: queued videos go to Kling again');
    const harbourDone = (text: string) => text.includes('an empty harbour') && text.includes('Done');
    await h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => harbourDone(textOf(m))), 15_000);
    expect(await metric()).toBe('0');
    expect(textOf((await h.command(ADA, 'queue resume')).ack)).toContain('The video queue is not paused');
  });
});
