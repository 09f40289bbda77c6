import {
  LedgerReports,
  type BudgetLine,
  type DayTotals,
  type PeriodStarts,
  type PersonLine,
  type TagLine,
  type TrendPoint,
} from '../budget/reports';
import { rows, sql, type Db } from '../db/index';
import { mc, type Millicredits } from '../money/credits';
import type { DigestDay } from './schedule';

/**
 * Every number in the digest comes from here: the ledger's figures from its reports (budgets, holds and the
 * ledger's entries), the rest as SQL aggregates over the generations table, whose actual_mc the queue sets with
 * the commit. No query joins holds to generations: each reads one day of one table through its
 * (team_id, created_at) index.
 */

/** One configuration's day; `model` null is "the rest", `configs` of them. */
export interface ModelLine {
  endpoint: string | null;
  model: string | null;
  mode: string | null;
  duration: string | null;
  sound: boolean;
  configs: number;
  videos: number;
  committedMc: Millicredits;
}

export interface VideoCounts {
  succeeded: number;
  failed: number;
  cancelled: number;
  refused: number;
  unfinished: number;
  /** From the request to the finished video, over the day's succeeded jobs. */
  medianSeconds: number | null;
}

/** The day's succeeded jobs grouped by their priced parameters, for the savings advice. */
export interface JobGroup {
  endpoint: string;
  /** The request body of the group's jobs (one of their prompts stands for all). */
  params: Record<string, unknown>;
  /** The same person asked for the same prompt again later that day: this one was a draft. */
  redone: boolean;
  /** An identical request had already succeeded in the 30 days before: the earlier video could have been reused. */
  duplicate: boolean;
  count: number;
  actualMc: Millicredits;
}

/** The week's settled jobs: what was estimated and held against what Kling charged. */
export interface EstimateAccuracy {
  jobs: number;
  chargedMc: Millicredits;
  /** Σ |charged − estimate| over the jobs: how far the estimates were off, whichever way. */
  deviationMc: Millicredits;
}

export interface DigestFigures {
  budgets: BudgetLine[];
  totals: DayTotals;
  people: PersonLine[];
  tags: TagLine[];
  models: ModelLine[];
  videos: VideoCounts;
  /** One point per trend day, oldest first. */
  trend: TrendPoint[];
  jobs: JobGroup[];
  /** Over the trend's days; absent when no job was charged in them. */
  estimates?: EstimateAccuracy;
}

export interface Workspace {
  teamId: string;
  timezone: string;
  alertsChannelId: string | null;
}

const TOP = 10;
const n = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const amount = (v: unknown): Millicredits => mc(n(v));
const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

export class DigestStore {
  /** The ledger's side of the digest. */
  readonly ledger: LedgerReports;

  constructor(private readonly db: Db) {
    this.ledger = new LedgerReports(db);
  }

  async workspaces(): Promise<Workspace[]> {
    return rows<Workspace>(
      this.db,
      sql`
      select team_id as "teamId", timezone, alerts_channel_id as "alertsChannelId" from workspaces order by team_id`,
    );
  }

  async workspace(teamId: string): Promise<Workspace | undefined> {
    const [found] = await rows<Workspace>(
      this.db,
      sql`
      select team_id as "teamId", timezone, alerts_channel_id as "alertsChannelId" from workspaces where team_id = ${teamId}`,
    );
    return found;
  }

  /** All the figures of one day's digest, with the trend over `trendDays` (the days ending with it). */
  async figures(teamId: string, day: DigestDay, periods: PeriodStarts, trendDays: DigestDay[]): Promise<DigestFigures> {
    const [budgets, totals, people, tags, models, videos, trend, jobs, estimates] = await Promise.all([
      this.ledger.budgetLines(teamId, periods),
      this.ledger.totals(teamId, day),
      this.ledger.people(teamId, day),
      this.ledger.tags(teamId, day),
      this.models(teamId, day),
      this.videos(teamId, day),
      this.ledger.trend(teamId, trendDays),
      this.jobGroups(teamId, day),
      this.estimates(teamId, trendDays[0]?.start ?? day.start, day.end),
    ]);
    return { budgets, totals, people, tags, models, videos, trend, jobs, ...(estimates && { estimates }) };
  }

  /** Spending per endpoint × model × mode × duration × audio, the ten biggest and the rest. */
  async models(teamId: string, day: DigestDay): Promise<ModelLine[]> {
    const result = await rows<Record<string, unknown>>(
      this.db,
      sql`
      with per_config as (
        select g.endpoint, g.request->>'model_name' as model, g.request->>'mode' as mode, g.request->>'duration' as duration,
               coalesce(g.request->>'sound', 'off') = 'on' as sound,
               count(*) filter (where g.state = 'succeeded') as videos,
               coalesce(sum(g.actual_mc) filter (where g.state = 'succeeded'), 0) as committed_mc
        from generations g
        where g.team_id = ${teamId} and g.created_at >= ${ts(day.start)} and g.created_at < ${ts(day.end)} and g.state <> 'refused'
        group by 1, 2, 3, 4, 5
      ), ranked as (
        select *, row_number() over (order by committed_mc desc, videos desc, endpoint, model, mode, duration, sound) as rank from per_config
      )
      select least(rank, ${TOP + 1}) as slot, min(endpoint) as endpoint, min(model) as model, min(mode) as mode,
             min(duration) as duration, bool_or(sound) as sound, count(*) as configs, sum(videos) as videos, sum(committed_mc) as committed_mc
      from ranked group by 1 order by 1`,
    );
    return result.map((r) => {
      const rest = n(r.slot) > TOP;
      return {
        endpoint: rest ? null : (r.endpoint as string),
        model: rest ? null : ((r.model as string | null) ?? 'default model'),
        mode: rest ? null : ((r.mode as string | null) ?? null),
        duration: rest ? null : ((r.duration as string | null) ?? null),
        sound: !rest && Boolean(r.sound),
        configs: n(r.configs),
        videos: n(r.videos),
        committedMc: amount(r.committed_mc),
      };
    });
  }

