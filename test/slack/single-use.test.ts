import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBot, type Bot } from '../../src/app';
import { loadConfig } from '../../src/config';
import { rows, sql } from '../../src/db';
import { signSlackRequest } from '../../src/dev/slack-workspace';
import { createLogger } from '../../src/log';
import { BatchField } from '../../src/slack/commands/batch';
import { BOT_TOKEN, leaveToday, SIGNING_SECRET, startHarness, textOf, type Harness } from './harness';

/**
 * Every button that spends or decides acts once, whatever the clicks: double and triple clicks, clicks
 * on two replicas of the bot, a replayed command and Slack's retry of it. Later clicks are told what
 * the first one did.
 */

const ADA = 'U0ADA'; // a Slack admin
const GRACE = 'U0GRACE';
const LINUS = 'U0LINUS';
const ENV = { CONFIRM_THRESHOLD: '8', DEFAULT_DAILY_LIMIT: '1000' };
const EXPENSIVE = '--model kling-v2-6 --mode pro --duration 10 --audio'; // 10 credits, above the threshold of 8

let h: Harness;
let replica: Bot;
let replicaUrl: string;
const botUrl = () => `${h.botUrl}/slack/events`;

beforeAll(async () => {
  h = await startHarness({ env: ENV });
  // A second bot on the same database, as a second replica behind a load balancer would be.
  const config = loadConfig({
    DATABASE_URL: h.database.url,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: `${h.slack.url}/api/`,
    KLING_API_KEY: 'test-kling-key',
    KLING_API_BASE_URL: h.kling.url,
    PORT: '0',
    ALERT_CHANNEL_ID: 'C0ALERTS',
    LOG_LEVEL: 'silent',
    ...ENV,
  });
  replica = await createBot(config, {
    logger: createLogger('silent'),
    worker: { pollMs: 50, retryMs: 50 },
    digestSchedule: false,
    ackTimeoutMs: 60_000,
    ackWithinMs: 60_000,
  });
  await replica.start();
  replicaUrl = `http://127.0.0.1:${replica.port}/slack/events`;
});
afterAll(async () => {
  await replica?.stop();
  await h?.close();
});

const lastEphemeral = (userId: string, channel = 'C0VIDEO') =>
  h.slack
    .messages(channel)
    .filter((m) => m.ephemeralTo === userId)
    .at(-1)!;
const jobsOf = (prompt: string) =>
  rows<{ id: string; state: string; hold_id: string | null }>(
    h.database.db,
    sql`select id, state::text as state, hold_id from generations
        where request->>'prompt' = ${prompt} and state <> 'refused' order by seq`,
  );
const holdsOf = async (prompt: string) =>
  (
    await rows<{ n: number }>(
      h.database.db,
      sql`
    select count(*)::int as n from holds
    where generation_id in (select id from generations where request->>'prompt' = ${prompt})`,
    )
  )[0]!.n;
const tasksOf = (prompt: string) => h.kling.tasks().filter((t) => (t.body as { prompt?: string }).prompt === prompt);
/** What the clicks were answered with, through their response_url. */
const answers = () => h.slack.calls('response_url').map((c) => textOf(c.args as { text?: string; blocks?: unknown[] }));

