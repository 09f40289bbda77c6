import { WebClient } from '@slack/web-api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_CHANNELS, DEFAULT_USERS, startSlackWorkspace } from '../../src/dev/slack-workspace';
import type { SlackWorkspace } from '../../src/dev/slack-workspace';
import { rows, sql } from '../../src/db';
import * as store from '../../src/generations/store';
import { createLogger } from '../../src/log';
import { Admins } from '../../src/slack/admins';
import { JobCards, type JobCardsOptions } from '../../src/slack/job-cards';
import { Notifier } from '../../src/slack/notifier';
import { request, rig, TEAM, waitFor, type Rig } from '../generations/support';
import { textOf } from './harness';

/**
 * Job cards, result replies and budget alerts with several replicas on one database: each one message.
 * A "replica" here is a JobCards (or Notifier) of its own, with its own Slack client, as each process has.
 */

const BOT_TOKEN = 'xoxb-cards-test';
const CHANNEL = 'C0VIDEO';
const logger = createLogger('silent');

let r: Rig;
let slack: SlackWorkspace;
const replicas: { stop(): Promise<void> }[] = [];

beforeEach(async () => {
  r = await rig();
  slack = await startSlackWorkspace({
    signingSecret: 'unused', botToken: BOT_TOKEN, users: DEFAULT_USERS, channels: DEFAULT_CHANNELS,
  });
});

afterEach(async () => {
  await Promise.all(replicas.splice(0).map((c) => c.stop()));
  await slack.close();
  await r.close();
});

/** As the bot builds it for cards: no retries of its own. */
const client = () =>
  new WebClient(BOT_TOKEN, {
    slackApiUrl: `${slack.url}/api/`, retryConfig: { retries: 0 }, rejectRateLimitedCalls: true,
  });

function replica(options: Partial<JobCardsOptions> = {}): JobCards {
  const cards = new JobCards({ client: client(), queue: r.queue, logger, creditPriceUsd: 0.1, ...options });
  replicas.push(cards);
  return cards;
}

async function enqueue(n: number): Promise<string[]> {
  const requests = Array.from({ length: n }, (_, i) => request(DEFAULT_USERS[i % 3]!.id, `a fox ${i}`, CHANNEL));
  const result = await r.queue.enqueue(requests);
  if (!result.ok) throw new Error('not queued');
  return result.generations.map((g) => g.id);
}

async function succeed(id: string): Promise<void> {
  await store.move(r.database.db, id, 'submitting');
  await store.move(r.database.db, id, 'submitted', { klingTaskId: `task-${id}` });
  const result = { videos: [{ url: `https://cdn.example/${id}.mp4`, duration: '5' }], images: [] };
  await store.move(r.database.db, id, 'succeeded', { result, actualMc: 1_000, ended: true });
}

/** The job's cards in the channel (top-level bot messages about it) and the replies in each card's thread. */
function cardsOf(id: string) {
  const all = slack.messages(CHANNEL);
  // The card names the job by its short id; the full id travels in the card's metadata.
  const cards = all.filter((m) => m.botId && !m.threadTs && m.metadata?.event_payload.job_id === id);
  return { cards, replies: cards.flatMap((c) => all.filter((m) => m.threadTs === c.ts)) };
}

/** A replica claimed the job's post and died: its claim has run out. */
async function diedHolding(id: string): Promise<void> {
  await r.database.db.execute(sql`
    update generations set card_claimed_by = 'dead', card_claimed_until = now() - interval '1 second'
    where id = ${id}`);
}

async function recorded(id: string) {
  const [row] = await rows<{ card_ts: string | null; result_posted_at: Date | null }>(r.database.db, sql`
    select card_ts, result_posted_at from generations where id = ${id}`);
  return row!;
}

