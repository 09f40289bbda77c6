import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkInvariants, Ledger } from '../../src/budget';
import { rows, sql } from '../../src/db';
import { startKlingSimulator, type KlingSimulator } from '../../src/dev/kling-sim';
import { DEFAULT_CHANNELS, DEFAULT_USERS, startSlackWorkspace } from '../../src/dev/slack-workspace';
import type { SlackWorkspace } from '../../src/dev/slack-workspace';
import { builtInCatalog } from '../../src/pricing';
import { parseCommand } from '../../src/slack/commands/parse';
import { quoteRequest } from '../../src/slack/commands/request';
import { settlementProblems, waitFor } from '../generations/support';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { BOT_TOKEN, cardJobId, SIGNING_SECRET } from './harness';
import { mc } from '../../src/money/credits';

const ENTRY = fileURLToPath(new URL('./replica-process.ts', import.meta.url));
const KLING_KEY = 'replica-test-kling-key';
const TEAM = 'T0DEMO';
const CHANNEL = 'C0VIDEO';
const ALERTS = 'C0ALERTS';
const JOBS = 12;
/** KLING_ACCOUNT_CONCURRENCY, below the workspace's own cap so that the account's is the one that binds. */
const CAP = 2;

const live: ChildProcess[] = [];
let database: TestDatabase | undefined;
let kling: KlingSimulator | undefined;
let slack: SlackWorkspace | undefined;

afterAll(async () => {
  await Promise.all(live.map(kill));
  await slack?.close();
  await kling?.close();
  await database?.drop();
});

/**
 * A bot replica in a process of its own: node with tsx's loader, so one process that SIGKILL reaches (the tsx
 * CLI would run it in a grandchild), and unbundled, since the bot reads its migrations and catalog beside its code.
 */