/** Polls an async condition (a database read). */
async function until(condition: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`until: not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Exactly one job, one hold, and (once it has run) one Kling task for the prompt. */
async function expectOneJob(prompt: string) {
  const jobs = await jobsOf(prompt);
  expect(jobs).toHaveLength(1);
  expect(await holdsOf(prompt)).toBe(1);
  await until(async () => (await jobsOf(prompt))[0]!.state === 'succeeded');
  expect(tasksOf(prompt)).toHaveLength(1);
  return jobs[0]!;
}

/** Clicks sent in the same tick, so none sees another's answer first; `urls` spreads them over the replicas. */
function clickTogether(
  clicks: number,
  input: { userId: string; channelId?: string; messageTs: string; actionId: string },
  urls = [botUrl()],
) {
  const { channelId = 'C0VIDEO', ...rest } = input;
  const sent = Array.from({ length: clicks }, (_, i) => {
    h.slack.setBotUrl(urls[i % urls.length]!);
    return h.slack.clickButton({ channelId, ...rest });
  });
  h.slack.setBotUrl(botUrl());
  return Promise.all(sent);
}

describe('spending buttons act once', () => {
  it('"Generate for N credits" clicked twice, then three times: one job, one hold, one Kling task', async () => {
    for (const [clicks, prompt] of [
      [2, 'a dragon over a lake'],
      [3, 'a dragon over a castle'],
    ] as const) {
      const before = answers().length;
      await h.command(GRACE, `generate ${prompt} ${EXPENSIVE}`);
      const confirm = lastEphemeral(GRACE);
      expect(JSON.stringify(confirm.blocks)).toContain('generate_confirm');
      const click = { userId: GRACE, messageTs: confirm.ts, actionId: 'generate_confirm' };
      const replies = await clickTogether(clicks, click);
      expect(replies.map((r) => r.status)).toEqual(Array(clicks).fill(200));
      // Buttons are acked before the work: every click has answered once each has been through the queue.
      const told = await h.slack.waitFor(() => answers().length >= before + clicks && answers().slice(before));
      const job = await expectOneJob(prompt);
      expect(told.filter((t) => t.includes('Queued. The job card is in the channel'))).toHaveLength(1);
      expect(told.filter((t) => t.includes(`Already done: this queued job \`${job.id}\``))).toHaveLength(clicks - 1);
    }
  });

  it('"Generate anyway" clicked three times: one new job', async () => {
    const prompt = 'a paper plane over the sea';
    await h.command(ADA, `generate ${prompt}`);
    await expectOneJob(prompt);
    await h.command(GRACE, `generate ${prompt}`);
    const offer = lastEphemeral(GRACE);
    expect(JSON.stringify(offer.blocks)).toContain('generate_anyway');
    const before = answers().length;
    await clickTogether(3, { userId: GRACE, messageTs: offer.ts, actionId: 'generate_anyway' });
    const told = await h.slack.waitFor(() => answers().length >= before + 3 && answers().slice(before));
    expect(told.filter((t) => t.includes('Already done: this queued job'))).toHaveLength(2);
    expect(await jobsOf(prompt)).toHaveLength(2);
    expect(await holdsOf(prompt)).toBe(2);
  });

  it('two clicks on two replicas of the bot: one job', async () => {
    const prompt = 'a dragon asleep in a cave';
    const before = answers().length;
    await h.command(LINUS, `generate ${prompt} ${EXPENSIVE}`);
    const confirm = lastEphemeral(LINUS);
    const click = { userId: LINUS, messageTs: confirm.ts, actionId: 'generate_confirm' };
    await clickTogether(2, click, [botUrl(), replicaUrl]);
    const told = await h.slack.waitFor(() => answers().length >= before + 2 && answers().slice(before));
    const job = await expectOneJob(prompt);
    expect(told.filter((t) => t.includes(`Already done: this queued job \`${job.id}\``))).toHaveLength(1);
  });

  it('a double submit of the batch modal queues the batch once', async () => {
    await h.command(GRACE, 'batch');
    const view = await h.slack.waitFor(() =>
      h.slack.views(GRACE).find((v) => v.type === 'modal' && v.open && v.view.callback_id === 'batch_submit'),
    );
    const values = {
      [BatchField.prompts]: { [BatchField.prompts]: 'an owl in a batch\nan otter in a batch' },
      [BatchField.model]: { [BatchField.model]: 'kling-v2-6' },
      [BatchField.mode]: { [BatchField.mode]: 'pro' },
      [BatchField.duration]: { [BatchField.duration]: '5' },
      [BatchField.options]: { [BatchField.options]: [] },
    };
    h.slack.setBotUrl(replicaUrl);
    const second = h.slack.submitView({ userId: GRACE, viewId: view.id, values });
    h.slack.setBotUrl(botUrl());
    const replies = await Promise.all([h.slack.submitView({ userId: GRACE, viewId: view.id, values }), second]);
    expect(replies).toEqual([
      { status: 200, body: '' },
      { status: 200, body: '' },
    ]);
    expect(await jobsOf('an owl in a batch')).toHaveLength(1);
    expect(await jobsOf('an otter in a batch')).toHaveLength(1);
  });
});