  async videos(teamId: string, day: DigestDay): Promise<VideoCounts> {
    const [r] = await rows<Record<string, unknown>>(
      this.db,
      sql`
      select count(*) filter (where state = 'succeeded') as succeeded,
             count(*) filter (where state = 'failed') as failed,
             count(*) filter (where state = 'cancelled') as cancelled,
             count(*) filter (where state = 'refused') as refused,
             count(*) filter (where state in ('queued', 'submitting', 'submitted', 'processing')) as unfinished,
             percentile_cont(0.5) within group (order by extract(epoch from ended_at - created_at))
               filter (where state = 'succeeded' and ended_at is not null) as median_seconds
      from generations
      where team_id = ${teamId} and created_at >= ${ts(day.start)} and created_at < ${ts(day.end)}`,
    );
    return {
      succeeded: n(r!.succeeded),
      failed: n(r!.failed),
      cancelled: n(r!.cancelled),
      refused: n(r!.refused),
      unfinished: n(r!.unfinished),
      medianSeconds: r!.median_seconds === null ? null : Number(r!.median_seconds),
    };
  }

  /** Estimates against Kling's charges for the jobs that succeeded in [from, to). */
  async estimates(teamId: string, from: Date, to: Date): Promise<EstimateAccuracy | undefined> {
    const [r] = await rows<Record<string, unknown>>(
      this.db,
      sql`
      select count(*) as jobs, sum(actual_mc) as charged_mc, sum(abs(actual_mc - estimate_mc)) as deviation_mc
      from generations
      where team_id = ${teamId} and state = 'succeeded' and actual_mc is not null
        and ended_at >= ${ts(from)} and ended_at < ${ts(to)}`,
    );
    const jobs = n(r?.jobs);
    return jobs ? { jobs, chargedMc: amount(r!.charged_mc), deviationMc: amount(r!.deviation_mc) } : undefined;
  }

  async jobGroups(teamId: string, day: DigestDay): Promise<JobGroup[]> {
    const result = await rows<Record<string, unknown>>(
      this.db,
      sql`
      with day_jobs as (
        select g.endpoint, g.request, g.actual_mc,
               lead(g.id) over (partition by g.user_id, g.request->>'prompt' order by g.created_at, g.id) is not null as redone,
               exists (
                 select 1 from generations e
                 where e.team_id = g.team_id and e.request_key = g.request_key and e.state = 'succeeded'
                   and e.ended_at <= g.created_at and e.ended_at > g.created_at - interval '30 days'
               ) as duplicate
        from generations g
        where g.team_id = ${teamId} and g.created_at >= ${ts(day.start)} and g.created_at < ${ts(day.end)} and g.state = 'succeeded'
      )
      -- The prompt does not change the price but a request needs one to be priced: any of the group's stands in.
      select endpoint, (request - 'prompt' - 'negative_prompt') || jsonb_build_object('prompt', min(request->>'prompt')) as params,
             redone, duplicate, count(*) as count, sum(actual_mc) as actual_mc
      from day_jobs group by endpoint, request - 'prompt' - 'negative_prompt', redone, duplicate`,
    );
    return result.map((r) => ({
      endpoint: String(r.endpoint),
      params: (typeof r.params === 'string' ? JSON.parse(r.params) : r.params) as Record<string, unknown>,
      redone: Boolean(r.redone),
      duplicate: Boolean(r.duplicate),
      count: n(r.count),
      actualMc: amount(r.actual_mc),
    }));
  }

  /**
   * Claims the digest of (team, date) for this replica. The row is inserted before posting, so of any number of
   * replicas exactly one gets it. A row whose post failed (last_error), or whose claimer vanished mid-post (lease
   * expired), can be claimed again; a posted row never.
   */
  async claim(
    teamId: string,
    date: string,
    replicaId: string,
    now: Date,
    options: { leaseMs: number; retryMs: number; maxAttempts: number },
  ): Promise<boolean> {
    const lease = new Date(now.getTime() - options.leaseMs);
    const retry = new Date(now.getTime() - options.retryMs);
    const claimed = await rows(
      this.db,
      sql`
      insert into digest_runs (team_id, digest_date, claimed_by, claimed_at, attempts)
      values (${teamId}, ${date}::date, ${replicaId}, ${ts(now)}, 1)
      on conflict (team_id, digest_date) do update
        set claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at, attempts = digest_runs.attempts + 1
      where digest_runs.posted_at is null and digest_runs.attempts < ${options.maxAttempts}
        and ((digest_runs.last_error is not null and digest_runs.claimed_at <= ${ts(retry)}) or digest_runs.claimed_at <= ${ts(lease)})
      returning attempts`,
    );
    return claimed.length === 1;
  }

  async markPosted(
    teamId: string,
    date: string,
    replicaId: string,
    now: Date,
    outcome: 'posted' | 'empty',
  ): Promise<void> {
    await rows(
      this.db,
      sql`
      update digest_runs set posted_at = ${ts(now)}, outcome = ${outcome}, last_error = null
      where team_id = ${teamId} and digest_date = ${date}::date and claimed_by = ${replicaId}`,
    );
  }

  async markFailed(teamId: string, date: string, replicaId: string, error: string): Promise<void> {
    await rows(
      this.db,
      sql`
      update digest_runs set last_error = ${error.slice(0, 500)}
      where team_id = ${teamId} and digest_date = ${date}::date and claimed_by = ${replicaId} and posted_at is null`,
    );
  }
}
