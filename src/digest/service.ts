import { hostname } from 'node:os';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { systemClock } from '../clock';
import type { Db } from '../db/index';
import { periodBounds, type Ledger } from '../budget/index';
import { builtInCatalog, type PriceCatalog } from '../pricing/index';
import { renderTrendChart } from './chart';
import { isEmptyDay, type DigestContent } from './content';
import { savingsTips } from './savings';
import { dayBefore, dayOf, dayOfDate, daysEndingWith, dueDay, type DigestDay } from './schedule';
import { DigestStore, type Workspace } from './store';

/** The Slack layer implements it over the WebClient (chat.postMessage, files.uploadV2). */
export interface DigestPoster {
  /**
   * Renders and posts the digest; with `chart`, the PNG goes with it. When the workspace does not allow the upload it
   * throws an error whose Slack code (`error.data.error`, `error.code` or the message) is not_allowed / missing_scope /
   * … before anything is posted, and the digest is posted again without the chart, `content.chart` false: the trend
   * drawn as text.
   */
  post(
    channelId: string,
    content: DigestContent,
    chart?: { png: Buffer; filename: string; title: string },
  ): Promise<void>;
}

export interface DigestServiceOptions {
  /** DIGEST_CRON, read in each workspace's timezone. */
  cron: string;
  /** DIGEST_CHANNEL_ID; otherwise the workspace's alerts channel. */
  channelId?: string;
  creditPriceUsd: number;
  replicaId?: string;
  now?: () => Date;
  logger?: Logger;
  catalog?: PriceCatalog;
  /** A failed post is tried again after this long (default 5 min), at most `maxAttempts` times (default 5). */
  retryMs?: number;
  maxAttempts?: number;
  /** A claim older than this whose post never finished (its replica died) may be taken over (default 10 min). */
  leaseMs?: number;
}

const TREND_DAYS = 7;
/** Catches up, retries failed posts and picks up new timezones between the cron's own runs. */
const SWEEP_CRON = '*/15 * * * *';
const UPLOAD_REFUSED =
  /not_allowed|missing_scope|no_permission|file_uploads?_(disabled|not_allowed)|not_allowed_token_type|restricted_action/;

/** The Slack error code of a failed Web API call, wherever the client put it. */
function slackCode(error: unknown): string {
  const e = error as { data?: { error?: string }; code?: string; message?: string };
  return [e?.data?.error, e?.code, e?.message].filter(Boolean).join(' ');
}

export class NoDigestChannelError extends Error {
  override name = 'NoDigestChannelError';
}

/** A preview asked for a day there is no digest of: one still to come, or no calendar date. */
export class DigestDayError extends Error {
  override name = 'DigestDayError';
}

/**
 * The daily digest (ARCHITECTURE.md, digest/). Each workspace's digest for the previous local day is posted once after the cron
 * fires in that workspace's timezone, whichever replica gets there first (the digest_runs row is the claim), and
 * again on start if it fell due while no replica was running. Every tick also closes the periods that have ended.
 */
export class DigestService {
  private readonly store: DigestStore;
  private readonly now: () => Date;
  private readonly replicaId: string;
  private readonly catalog: PriceCatalog;
  private readonly retryMs: number;
  private readonly maxAttempts: number;
  private readonly leaseMs: number;
  private readonly tasks = new Map<string, ScheduledTask[]>();
  private sweeper?: ScheduledTask;
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;
  /** Ticks in this process run one after the other. */
  private running: Promise<void> = Promise.resolve();

  constructor(
    db: Db,
    private readonly ledger: Ledger,
    private readonly slack: DigestPoster,
    private readonly options: DigestServiceOptions,
  ) {
    this.store = new DigestStore(db);
    this.now = options.now ?? systemClock;
    this.replicaId = options.replicaId ?? `${hostname()}:${process.pid}`;
    this.catalog = options.catalog ?? builtInCatalog;
    this.retryMs = options.retryMs ?? 5 * 60_000;
    this.maxAttempts = options.maxAttempts ?? 5;
    this.leaseMs = options.leaseMs ?? 10 * 60_000;
  }

