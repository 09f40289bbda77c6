import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { mc } from '../../src/money/credits';

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
    signingSecret: 'unused',
    botToken: BOT_TOKEN,
    users: DEFAULT_USERS,
    channels: DEFAULT_CHANNELS,
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
    slackApiUrl: `${slack.url}/api/`,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
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

async function succeed(id: string, url = `https://cdn.example/${id}.mp4`): Promise<void> {
  await store.move(r.database.db, id, 'submitting');
  await store.move(r.database.db, id, 'submitted', { klingTaskId: `task-${id}` });
  const result = { videos: [{ url, duration: '5' }], images: [] };
  await store.move(r.database.db, id, 'succeeded', { result, actualMc: mc(1_000), ended: true });
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
  const [row] = await rows<{ card_ts: string | null; result_posted_at: Date | null }>(
    r.database.db,
    sql`
    select card_ts, result_posted_at from generations where id = ${id}`,
  );
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
      expect(
        replies.map((m) => textOf(m)),
        id,
      ).toEqual([expect.stringContaining(`${id}.mp4`)]);
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
      await succeed(id); // ended on a replica that then died too: nobody told the cards
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
    expect(textOf(cardsOf(id!).cards[0])).toContain('Queued'); // and it was brought up to date
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

/** Kling's file server: a video of `size` bytes at /<name>.mp4. */
async function videoServer(size: number): Promise<{ url: (name: string) => string; bytes: Buffer; close(): void }> {
  const bytes = Buffer.alloc(size, 7);
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': String(size) });
    res.end(bytes);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: (name) => `${base}/${name}.mp4`, bytes, close: () => server.close() };
}

/** The video files uploaded anywhere in the channel for the job. */
const uploads = (id: string) =>
  slack.messages(CHANNEL).flatMap((m) => (m.files ?? []).filter((f) => f.name === `kling-${id}.mp4`).map(() => m));

describe('finished videos uploaded into the thread', () => {
  let kling: Awaited<ReturnType<typeof videoServer>>;
  beforeEach(async () => {
    kling = await videoServer(300_000);
  });
  afterEach(() => kling.close());
  const uploading = (options: Partial<JobCardsOptions> = {}) => replica({ videos: { maxMb: 1 }, ...options });

  it('two replicas that both see the job end upload its video once, into the card thread', async () => {
    const [id] = await enqueue(1);
    const [a, b] = [uploading(), uploading()];
    await a.sync(id!);
    await succeed(id!, kling.url(id!));
    await Promise.all([a.sync(id!), b.sync(id!), a.sync(id!)]);
    const { cards, replies } = cardsOf(id!);
    expect(replies).toHaveLength(1);
    expect(uploads(id!)).toEqual([replies[0]]);
    expect(replies[0]!.threadTs).toBe(cards[0]!.ts);
    expect(textOf(replies[0])).toContain('Your video (5 s), kept here in Slack');
    const [file] = replies[0]!.files!;
    const served = await fetch(`${slack.url}/files/${file!.id}/${file!.name}`, {
      headers: { authorization: `Bearer ${BOT_TOKEN}` },
    });
    expect(Buffer.from(await served.arrayBuffer()).equals(kling.bytes)).toBe(true);
    expect(slack.calls('files.getUploadURLExternal')).toHaveLength(1);
    expect((await recorded(id!)).result_posted_at).toBeTruthy();
  });

  it('a replica killed between download and upload: the next one uploads the video, once', async () => {
    const [id] = await enqueue(1);
    await uploading().sync(id!);
    await succeed(id!, kling.url(id!));
    // Replica A downloads the video, then dies: nothing it does after reaches Slack or the database.
    let dead = false;
    let killed: (error: Error) => void = () => undefined;
    const aClient = client();
    aClient.files.getUploadURLExternal = () => {
      dead = true;
      return new Promise((_, reject) => (killed = reject));
    };
    const aQueue = new Proxy(r.queue, {
      get: (queue, key) => (dead ? () => Promise.reject(new Error('killed')) : Reflect.get(queue, key).bind(queue)),
    });
    const a = new JobCards({
      client: aClient,
      queue: aQueue,
      logger,
      creditPriceUsd: 0.1,
      leaseMs: 300,
      videos: { maxMb: 1 },
    });
    const aDone = a.sync(id!);
    await waitFor('replica A to have downloaded the video', () => dead, 10_000);
    expect(uploads(id!)).toHaveLength(0);
    // B waits out A's claim, finds no video in the thread, and uploads it.
    await waitFor(
      "A's claim to run out",
      async () => {
        const [row] = await rows<{ over: boolean }>(
          r.database.db,
          sql`
        select card_claimed_until < now() as over from generations where id = ${id!}`,
        );
        return row!.over;
      },
      10_000,
    );
    const b = uploading();
    await b.sync(id!);
    await b.sync(id!);
    expect(uploads(id!)).toHaveLength(1);
    expect(cardsOf(id!).replies).toHaveLength(1);
    expect((await recorded(id!)).result_posted_at).toBeTruthy();
    killed(new Error('killed'));
    await aDone;
  });

  it('a replica killed after its upload but before recording it: the next finds the video, uploads nothing', async () => {
    const [id] = await enqueue(1);
    await uploading().sync(id!);
    await succeed(id!, kling.url(id!));
    const aQueue = new Proxy(r.queue, {
      get: (queue, key) =>
        key === 'setResultPosted' ? () => Promise.reject(new Error('killed')) : Reflect.get(queue, key).bind(queue),
    });
    const a = new JobCards({ client: client(), queue: aQueue, logger, creditPriceUsd: 0.1, videos: { maxMb: 1 } });
    await a.sync(id!);
    await a.stop();
    expect(uploads(id!)).toHaveLength(1);
    await diedHolding(id!);
    await uploading().sync(id!);
    expect(uploads(id!)).toHaveLength(1);
    expect(cardsOf(id!).replies).toHaveLength(1);
    expect(slack.calls('files.getUploadURLExternal')).toHaveLength(1);
    expect((await recorded(id!)).result_posted_at).toBeTruthy();
  });

  it('a video above SLACK_UPLOAD_MAX_MB is linked, saying why, and nothing is uploaded', async () => {
    kling.close();
    kling = await videoServer(1_500_000);
    const [id] = await enqueue(1);
    const cards = uploading();
    await cards.sync(id!);
    await succeed(id!, kling.url(id!));
    await cards.sync(id!);
    const { replies } = cardsOf(id!);
    expect(replies).toHaveLength(1);
    expect(textOf(replies[0])).toContain(`${id}.mp4`);
    expect(textOf(replies[0])).toContain('Not uploaded to Slack: the video is 2 MB, above the 1 MB');
    expect(slack.calls('files.getUploadURLExternal')).toHaveLength(0);
  });

  it("an upload Slack refuses is linked instead, with Slack's reason", async () => {
    const [id] = await enqueue(1);
    const cards = uploading();
    await cards.sync(id!);
    await succeed(id!, kling.url(id!));
    slack.injectFault({ method: 'files.getUploadURLExternal', error: 'file_uploads_disabled' });
    await cards.sync(id!);
    const { replies } = cardsOf(id!);
    expect(replies).toHaveLength(1);
    expect(textOf(replies[0])).toContain(
      'Not uploaded to Slack: Slack did not take the upload (file_uploads_disabled)',
    );
    expect(uploads(id!)).toHaveLength(0);
  });
});