describe('job cards with two replicas', () => {
  it('two replicas syncing the same jobs post one card and one video reply per job', async () => {
    const ids = await enqueue(6);
    const [a, b] = [replica(), replica()];
    await Promise.all(ids.flatMap((id) => [a.sync(id), b.sync(id)]));
    for (const id of ids) await succeed(id);
    // Both see each job end (a callback on one, a poll on the other): still one reply.
    await Promise.all(ids.flatMap((id) => [a.sync(id), b.sync(id), a.sync(id)]));
    for (const id of ids) {
      const { cards, replies } = cardsOf(id);
      expect(cards, id).toHaveLength(1);
      expect(textOf(cards[0]), id).toContain('The video is in the thread');
      expect(replies.map((m) => textOf(m)), id).toEqual([expect.stringContaining(`${id}.mp4`)]);
      expect((await recorded(id)).card_ts).toBe(cards[0]!.ts);
    }
  });

  it('a job whose replica died before posting its card gets its card and its video from another replica', async () => {
    const [never, claimedThenDied] = await enqueue(2);
    // One replica claimed the post and died before it: the claim runs out, the post may or may not have landed.
    await diedHolding(claimedThenDied!);
    replica({ sweepMs: 100, graceMs: 200 }).start();
    for (const id of [never!, claimedThenDied!]) {
      await waitFor(`the card of ${id}`, () => cardsOf(id).cards.length > 0, 20_000);
      await succeed(id);   // ended on a replica that then died too: nobody told the cards
      await waitFor(`the video of ${id}`, async () => (await recorded(id)).result_posted_at, 20_000);
      expect(cardsOf(id).cards).toHaveLength(1);
      expect(cardsOf(id).replies).toHaveLength(1);
    }
  });

  it('a card a dead replica posted but never recorded is adopted, not posted again', async () => {
    const [id] = await enqueue(1);
    const metadata = { event_type: 'kling_job_card', event_payload: { job_id: id! } };
    const landed = await client().chat.postMessage({ channel: CHANNEL, text: `Queued: a fox 0 · job ${id}`, metadata });
    await diedHolding(id!);
    await replica().sync(id!);
    expect((await recorded(id!)).card_ts).toBe(landed.ts);
    expect(cardsOf(id!).cards).toHaveLength(1);
    expect(textOf(cardsOf(id!).cards[0])).toContain('Queued');   // and it was brought up to date
  });

  it('a post whose answer was lost leaves one card and one video reply', async () => {
    const [id] = await enqueue(1);
    const cards = replica();
    slack.injectFault({ method: 'chat.postMessage', httpStatus: 500, afterEffect: true });
    await cards.sync(id!);
    expect(cardsOf(id!).cards).toHaveLength(1);
    expect((await recorded(id!)).card_ts).toBe(cardsOf(id!).cards[0]!.ts);

    await succeed(id!);
    slack.injectFault({ method: 'chat.postMessage', httpStatus: 500, afterEffect: true });
    await cards.sync(id!);
    expect(cardsOf(id!).replies).toHaveLength(1);
    expect((await recorded(id!)).result_posted_at).toBeTruthy();
    expect(slack.calls('chat.postMessage').filter((c) => c.ok)).toHaveLength(2);
  });
});

/** A replica's notifier: budget alerts go to C0ALERTS. */
function notifier(): Notifier {
  const slackClient = client();
  const admins = new Admins(slackClient, [], logger);
  const n = new Notifier({
    client: slackClient, ledger: r.ledger, cards: replica(), admins, logger,
    creditPriceUsd: 0.1, defaultAlertsChannel: 'C0ALERTS',
  });
  replicas.push(n);
  return n;
}

const workspaceBudget = (limitMc: number, thresholds: number[]) =>
  r.ledger.setBudget({ teamId: TEAM, scope: 'workspace', scopeId: TEAM, period: 'day', limitMc, thresholds, by: 'U0' });

