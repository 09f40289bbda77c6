import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { App, HTTPReceiver, SocketModeReceiver, type Receiver } from '@slack/bolt';
import {
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRequestError,
  WebClient,
  type WebClientOptions,
} from '@slack/web-api';
import { KlingAccount } from './account';
import { AlertWatch, Ledger } from './budget';
import { systemClock, type Clock } from './clock';
import { ConfigError, klingAuth, StartupError, type Config } from './config';
import { openDatabase } from './db';
import { DigestService } from './digest';
import { Exporter } from './export';
import { GenerationQueue, Worker, type WorkerEvent, type WorkerOptions } from './generations';
import { createMetrics, observeEstimate, registerAccountGauges } from './http/metrics';
import { httpRoutes } from './http/routes';
import { KlingClient } from './kling';
import { createLogger, type Logger } from './log';
import { parseCredits } from './money/credits';
import { loadCatalog } from './pricing';
import { ApprovalRequests, Requests, Workspaces } from './requests';
import { Admins } from './slack/admins';
import { BatchForms } from './slack/batch-forms';
import { boltLogger } from './slack/bolt-logger';
import type { SlackDeps } from './slack/deps';
import { digestPoster } from './slack/digest-poster';
import { AccountAlerts } from './slack/account-alerts';
import { AcksFirst } from './slack/acks-first';
import { SlackImages } from './slack/images';
import { JobCards, type JobCardsOptions } from './slack/job-cards';
import { guardPayloadShape, malformedPayloadHandler } from './slack/malformed';
import { People } from './slack/people';
import { registerListeners } from './slack/listeners';
import { Notifier } from './slack/notifier';
import { PendingRequests } from './slack/pending';

export interface BotOverrides {
  logger?: Logger;
  /** A Kling client of the test's choosing (the simulator is reached through KLING_API_BASE_URL otherwise). */
  kling?: KlingClient;
  now?: Clock;
  worker?: Partial<WorkerOptions>;
  /** How often undelivered budget alerts are retried (default 60 s). */
  alertRetryMs?: number;
  /** How long a replica's claim to post a budget alert lasts (default 2 min). */
  alertLeaseMs?: number;
  /** The job cards' sweeper and claims (defaults in src/slack/job-cards.ts). */
  cards?: Pick<JobCardsOptions, 'sweepMs' | 'graceMs' | 'leaseMs' | 'placesShown'>;
  /** How often forecast alerts are looked for (default 60 s). */
  watchMs?: number;
  /** How often the Kling account's packs are looked at (default 60 s; Kling is read at most once a minute). */
  accountCheckMs?: number;
  /** Start the digest's cron (default true). */
  digestSchedule?: boolean;
  /**
   * How long the HTTP receiver waits for an ack before answering 404 (Bolt's default 3001 ms, Slack's
   * own limit). Tests that check correctness under a loaded machine raise it; the bench measures speed.
   */
  ackTimeoutMs?: number;
  /** When a reservation is still running, ack with "working on it" after this long (default 2500 ms). */
  ackWithinMs?: number;
}

export interface Bot {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** The HTTP port actually bound (PORT=0 picks a free one), known after start(). */
  readonly port: number;
  readonly app: App;
}

/**
 * Web API calls: a few quick retries for network errors and 5xx, and a 429 handed back to us at once
 * (rejectRateLimitedCalls). The job queue owns the retry of work; job cards and alerts retry their own
 * delivery after Retry-After (src/slack/delivery.ts), so one rate-limited channel never stalls the client.
 */
const WEB_API: WebClientOptions = {
  retryConfig: { retries: 2, factor: 2, minTimeout: 250, maxTimeout: 2_000 },
  rejectRateLimitedCalls: true,
  timeout: 10_000,
};

/**
 * The one call a start-up step makes: init() calls auth.test with the bot token; Socket Mode's start() calls only
 * apps.connections.open with the app-level token. A platform error is Slack refusing that step's token; no answer,
 * or an answer that is not Slack's, is a network or SLACK_API_URL problem. Each becomes one line naming what to
 * check, never a token's value.
 */
