import { createBot, type Bot, type BotOverrides } from '../../src/app';
import { Ledger } from '../../src/budget';
import { loadConfig } from '../../src/config';
import { startKlingSimulator, type KlingSimulator, type KlingSimulatorOptions } from '../../src/dev/kling-sim';
import {
  startSlackWorkspace,
  DEFAULT_USERS,
  DEFAULT_CHANNELS,
  type SlackWorkspace,
  type StoredMessage,
} from '../../src/dev/slack-workspace';
import { createLogger } from '../../src/log';
import { createTestDatabase, type TestDatabase } from '../support/db';

// Shaped like Slack's (32 hex characters), which the configuration checks.
export const SIGNING_SECRET = '0000000000000000000000000000fe57';
export const BOT_TOKEN = 'xoxb-test-token';
export const APP_TOKEN = 'xapp-test-token';
const KLING_KEY = 'test-kling-key';

export interface Harness {
  bot: Bot;
  slack: SlackWorkspace;
  kling: KlingSimulator;
  database: TestDatabase;
  /** A ledger on the bot's database, to read or set budgets behind the bot's back. */
  ledger: Ledger;
  /** http://127.0.0.1:PORT, the bot's own server. */
  botUrl: string;
  /** The ack body of a command, parsed (undefined when the ack was empty). */
  command(
    userId: string,
    text: string,
    channelId?: string,
  ): Promise<{ status: number; ack?: { text: string; blocks?: unknown[] } }>;
  /** Bot messages in a channel that everyone sees (not ephemerals, not thread replies). */
  cards(channelId: string): StoredMessage[];
  close(): Promise<void>;
}

/**
 * The real bot over HTTP (or, with `socketMode`, over a Socket Mode WebSocket it opens with an app-level
 * token): a fresh Postgres database, the offline Slack workspace and the Kling simulator.
 */
export async function startHarness(
  options: {
    env?: Record<string, string>;
    users?: { id: string; name: string; isAdmin?: boolean }[];
    kling?: KlingSimulatorOptions;
    overrides?: BotOverrides;
    dbMax?: number;
    socketMode?: boolean;
  } = {},
): Promise<Harness> {
  const database = await createTestDatabase({ max: 2 });
  const kling = await startKlingSimulator({
    apiKey: KLING_KEY,
    timings: { queuedMs: 20, processingMs: 40 },
    ...options.kling,
  });
  const slack = await startSlackWorkspace({
    signingSecret: SIGNING_SECRET,
    botToken: BOT_TOKEN,
    ...(options.socketMode && { appToken: APP_TOKEN }),
    users: options.users ?? DEFAULT_USERS,
    channels: DEFAULT_CHANNELS,
    // Correctness, not speed: a loaded test machine must not turn a slow ack into a failure (the bench measures speed).
    ackTimeoutMs: 60_000,
  });
  const config = loadConfig({
    DATABASE_URL: database.url,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: `${slack.url}/api/`,
    KLING_API_KEY: KLING_KEY,
    KLING_API_BASE_URL: kling.url,
    PORT: '0',
    ALERT_CHANNEL_ID: 'C0ALERTS',
    LOG_LEVEL: 'silent',
    ...(options.socketMode && { SLACK_APP_TOKEN: APP_TOKEN }),
    ...options.env,
  });
  const bot = await createBot(config, {
    logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
    worker: { pollMs: 50, retryMs: 50 },
    alertRetryMs: 500,
    digestSchedule: false,
    ackTimeoutMs: 60_000,
    ackWithinMs: 60_000,
    ...options.overrides,
  });
  await bot.start();
  const botUrl = `http://127.0.0.1:${bot.port}`;
  slack.setBotUrl(`${botUrl}/slack/events`);

  return {
    bot,
    slack,
    kling,
    database,
    botUrl,
    ledger: new Ledger(database.db),
    async command(userId, text, channelId = 'C0VIDEO') {
      const reply = await slack.slashCommand({ userId, channelId, text });
      return { status: reply.status, ack: reply.body.trim() ? JSON.parse(reply.body) : undefined };
    },
    cards: (channelId) => slack.messages(channelId).filter((m) => !m.ephemeralTo && !m.threadTs && m.botId),
    async close() {
      await bot.stop();
      await slack.close();
      await kling.close();
      await database.drop();
    },
  };
}

/** The job a card is about: cards name it by short id, and carry its full id in their metadata. */
/**
 * Gives a person a daily budget with exactly `credits` left today, through `/kling budget set` as an admin. A new
 * budget counts what they spent earlier today, so its limit is that spending plus `credits`.
 */
export async function leaveToday(h: Harness, adminId: string, userId: string, credits: number): Promise<void> {
  const set = (limit: number) => h.command(adminId, `budget set <@${userId}|person> day ${limit}`);
  await set(1_000_000);
  const usages = await h.ledger.usageFor({ teamId: 'T0DEMO', channelId: 'C0VIDEO', userId });
  const spentMc = usages.find((u) => u.budget.scope === 'user')!.chargedMc;
  await set((spentMc + credits * 1000) / 1000);
}

export function cardJobId(message: { metadata?: { event_payload: Record<string, unknown> } }): unknown {
  return message.metadata?.event_payload.job_id;
}

/** Every piece of text in a message's blocks, joined: what a person reads. */
export function textOf(message: { text?: string; blocks?: unknown[] } | undefined): string {
  if (!message) return '';
  const parts: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      for (const [key, value] of Object.entries(node)) {
        if (key === 'text' && typeof value === 'string') parts.push(value);
        else walk(value);
      }
    }
  };
  walk(message.blocks ?? []);
  return parts.join('\n') || (message.text ?? '');
}