describe('budget alerts with two replicas', () => {
  it('two notifiers draining the same outbox at once post each alert once', async () => {
    await workspaceBudget(100_000, [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]);
    while ((await r.ledger.undeliveredAlerts(TEAM)).length < 8) {
      if (!(await r.queue.enqueue([request('U0GRACE', `a fox ${Math.random()}`, CHANNEL)])).ok) break;
    }
    const alerts = (await r.ledger.undeliveredAlerts(TEAM)).length;
    expect(alerts).toBeGreaterThanOrEqual(8);
    const [a, b, c] = [notifier(), notifier(), notifier()];
    await Promise.all([a.deliverAlerts(), b.deliverAlerts(), c.deliverAlerts(TEAM), a.deliverAlerts()]);
    expect(slack.messages('C0ALERTS').filter((m) => m.botId)).toHaveLength(alerts);
    expect(await r.ledger.undeliveredAlerts(TEAM)).toEqual([]);
  });

  it('an alert claimed by a replica that died is posted by another once its claim runs out', async () => {
    await workspaceBudget(1_000, [100]);
    await r.queue.enqueue([request('U0GRACE', 'a fox', CHANNEL)]);
    const [event] = await r.ledger.undeliveredAlerts(TEAM);
    expect(await r.ledger.claimAlert(event!, 300)).toBe(true);   // the replica that died
    expect(await r.ledger.claimAlert(event!, 300)).toBe(false);
    const n = notifier();
    await n.deliverAlerts();
    expect(slack.messages('C0ALERTS')).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 400));
    await n.deliverAlerts();
    expect(slack.messages('C0ALERTS').filter((m) => m.botId)).toHaveLength(1);
  });
});

describe('spike alerts with two replicas', () => {
  it('two notifiers draining the same spikes at once post each spike alert once', async () => {
    const day = new Date().toISOString().slice(0, 10);
    const spikes = ['U0ADA', 'U0GRACE', 'U0LINUS'].map((id) => ({
      teamId: TEAM, subject: { kind: 'user' as const, id }, day,
      dayStart: new Date(`${day}T00:00:00Z`), dayEnd: new Date(`${day}T23:59:59Z`),
      todayMc: 60_000, medianMc: 5_000, factor: 3,
    }));
    for (const spike of spikes) await r.ledger.claimSpike(spike, { mix: [], reruns: 0 });
    await r.ledger.ensureWorkspace(TEAM);
    const [a, b] = [notifier(), notifier()];
    await Promise.all([a.deliverAlerts(), b.deliverAlerts(), b.deliverAlerts(TEAM), a.deliverAlerts(TEAM)]);
    expect(slack.messages('C0ALERTS').filter((m) => m.botId)).toHaveLength(3);
    expect(await r.ledger.undeliveredSpikes(TEAM)).toEqual([]);
  });
});

describe('the alerts of one refusal', () => {
  it('are one message that says what was refused and what is left, "exhausted" only when nothing is', async () => {
    await workspaceBudget(5_000, [80]);
    await r.ledger.setBudget({
      teamId: TEAM, scope: 'user', scopeId: 'U0GRACE', period: 'day', limitMc: 2_000, thresholds: [80], by: 'U0',
    });
    const spent = await r.ledger.reserve({ teamId: TEAM, userId: 'U0ADA', channelId: CHANNEL, amountMc: 3_000 });
    expect(spent.ok).toBe(true);
    const refused = await r.ledger.reserve({ teamId: TEAM, userId: 'U0GRACE', channelId: CHANNEL, amountMc: 2_500 });
    expect(refused.ok).toBe(false);
    await notifier().deliverAlerts(TEAM);
    const posts = slack.messages('C0ALERTS').filter((m) => m.botId).map(textOf);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toContain("<@U0GRACE>'s daily budget refused a 2.5-credit request*: 2 of 2 credits left");
    expect(posts[0]).toContain('the workspace daily budget refused a 2.5-credit request*: 2 of 5 credits left');
    expect(posts[0]).not.toContain('exhausted');
  });
});