describe('a replayed /kling generate queues once', () => {
  /** The command as Slack signs and sends it, with a fixed trigger_id, so it can be sent again byte for byte. */
  function signedCommand(text: string, triggerId: string) {
    const body = new URLSearchParams({
      token: 'offline-verification-token',
      team_id: 'T0DEMO',
      team_domain: 'kling-demo',
      channel_id: 'C0VIDEO',
      channel_name: 'video',
      user_id: GRACE,
      user_name: 'grace',
      command: '/kling',
      text,
      api_app_id: 'A0KLINGAPP',
      is_enterprise_install: 'false',
      response_url: `${h.slack.url}/response/unused`,
      trigger_id: triggerId,
    }).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded', ...signSlackRequest(SIGNING_SECRET, body) };
    return (url: string, extra: Record<string, string> = {}) =>
      fetch(url, { method: 'POST', headers: { ...headers, ...extra }, body }).then(async (r) => ({
        status: r.status,
        body: await r.text(),
      }));
  }

  it('the same signed request sent again, here and on another replica: one job, and the replay says so', async () => {
    const prompt = 'a heron replayed';
    const send = signedCommand(`generate ${prompt}`, '1001.replayed');
    const first = await send(botUrl());
    expect(first).toEqual({ status: 200, body: '' });
    const again = await Promise.all([send(botUrl()), send(replicaUrl)]);
    const job = await expectOneJob(prompt);
    for (const reply of again) {
      expect(reply.status).toBe(200);
      expect(textOf(JSON.parse(reply.body))).toContain(`Already done: this queued job \`${job.id}\``);
    }
  });

  it("Slack's retry (X-Slack-Retry-Num) of a command in flight: one job, and no error reply", async () => {
    const prompt = 'a heron retried';
    const send = signedCommand(`generate ${prompt}`, '1002.retried');
    const retry = { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' };
    const replies = await Promise.all([send(botUrl()), send(replicaUrl, retry)]);
    await expectOneJob(prompt);
    for (const reply of replies) {
      expect(reply.status).toBe(200);
      expect(reply.body).not.toMatch(/went wrong|warning/i);
    }
  });
});

describe("approvals are asked and decided once, by the request's own workspace", () => {
  let other: Server;
  const otherAnswers: string[] = [];

  beforeAll(async () => {
    // Where a forged other-workspace click is answered (its response_url).
    other = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => (body += chunk));
      req.on('end', () => {
        otherAnswers.push(textOf(JSON.parse(body)));
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => other.close(() => resolve())));

  const approvals = () =>
    rows<{ id: string; state: string }>(
      h.database.db,
      sql`
      select id, state::text as state from approvals order by requested_at`,
    );
  const asksFor = (prompt: string) =>
    h.slack
      .messages('C0ALERTS')
      .filter((m) => textOf(m).includes(prompt) && JSON.stringify(m.blocks).includes('approval_approve'));

  it('"Request a raise" clicked twice sends one request; Approve clicked on two replicas queues one job', async () => {
    const prompt = 'a lighthouse over budget';
    await leaveToday(h, ADA, LINUS, 0.5);
    const refused = await h.command(LINUS, `generate ${prompt} --model kling-v2-6 --mode std`);
    expect(JSON.stringify(refused.ack)).toContain('approval_request');
    const before = answers().length;
    const ask = { userId: LINUS, messageTs: lastEphemeral(LINUS).ts, actionId: 'approval_request' };
    await clickTogether(2, ask, [botUrl(), replicaUrl]);
    const told = await h.slack.waitFor(() => answers().length >= before + 2 && answers().slice(before));
    expect(told.filter((t) => t.includes('Already sent to the admins'))).toHaveLength(1);
    const posted = await h.slack.waitFor(() => asksFor(prompt)[0]);
    expect((await approvals()).filter((a) => a.state === 'pending')).toHaveLength(1);
    expect(asksFor(prompt)).toHaveLength(1);

    const approve = { userId: ADA, channelId: 'C0ALERTS', messageTs: posted.ts, actionId: 'approval_approve' };
    await clickTogether(3, approve, [botUrl(), replicaUrl]);
    const decided = await h.slack.waitFor(() => {
      const alreadies = h.slack
        .messages('C0ALERTS')
        .filter((m) => m.ephemeralTo === ADA && textOf(m).includes('already approved this request'));
      return alreadies.length >= 2 && alreadies;
    });
    expect(decided).toHaveLength(2);
    await h.slack.waitFor(() => {
      const shown = h.slack.messages('C0ALERTS').find((m) => m.ts === posted.ts);
      return textOf(shown).includes('Approved');
    });
    await expectOneJob(prompt);
    const adjusts = await rows<{ n: number }>(
      h.database.db,
      sql`
      select count(*)::int as n from ledger_entries where kind = 'adjust'`,
    );
    expect(adjusts[0]!.n).toBe(1);
  });

  it('an Approve click from another workspace is refused and changes nothing', async () => {
    const prompt = 'a harbour over budget';
    const refused = await h.command(LINUS, `generate ${prompt} --model kling-v2-6 --mode std`);
    expect(JSON.stringify(refused.ack)).toContain('approval_request');
    await h.slack.clickButton({
      userId: LINUS,
      channelId: 'C0VIDEO',
      messageTs: lastEphemeral(LINUS).ts,
      actionId: 'approval_request',
    });
    await h.slack.waitFor(() => asksFor(prompt)[0]);
    const request = (await approvals()).at(-1)!;
    expect(request.state).toBe('pending');

    // An admin's click, validly signed, but from workspace T0OTHER.
    const payload = {
      type: 'block_actions',
      user: { id: ADA, username: 'ada', name: 'ada', team_id: 'T0OTHER' },
      api_app_id: 'A0KLINGAPP',
      token: 'offline-verification-token',
      trigger_id: '1003.other',
      team: { id: 'T0OTHER', domain: 'elsewhere' },
      enterprise: null,
      is_enterprise_install: false,
      container: { type: 'message', message_ts: '1.000001', channel_id: 'C0ALERTS', is_ephemeral: false },
      channel: { id: 'C0ALERTS', name: 'alerts' },
      response_url: `http://127.0.0.1:${(other.address() as AddressInfo).port}/response`,
      actions: [{ type: 'button', action_id: 'approval_approve', block_id: 'b', value: request.id, action_ts: '1.1' }],
    };
    const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
    const headers = { 'content-type': 'application/x-www-form-urlencoded', ...signSlackRequest(SIGNING_SECRET, body) };
    const reply = await fetch(botUrl(), { method: 'POST', headers, body });
    expect(reply.status).toBe(200);
    const answer = await h.slack.waitFor(() => otherAnswers[0]);
    expect(answer).toContain('belongs to another workspace');
    expect((await approvals()).at(-1)!.state).toBe('pending');
    expect(await jobsOf(prompt)).toEqual([]);
  });
});