function startupFailure(variable: 'SLACK_BOT_TOKEN' | 'SLACK_APP_TOKEN', want: string, slackUrl: string) {
  return (error: unknown): never => {
    if (error instanceof WebAPIPlatformError) {
      throw new ConfigError(`Configuration error: ${variable} was refused by Slack (${error.data.error}): ${want}`);
    }
    if (error instanceof WebAPIRequestError) {
      // fetch reports "fetch failed" and keeps the system's reason (ECONNREFUSED, ENOTFOUND…) in its cause.
      const cause = (error.original.cause ?? error.original) as NodeJS.ErrnoException;
      const reason = cause.code ?? cause.message.split('\n')[0];
      throw new StartupError(`Cannot reach Slack at ${slackUrl} (${reason}): check the network, or SLACK_API_URL`);
    }
    if (error instanceof WebAPIHTTPError) {
      const status = error.statusCode;
      throw new StartupError(`Slack at ${slackUrl} answered HTTP ${status}, not as Slack does: check SLACK_API_URL`);
    }
    throw error;
  };
}

/** The composition root: builds every service from the config and wires them together. */
export async function createBot(config: Config, overrides: BotOverrides = {}): Promise<Bot> {
  const logger = overrides.logger ?? createLogger(config.LOG_LEVEL);
  const now = overrides.now ?? systemClock;
  const database = await openDatabase({ url: config.DATABASE_URL, dataDir: config.DATA_DIR });
  // Background work (the worker, job cards, alerts, the digest) gets a pool of its own, so a burst of it
  // never queues ahead of a reservation a person is waiting on. PGlite is one connection: shared.
  const background = config.DATABASE_URL ? await openDatabase({ url: config.DATABASE_URL, migrate: false }) : database;
  const { db } = database;
  const catalog = loadCatalog(config.PRICING_FILE);
  const ledgerOptions = {
    now,
    defaultTimezone: config.TIMEZONE,
    defaultDailyLimitMc: parseCredits(config.DEFAULT_DAILY_LIMIT),
    ...(config.CONFIRM_THRESHOLD !== undefined && {
      defaultConfirmThresholdMc: parseCredits(config.CONFIRM_THRESHOLD),
    }),
  };
  const ledger = new Ledger(db, ledgerOptions);
  const backgroundLedger = background === database ? ledger : new Ledger(background.db, ledgerOptions);
  const kling =
    overrides.kling ??
    new KlingClient({
      baseUrl: config.KLING_API_BASE_URL,
      auth: klingAuth(config),
      logger,
      now: () => now().getTime(),
      callbackUrl: config.PUBLIC_URL ? new URL('/kling/callback', config.PUBLIC_URL).toString() : undefined,
    });
  const queue = new GenerationQueue(db, ledger, { maxQueuedPerUser: config.MAX_QUEUED_PER_USER, now });
  const worker = new Worker(background.db, backgroundLedger, kling, {
    maxConcurrency: config.KLING_MAX_CONCURRENCY,
    accountConcurrency: config.KLING_ACCOUNT_CONCURRENCY ?? config.KLING_MAX_CONCURRENCY,
    callbacks: Boolean(config.PUBLIC_URL),
    taskTimeoutMinutes: config.KLING_TASK_TIMEOUT_MINUTES,
    ...(config.WORKER_ID ? { workerId: config.WORKER_ID } : {}),
    logger,
    now,
    ...overrides.worker,
  });
  const metrics = createMetrics(background.db);

  const clientOptions: WebClientOptions = {
    ...WEB_API,
    ...(config.SLACK_API_URL ? { slackApiUrl: config.SLACK_API_URL } : {}),
  };
  const customRoutes = httpRoutes({
    database,
    metrics,
    wake: (id, status) => worker.wake(id, status),
    webhookSecret: config.KLING_WEBHOOK_SECRET,
    logger,
    now,
  });
  // Stamped when the receiver has read the request, so ack latency covers our whole handling.
  const customPropertiesExtractor = () => ({ receivedAt: performance.now() });
  const socketMode = config.SLACK_APP_TOKEN
    ? new SocketModeReceiver({
        appToken: config.SLACK_APP_TOKEN,
        customRoutes,
        customPropertiesExtractor,
        installerOptions: { port: config.PORT, clientOptions },
        logger: boltLogger(logger),
      })
    : undefined;
  const httpReceiver = socketMode
    ? undefined
    : new HTTPReceiver({
        signingSecret: config.SLACK_SIGNING_SECRET,
        endpoints: '/slack/events',
        customRoutes,
        customPropertiesExtractor,
        unhandledRequestTimeoutMillis: overrides.ackTimeoutMs,
        processEventErrorHandler: malformedPayloadHandler(logger),
        logger: boltLogger(logger),
      });
  if (httpReceiver) guardPayloadShape(httpReceiver, logger);
  const receiver: Receiver = socketMode ?? httpReceiver!;
  // In Socket Mode Bolt serves customRoutes on an HTTP server of its own (installerOptions.port), which it
  // neither exposes nor waits for: start() reads its port and catches its listen error (a port in use
  // would otherwise crash the process) through the private field. test/slack/socket-mode.test.ts guards it.
  const routesServer = socketMode && (socketMode as unknown as { httpServer: Server }).httpServer;
  // No botId/authorize: Bolt verifies the token with auth.test in init(), so a bad token stops start-up.
  // No conversation store: nothing here uses it, and its per-request lookup throws (and builds) an Error
  // for every new conversation, which showed up in the ack-latency profile.
  const app = new App({
    token: config.SLACK_BOT_TOKEN,
    receiver,
    clientOptions,
    deferInitialization: true,
    convoStore: false,
    logger: boltLogger(logger),
  });
  const client = app.client;

  const admins = new Admins(client, config.ADMIN_USER_IDS, logger);
  const backgroundQueue =
    background === database
      ? queue
      : new GenerationQueue(background.db, backgroundLedger, {
          maxQueuedPerUser: config.MAX_QUEUED_PER_USER,
          now,
        });
  const acksFirst = new AcksFirst();
  // Cards are posted by a client that does not retry on its own: after a lost answer, JobCards looks for the
  // card before posting it again, where a blind retry would leave a second one.
  const cardClient = new WebClient(config.SLACK_BOT_TOKEN, {
    ...clientOptions,
    retryConfig: { retries: 0 },
    logger: boltLogger(logger),
  });
  const pending = new PendingRequests();
  const cards = new JobCards({
    client: cardClient,
    queue: backgroundQueue,
    logger,
    creditPriceUsd: config.CREDIT_PRICE_USD,
    now,
    catalog,
    pending,
    acksFirst: () => acksFirst.settled(),
    videos: { maxMb: config.SLACK_UPLOAD_MAX_MB },
    ...overrides.cards,
  });
  const notifier = new Notifier({
    client,
    ledger: backgroundLedger,
    cards,
    admins,
    logger,
    creditPriceUsd: config.CREDIT_PRICE_USD,
    defaultAlertsChannel: config.ALERT_CHANNEL_ID,
    retryMs: overrides.alertRetryMs,
    leaseMs: overrides.alertLeaseMs,
  });
  const watch = new AlertWatch({
    ledger: backgroundLedger,
    logger,
    everyMs: overrides.watchMs,
    onClaimed: (teamId) => void notifier.deliverAlerts(teamId),
    spikes: {
      defaults: { factor: config.SPIKE_FACTOR, minMc: parseCredits(config.SPIKE_MIN_CREDITS) },
      drivers: (teamId, generationIds) => backgroundQueue.spendMix(teamId, generationIds),
    },
  });
  const people = new People(client, logger);
  const digest = new DigestService(background.db, backgroundLedger, digestPoster(client, people), {
    cron: config.DIGEST_CRON,
    channelId: config.DIGEST_CHANNEL_ID,
    creditPriceUsd: config.CREDIT_PRICE_USD,
    logger,
    catalog,
    now,
  });
  // Exports read long periods: the background pool, so people's reservations never wait behind them.
  const exporter = new Exporter(background.db, {
    creditPriceUsd: config.CREDIT_PRICE_USD,
    names: (ids) => people.names(ids),
    now,
  });
  const workspaces = new Workspaces(ledger, { alertsChannelId: config.ALERT_CHANNEL_ID });
  const account = new KlingAccount(background.db, backgroundLedger, kling, {
    now,
    logger,
    runoutDays: config.PACK_ALERT_DAYS,
  });
  registerAccountGauges(metrics, account, now);
  const accountAlerts = new AccountAlerts({
    client,
    account,
    logger,
    defaultAlertsChannel: config.ALERT_CHANNEL_ID,
    everyMs: overrides.accountCheckMs,
    leaseMs: overrides.alertLeaseMs,
  });

  worker.on((event: WorkerEvent) => {
    if (event.kind === 'job' && event.generation.state === 'failed' && event.generation.errorCode) {
      metrics.klingErrors.inc({ code: String(event.generation.errorCode) });
    }
    if (event.kind === 'job' && event.generation.state === 'succeeded') observeEstimate(metrics, event.generation);
    if (event.kind === 'queue-paused') metrics.klingErrors.inc({ code: String(event.code) });
    notifier.handle(event);
  });

  const requests = new Requests({
    ledger,
    queue,
    workspaces,
    approvals: new ApprovalRequests(db, now),
    db,
    now,
    // Cards go up and the worker wakes once the acks in flight are out (a card has no deadline; an ack has 3 s).
    onQueued: (jobIds) => {
      for (const id of jobIds) void cards.sync(id);
      void acksFirst.settled().then(() => worker.wake());
    },
    onAlerts: (teamId) => void notifier.deliverAlerts(teamId),
    onRefused: (reason) => metrics.refusals.inc({ reason }),
  });
  const deps: SlackDeps = {
    config,
    catalog,
    ledger,
    queue,
    worker,
    digest,
    exporter,
    account,
    cards,
    notifier,
    admins,
    people,
    pending,
    batchForms: new BatchForms(db),
    requests,
    metrics,
    logger,
    now,
    acksFirst,
    images: new SlackImages(client, config.SLACK_BOT_TOKEN, config.SLACK_API_URL),
    ackWithinMs: overrides.ackWithinMs ?? 2_500,
  };
  registerListeners(app, deps);
  app.error(async (error) => {
    logger.error({ err: error }, 'Slack listener failed');
  });

  let port = config.PORT;
  return {
    app,
    get port() {
      return port;
    },
    async start() {
      const slackUrl = config.SLACK_API_URL ?? 'https://slack.com/api/';
      const botToken = 'use the bot token (xoxb-…) from OAuth & Permissions';
      await app.init().catch(startupFailure('SLACK_BOT_TOKEN', botToken, slackUrl));
      if (routesServer) {
        // Both settle before start() fails, so stop() then finds the socket connected or given up, not connecting.
        const [listening, connected] = await Promise.allSettled([
          once(routesServer, 'listening'),
          app
            .start()
            .catch(
              startupFailure('SLACK_APP_TOKEN', 'use an app-level token with the connections:write scope', slackUrl),
            ),
        ]);
        if (listening.status === 'rejected') throw listening.reason;
        if (connected.status === 'rejected') throw connected.reason;
        port = (routesServer.address() as AddressInfo).port;
      } else {
        port = (((await app.start(config.PORT)) as Server).address() as AddressInfo).port;
      }
      await worker.start();
      cards.start();
      notifier.start();
      watch.start();
      accountAlerts.start();
      if (overrides.digestSchedule !== false) await digest.start();
      logger.info({ port, mode: config.SLACK_APP_TOKEN ? 'socket' : 'http' }, 'kling-budget-bot is running');
    },
    async stop() {
      // Bolt's Socket Mode stop() only starts the close handshake; wait for the socket to be closed.
      const disconnected = socketMode && new Promise((resolve) => socketMode.client.once('disconnected', resolve));
      await app.stop().catch((error: unknown) => logger.warn({ err: error }, 'Slack receiver did not stop cleanly'));
      await disconnected;
      await digest.stop();
      await worker.stop();
      await watch.stop();
      await notifier.stop();
      await accountAlerts.stop();
      await cards.stop();
      if (background !== database) await background.close();
      await database.close();
    },
  };
}