/** A replica's notifier: budget alerts go to C0ALERTS. */
function notifier(): Notifier {
  const slackClient = client();
  const admins = new Admins(slackClient, [], logger);
  const n = new Notifier({
    client: slackClient,
    ledger: r.ledger,
    cards: replica(),
    admins,
    logger,
    creditPriceUsd: 0.1,
    defaultAlertsChannel: 'C0ALERTS',
  });
  replicas.push(n);
  return n;
}

const workspaceBudget = (limitMc: number, thresholds: number[]) =>
  r.ledger.setBudget({
    teamId: TEAM,
    scope: 'workspace',
    scopeId: TEAM,
    period: 'day',
    limitMc: mc(limitMc),
    thresholds,
    by: 'U0',
  });

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
    expect(await r.ledger.claimAlerts([event!], 300)).toEqual([event]); // the replica that died
    expect(await r.ledger.claimAlerts([event!], 300)).toEqual([]);
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
      teamId: TEAM,
      subject: { kind: 'user' as const, id },
      day,
      dayStart: new Date(`${day}T00:00:00Z`),
      dayEnd: new Date(`${day}T23:59:59Z`),
      todayMc: mc(60_000),
      medianMc: mc(5_000),
      factor: 3,
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
      teamId: TEAM,
      scope: 'user',
      scopeId: 'U0GRACE',
      period: 'day',
      limitMc: mc(2_000),
      thresholds: [80],
      by: 'U0',
    });
    const spent = await r.ledger.reserve({ teamId: TEAM, userId: 'U0ADA', channelId: CHANNEL, amountMc: mc(3_000) });
    expect(spent.ok).toBe(true);
    const refused = await r.ledger.reserve({
      teamId: TEAM,
      userId: 'U0GRACE',
      channelId: CHANNEL,
      amountMc: mc(2_500),
    });
    expect(refused.ok).toBe(false);
    await notifier().deliverAlerts(TEAM);
    const posts = slack
      .messages('C0ALERTS')
      .filter((m) => m.botId)
      .map(textOf);
    expect(posts).toHaveLength(1);
    expect(posts[0]).toContain("<@U0GRACE>'s daily budget refused a 2.5-credit request*: 2 of 2 credits left");
    expect(posts[0]).toContain('the workspace daily budget refused a 2.5-credit request*: 2 of 5 credits left');
    expect(posts[0]).not.toContain('exhausted');
  });
});