function startReplica(name: string, env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { PATH: process.env.PATH ?? '', ...env, WORKER_ID: name },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  live.push(child);
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => {
      const port = /ready (\d+)/.exec(String(d))?.[1];
      if (port) resolve({ child, url: `http://127.0.0.1:${port}/slack/events` });
    });
    child.on('exit', (code, signal) => {
      reject(new Error(`replica ${name} exited (${code ?? signal}) before it was ready: ${err.slice(-800)}`));
    });
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('two bot replicas on one database', () => {
  const title =
    'one killed right after its acks: every job has one card and its video, every alert one message, ' +
    'the cap and the ledger hold';
  it(title, { timeout: 240_000 }, async () => {
    database = await createTestDatabase({ max: 2 });
    const timings = { queuedMs: 300, processingMs: 600 };
    kling = await startKlingSimulator({ apiKey: KLING_KEY, concurrency: 20, timings });
    slack = await startSlackWorkspace({
      signingSecret: SIGNING_SECRET,
      botToken: BOT_TOKEN,
      users: DEFAULT_USERS,
      channels: DEFAULT_CHANNELS,
      ackTimeoutMs: 60_000,
    });
    const env = {
      DATABASE_URL: database.url,
      SLACK_BOT_TOKEN: BOT_TOKEN,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: `${slack.url}/api/`,
      KLING_API_KEY: KLING_KEY,
      KLING_API_BASE_URL: kling.url,
      KLING_MAX_CONCURRENCY: String(CAP + 1),
      KLING_ACCOUNT_CONCURRENCY: String(CAP),
      MAX_QUEUED_PER_USER: String(JOBS),
      PORT: '0',
      ALERT_CHANNEL_ID: ALERTS,
      LOG_LEVEL: 'silent',
    };
    // A budget the burst fills exactly, with a threshold every 10 %: about ten alerts while both replicas run.
    const generate = parseCommand('generate a fox');
    if (generate.kind !== 'generate') throw new Error('not a generate command');
    const each = quoteRequest(builtInCatalog, generate.prompt, generate.flags, 'kling-v2-5-turbo').priceMc;
    const ledger = new Ledger(database.db);
    const thresholds = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100];
    const limitMc = each * JOBS;
    const workspace = { teamId: TEAM, scope: 'workspace' as const, scopeId: TEAM, period: 'day' as const };
    await ledger.setBudget({ ...workspace, limitMc: mc(limitMc), hard: false, thresholds, by: 'U0ADA' });

    const [a, b] = await Promise.all([startReplica('replica-a', env), startReplica('replica-b', env)]);

    // Tasks in flight, as the database and as Kling count them, sampled for the whole run.
    let peak = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const [row] = await rows<{ n: number }>(
          database!.db,
          sql`
          select count(*)::int as n from generations where state in ('submitting', 'submitted', 'processing')`,
        );
        peak = Math.max(peak, row!.n);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    })();

    // The burst, split across both replicas; A is killed as soon as its own commands are acked.
    type Ack = Promise<{ status: number; body: string }>;
    const acksOf = { a: [] as Ack[], b: [] as Ack[] };
    for (let i = 0; i < JOBS; i++) {
      const to = i % 2 === 0 ? 'a' : 'b';
      slack.setBotUrl(to === 'a' ? a.url : b.url); // read as the command is sent
      const userId = DEFAULT_USERS[i % 3]!.id;
      acksOf[to].push(slack.slashCommand({ userId, channelId: CHANNEL, text: `generate a fox number ${i}` }));
    }
    const ackedByA = await Promise.all(acksOf.a);
    await kill(a.child);
    const ackedByB = await Promise.all(acksOf.b);
    slack.setBotUrl(b.url);
    for (const ack of [...ackedByA, ...ackedByB]) expect(ack.status).toBe(200);

    const jobs = () =>
      rows<{ id: string; state: string; card_ts: string | null }>(
        database!.db,
        sql`
      select id, state, card_ts from generations order by seq`,
      );
    expect((await jobs()).map((j) => j.state).filter((s) => s === 'refused')).toEqual([]);
    expect(await jobs()).toHaveLength(JOBS);
    await waitFor(
      'every job ended, its card up to date and its video posted, every alert delivered',
      async () => {
        const [pending] = await rows<{ jobs: number; alerts: number }>(
          database!.db,
          sql`
        select (select count(*)::int from generations where state in ('queued', 'submitting', 'submitted', 'processing')
                  or card_ts is null or card_state is distinct from state
                  or (state = 'succeeded' and result_posted_at is null)) as jobs,
               (select count(*)::int from budget_alerts where delivered_at is null) as alerts`,
        );
        return pending!.jobs === 0 && pending!.alerts === 0;
      },
      150_000,
    );
    sampling = false;
    await sampler;

    const messages = slack.messages(CHANNEL);
    for (const job of await jobs()) {
      const cards = messages.filter((m) => m.botId && !m.threadTs && cardJobId(m) === job.id);
      expect(cards, job.id).toHaveLength(1);
      expect(cards[0]!.ts).toBe(job.card_ts);
      const replies = messages.filter((m) => m.threadTs === job.card_ts);
      // A succeeded job has one reply in its thread, carrying its video file, uploaded once.
      const video = job.state === 'succeeded' ? [[`kling-${job.id}.mp4`]] : [];
      expect(
        replies.map((m) => (m.files ?? []).map((f) => f.name)),
        job.id,
      ).toEqual(video);
    }
    // The alerts one request raised share a message: one message per request that raised any.
    const [alerts] = await rows<{ n: number; requests: number }>(
      database.db,
      sql`
      select count(*)::int as n, count(distinct (team_id, triggered_by, created_at))::int as requests from budget_alerts`,
    );
    expect(alerts!.n).toBeGreaterThanOrEqual(5);
    const posted = slack.messages(ALERTS).filter((m) => m.botId);
    // On a mismatch, the messages themselves say which one was not expected.
    expect(posted, JSON.stringify(posted.map((m) => m.text))).toHaveLength(alerts!.requests);

    expect(peak).toBeLessThanOrEqual(CAP);
    expect(kling.inFlightPeak()).toBeLessThanOrEqual(CAP);
    expect(await checkInvariants(database.db)).toEqual([]);
    expect(await settlementProblems(database.db)).toEqual([]);
  });
});