  /** Catches up first (a digest due while the bot was down is sent now), then schedules the cron jobs. */
  async start(): Promise<void> {
    this.stopped = false;
    await this.tick();
    await this.schedule();
    this.sweeper = cron.schedule(SWEEP_CRON, () => this.logged(this.schedule().then(() => this.tick())), {
      name: 'digest-sweep',
      noOverlap: true,
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.sweeper?.destroy();
    for (const tasks of this.tasks.values()) for (const task of tasks) await task.destroy();
    this.tasks.clear();
    await this.running;
    clearTimeout(this.retryTimer);
  }

  /** The cron jobs in force: one digest job and one midnight period close per workspace timezone. */
  schedules(): { timezone: string; next: Date | null }[] {
    return [...this.tasks.entries()].map(([timezone, [digest]]) => ({ timezone, next: digest!.getNextRun() }));
  }

  /**
   * Closes ended periods, then posts every digest that is due and not yet posted (of the workspaces in `timezone`,
   * or all). Safe to run any number of times on any number of replicas.
   */
  tick(timezone?: string): Promise<void> {
    const run = this.running.then(() => this.runDue(timezone));
    this.running = run.catch(() => {});
    return run;
  }

  /** `/kling digest now`: posts the previous day's digest at once, outside the daily claim. */
  async postNow(teamId: string): Promise<void> {
    const workspace = await this.workspaceOf(teamId);
    const channel = this.channelFor(workspace);
    if (!channel)
      throw new NoDigestChannelError('No channel for the digest: set the alerts channel (or DIGEST_CHANNEL_ID) first.');
    await this.deliver(workspace, dayBefore(this.now(), workspace.timezone), channel, true);
  }

  /**
   * `/kling digest preview [today|YYYY-MM-DD]`: the digest of yesterday (what the next post reports), of today
   * so far, or of a past date, trend as text.
   */
  async preview(teamId: string, day?: string): Promise<DigestContent> {
    const workspace = await this.workspaceOf(teamId);
    const now = this.now();
    const today = dayOf(now, workspace.timezone);
    const of = day === undefined ? 'yesterday' : day === 'today' ? 'today' : 'date';
    const target =
      of === 'yesterday'
        ? dayBefore(now, workspace.timezone)
        : of === 'today'
          ? today
          : dayOfDate(day!, workspace.timezone);
    if (of === 'date' && target.date !== day) throw new DigestDayError(`${day} is not a date in the calendar.`);
    if (target.date > today.date)
      throw new DigestDayError(`${day} has not happened yet: try today or an earlier date.`);
    return { ...(await this.content(workspace, target, false)), preview: { of, at: now } };
  }

  private async schedule(): Promise<void> {
    const timezones = new Set((await this.store.workspaces()).map((w) => w.timezone));
    for (const timezone of timezones) {
      if (this.tasks.has(timezone)) continue;
      this.tasks.set(timezone, [
        cron.schedule(this.options.cron, () => this.logged(this.tick(timezone)), {
          timezone,
          name: `digest:${timezone}`,
          noOverlap: true,
        }),
        cron.schedule('0 0 * * *', () => this.logged(this.closePeriods(timezone)), {
          timezone,
          name: `period-close:${timezone}`,
        }),
      ]);
    }
  }

  private async closePeriods(timezone?: string): Promise<void> {
    for (const workspace of await this.store.workspaces()) {
      if (!timezone || workspace.timezone === timezone)
        await this.store.ledger.closePeriods(workspace.teamId, this.now());
    }
  }

  private async runDue(timezone?: string): Promise<void> {
    await this.closePeriods(timezone);
    const due = new Map<string, DigestDay | undefined>();
    let failed = false;
    for (const workspace of await this.store.workspaces()) {
      if (timezone && workspace.timezone !== timezone) continue;
      if (!due.has(workspace.timezone))
        due.set(workspace.timezone, dueDay(this.options.cron, workspace.timezone, this.now()));
      const day = due.get(workspace.timezone);
      if (day && !(await this.runOnce(workspace, day))) failed = true;
    }
    if (failed) this.retryLater();
  }

  /** Claims (workspace, day) and posts its digest; false when the post failed and should be tried again. */
  private async runOnce(workspace: Workspace, day: DigestDay): Promise<boolean> {
    const log = this.options.logger?.child({ teamId: workspace.teamId, digestDate: day.date });
    const channel = this.channelFor(workspace);
    if (!channel) {
      log?.warn('no alerts channel or DIGEST_CHANNEL_ID: digest not posted');
      return true;
    }
    const claimed = await this.store.claim(workspace.teamId, day.date, this.replicaId, this.now(), {
      leaseMs: this.leaseMs,
      retryMs: this.retryMs,
      maxAttempts: this.maxAttempts,
    });
    if (!claimed) return true;
    try {
      const outcome = await this.deliver(workspace, day, channel, false);
      await this.store.markPosted(workspace.teamId, day.date, this.replicaId, this.now(), outcome);
      log?.info({ outcome }, 'digest done');
      return true;
    } catch (error) {
      const reason = slackCode(error) || 'unknown error';
      await this.store.markFailed(workspace.teamId, day.date, this.replicaId, reason);
      log?.error({ reason }, 'digest post failed; it will be tried again');
      return false;
    }
  }

  /** A scheduled run that fails (the database is away) is logged; the next tick tries again. */
  private async logged(run: Promise<void>): Promise<void> {
    try {
      await run;
    } catch (error) {
      this.options.logger?.error({ err: error }, 'digest run failed; the next tick tries again');
    }
  }

  private retryLater(): void {
    clearTimeout(this.retryTimer);
    if (this.stopped) return;
    this.retryTimer = setTimeout(() => void this.logged(this.tick()), this.retryMs);
    this.retryTimer.unref();
  }

  /** Posts the digest with its chart, or with the text trend when the upload is refused. An empty day posts nothing unless asked for. */
  private async deliver(
    workspace: Workspace,
    day: DigestDay,
    channel: string,
    evenIfEmpty: boolean,
  ): Promise<'posted' | 'empty'> {
    const content = await this.content(workspace, day, true);
    if (!evenIfEmpty && isEmptyDay(content.figures)) return 'empty';
    const dailyLimit = content.figures.budgets.find((b) => b.period === 'day')?.limitMc;
    try {
      const png = renderTrendChart(content.trend, dailyLimit);
      const title = `Credits spent per day, ${content.trend[0]!.date} to ${day.date}`;
      await this.slack.post(channel, content, { png, filename: `kling-digest-${day.date}.png`, title });
    } catch (error) {
      if (!UPLOAD_REFUSED.test(slackCode(error))) throw error;
      this.options.logger?.info(
        { teamId: workspace.teamId, reason: slackCode(error) },
        'chart upload refused; posting the trend as text',
      );
      await this.slack.post(channel, { ...content, chart: false });
    }
    return 'posted';
  }

  private async content(workspace: Workspace, day: DigestDay, chart: boolean): Promise<DigestContent> {
    const { teamId, timezone } = workspace;
    const periods = {
      day: day.start,
      week: periodBounds('week', day.start, timezone).start,
      month: periodBounds('month', day.start, timezone).start,
    };
    const figures = await this.store.figures(teamId, day, periods, daysEndingWith(day, timezone, TREND_DAYS));
    return {
      date: day.date,
      timezone,
      figures,
      trend: figures.trend,
      tips: savingsTips(this.catalog, figures.jobs),
      creditPriceUsd: this.options.creditPriceUsd,
      catalogVersion: this.catalog.version,
      chart,
    };
  }

  private async workspaceOf(teamId: string): Promise<Workspace> {
    return (await this.store.workspace(teamId)) ?? (await this.ledger.ensureWorkspace(teamId));
  }

  private channelFor(workspace: Workspace): string | undefined {
    return this.options.channelId ?? workspace.alertsChannelId ?? undefined;
  }
}
