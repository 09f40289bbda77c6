import { rows, sql, type Db } from '../db/index';
import type { Millicredits } from '../money/credits';
import type { DigestDay } from './schedule';

/**
 * Every number in the digest comes from here, as SQL aggregates over the ledger (holds, ledger_entries,
 * budget_periods) and the generations table. A hold belongs to the day it was taken (design §3), so a day's
 * spending is the holds created in it: committed at their actual cost, released (refunded), or still open (held).
 * Per-configuration figures read the generations of the day, whose actual_mc the queue sets with the commit.
 * No query joins holds to generations: each reads one day of one table through its (team_id, created_at) index.
 */

export interface BudgetLine {
  budgetId: number;
  period: 'day' | 'week' | 'month';
  hard: boolean;
  /** Limit plus the period's approved allowance. */
  limitMc: Millicredits;
  committedMc: Millicredits;
  heldMc: Millicredits;
  closed: boolean;
}

export interface DayTotals {
  committedMc: Millicredits;
  committedCount: number;
  /** Released holds: failed tasks and cancelled jobs cost nothing. */
  refundedMc: Millicredits;
  refundedCount: number;
  heldMc: Millicredits;
  heldCount: number;
}

/** One person's day; `userId` null is "the rest" past the top ten, `people` of them. */
export interface PersonLine {
  userId: string | null;
  people: number;
  committedMc: Millicredits;
  heldMc: Millicredits;
  refundedMc: Millicredits;
  videos: number;
}

/** One project tag's day (tagged jobs only), biggest first. */
export interface TagLine {
  tag: string;
  committedMc: Millicredits;
  heldMc: Millicredits;
  videos: number;
}

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

export interface TrendPoint {
  date: string;
  committedMc: Millicredits;
  refundedMc: Millicredits;
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
}

export interface Workspace {
  teamId: string;
  timezone: string;
  alertsChannelId: string | null;
}

export interface PeriodStarts {
  day: Date;
  week: Date;
  month: Date;
}

const TOP = 10;
const n = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const ts = (d: Date) => sql`${d.toISOString()}::timestamptz`;

export class DigestStore {
  constructor(private readonly db: Db) {}

  async workspaces(): Promise<Workspace[]> {
    return rows<Workspace>(this.db, sql`
      select team_id as "teamId", timezone, alerts_channel_id as "alertsChannelId" from workspaces order by team_id`);
  }

  async workspace(teamId: string): Promise<Workspace | undefined> {
    const [found] = await rows<Workspace>(this.db, sql`
      select team_id as "teamId", timezone, alerts_channel_id as "alertsChannelId" from workspaces where team_id = ${teamId}`);
    return found;
  }

  /**
   * Freezes every period of the team that ended by `now`: closed_at marks its totals final. The counters are left
   * as they are; a hold still open stays in its period and is reported there as held.
   */
  async closePeriods(teamId: string, now: Date): Promise<number> {
    const closed = await rows(this.db, sql`
      update budget_periods bp set closed_at = ${ts(now)}
      from budgets b
      where b.id = bp.budget_id and b.team_id = ${teamId} and bp.closed_at is null and bp.period_end <= ${ts(now)}
      returning bp.budget_id`);
    return closed.length;
  }

  /** All the figures of one day's digest, with the trend over `trendDays` (the days ending with it). */
  async figures(teamId: string, day: DigestDay, periods: PeriodStarts, trendDays: DigestDay[]): Promise<DigestFigures> {
    const [budgets, totals, people, tags, models, videos, trend, jobs] = await Promise.all([
      this.budgetLines(teamId, periods),
      this.totals(teamId, day),
      this.people(teamId, day),
      this.tags(teamId, day),
      this.models(teamId, day),
      this.videos(teamId, day),
      this.trend(teamId, trendDays),
      this.jobGroups(teamId, day),
    ]);
    return { budgets, totals, people, tags, models, videos, trend, jobs };
  }

  /** The workspace budgets in the periods containing the day: committed and held from each period's ledger entries. */
  async budgetLines(teamId: string, periods: PeriodStarts): Promise<BudgetLine[]> {
    const result = await rows<Record<string, unknown>>(this.db, sql`
      with b as (
        select b.*, case b.period when 'day' then ${ts(periods.day)} when 'week' then ${ts(periods.week)} else ${ts(periods.month)} end as ps
        from budgets b where b.team_id = ${teamId} and b.scope = 'workspace'
      )
      select b.id, b.period::text as period, b.hard,
             coalesce(bp.limit_mc, b.limit_mc) + coalesce(bp.allowance_mc, 0) as limit_mc,
             bp.closed_at is not null as closed,
             coalesce(u.committed_mc, 0) as committed_mc, coalesce(u.held_mc, 0) as held_mc
      from b
      left join budget_periods bp on bp.budget_id = b.id and bp.period_start = b.ps
      left join lateral (
        -- The period's entries: commits carry the actual cost; all charged deltas add up to committed + held.
        select sum(e.amount_mc) filter (where e.kind = 'commit') as committed_mc,
               sum(e.charged_delta_mc) - coalesce(sum(e.amount_mc) filter (where e.kind = 'commit'), 0) as held_mc
        from ledger_entries e
        where e.budget_id = b.id and e.period_start = b.ps
      ) u on true
      order by array_position(array['day','week','month'], b.period::text), b.id`);
    return result.map((r) => ({
      budgetId: n(r.id),
      period: r.period as BudgetLine['period'],
      hard: Boolean(r.hard),
      limitMc: n(r.limit_mc),
      committedMc: n(r.committed_mc),
      heldMc: n(r.held_mc),
      closed: Boolean(r.closed),
    }));
  }

  async totals(teamId: string, day: DigestDay): Promise<DayTotals> {
    const [r] = await rows<Record<string, unknown>>(this.db, sql`
      select coalesce(sum(h.actual_mc) filter (where h.status = 'committed'), 0) as committed_mc,
             count(*) filter (where h.status = 'committed') as committed_count,
             coalesce(sum(h.amount_mc) filter (where h.status = 'released'), 0) as refunded_mc,
             count(*) filter (where h.status = 'released') as refunded_count,
             coalesce(sum(h.amount_mc) filter (where h.status = 'open'), 0) as held_mc,
             count(*) filter (where h.status = 'open') as held_count
      from holds h
      where h.team_id = ${teamId} and h.created_at >= ${ts(day.start)} and h.created_at < ${ts(day.end)}`);
    return {
      committedMc: n(r!.committed_mc),
      committedCount: n(r!.committed_count),
      refundedMc: n(r!.refunded_mc),
      refundedCount: n(r!.refunded_count),
      heldMc: n(r!.held_mc),
      heldCount: n(r!.held_count),
    };
  }

  /** The ten biggest spenders (committed + held) and one line for everyone else. */
  async people(teamId: string, day: DigestDay): Promise<PersonLine[]> {
    const result = await rows<Record<string, unknown>>(this.db, sql`
      with per_user as (
        select h.user_id,
               coalesce(sum(h.actual_mc) filter (where h.status = 'committed'), 0) as committed_mc,
               coalesce(sum(h.amount_mc) filter (where h.status = 'open'), 0) as held_mc,
               coalesce(sum(h.amount_mc) filter (where h.status = 'released'), 0) as refunded_mc,
               count(*) filter (where h.status = 'committed') as videos
        from holds h
        where h.team_id = ${teamId} and h.created_at >= ${ts(day.start)} and h.created_at < ${ts(day.end)}
        group by h.user_id
      ), ranked as (
        select *, row_number() over (order by committed_mc + held_mc desc, user_id) as rank from per_user
      )
      select least(rank, ${TOP + 1}) as slot, min(user_id) as user_id, count(*) as people,
             sum(committed_mc) as committed_mc, sum(held_mc) as held_mc, sum(refunded_mc) as refunded_mc, sum(videos) as videos
      from ranked group by 1 order by 1`);
    return result.map((r) => ({
      userId: n(r.slot) > TOP ? null : String(r.user_id),
      people: n(r.people),
      committedMc: n(r.committed_mc),
      heldMc: n(r.held_mc),
      refundedMc: n(r.refunded_mc),
      videos: n(r.videos),
    }));
  }

  /** Spending per project tag (committed + held), biggest first; untagged jobs are left out. */
  async tags(teamId: string, day: DigestDay): Promise<TagLine[]> {
    const result = await rows<Record<string, unknown>>(this.db, sql`
      select h.tag,
             coalesce(sum(h.actual_mc) filter (where h.status = 'committed'), 0) as committed_mc,
             coalesce(sum(h.amount_mc) filter (where h.status = 'open'), 0) as held_mc,
             count(*) filter (where h.status = 'committed') as videos
      from holds h
      where h.team_id = ${teamId} and h.created_at >= ${ts(day.start)} and h.created_at < ${ts(day.end)}
        and h.tag is not null
      group by h.tag
      having count(*) filter (where h.status <> 'released') > 0
      order by 2 + 3 desc, h.tag`);
    return result.map((r) => ({
      tag: String(r.tag), committedMc: n(r.committed_mc), heldMc: n(r.held_mc), videos: n(r.videos),
    }));
  }

  /** Spending per endpoint × model × mode × duration × audio, the ten biggest and the rest. */
  async models(teamId: string, day: DigestDay): Promise<ModelLine[]> {
    const result = await rows<Record<string, unknown>>(this.db, sql`
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
      from ranked group by 1 order by 1`);
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
        committedMc: n(r.committed_mc),
      };
    });
  }

  async videos(teamId: string, day: DigestDay): Promise<VideoCounts> {
    const [r] = await rows<Record<string, unknown>>(this.db, sql`
      select count(*) filter (where state = 'succeeded') as succeeded,
             count(*) filter (where state = 'failed') as failed,
             count(*) filter (where state = 'cancelled') as cancelled,
             count(*) filter (where state = 'refused') as refused,
             count(*) filter (where state in ('queued', 'submitting', 'submitted', 'processing')) as unfinished,
             percentile_cont(0.5) within group (order by extract(epoch from ended_at - created_at))
               filter (where state = 'succeeded' and ended_at is not null) as median_seconds
      from generations
      where team_id = ${teamId} and created_at >= ${ts(day.start)} and created_at < ${ts(day.end)}`);
    return {
      succeeded: n(r!.succeeded),
      failed: n(r!.failed),
      cancelled: n(r!.cancelled),
      refused: n(r!.refused),
      unfinished: n(r!.unfinished),
      medianSeconds: r!.median_seconds === null ? null : Number(r!.median_seconds),
    };
  }

  /** Committed and refunded on each of the given local days: one indexed range per day, so DST-long days are exact. */
  async trend(teamId: string, days: DigestDay[]): Promise<TrendPoint[]> {
    const values = sql.join(days.map((d) => sql`(${d.date}, ${ts(d.start)}, ${ts(d.end)})`), sql`, `);
    const result = await rows<Record<string, unknown>>(this.db, sql`
      select d.date, t.committed_mc, t.refunded_mc
      from (values ${values}) as d(date, start_at, end_at)
      cross join lateral (
        select coalesce(sum(actual_mc) filter (where status = 'committed'), 0) as committed_mc,
               coalesce(sum(amount_mc) filter (where status = 'released'), 0) as refunded_mc
        from holds where team_id = ${teamId} and created_at >= d.start_at and created_at < d.end_at
      ) t
      order by d.start_at`);
    return result.map((r) => ({ date: String(r.date), committedMc: n(r.committed_mc), refundedMc: n(r.refunded_mc) }));
  }

  async jobGroups(teamId: string, day: DigestDay): Promise<JobGroup[]> {
    const result = await rows<Record<string, unknown>>(this.db, sql`
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
      from day_jobs group by endpoint, request - 'prompt' - 'negative_prompt', redone, duplicate`);
    return result.map((r) => ({
      endpoint: String(r.endpoint),
      params: (typeof r.params === 'string' ? JSON.parse(r.params) : r.params) as Record<string, unknown>,
      redone: Boolean(r.redone),
      duplicate: Boolean(r.duplicate),
      count: n(r.count),
      actualMc: n(r.actual_mc),
    }));
  }

  /**
   * Claims the digest of (team, date) for this replica. The row is inserted before posting, so of any number of
   * replicas exactly one gets it. A row whose post failed (last_error), or whose claimer vanished mid-post (lease
   * expired), can be claimed again; a posted row never.
   */
  async claim(teamId: string, date: string, replicaId: string, now: Date, options: { leaseMs: number; retryMs: number; maxAttempts: number }): Promise<boolean> {
    const lease = new Date(now.getTime() - options.leaseMs);
    const retry = new Date(now.getTime() - options.retryMs);
    const claimed = await rows(this.db, sql`
      insert into digest_runs (team_id, digest_date, claimed_by, claimed_at, attempts)
      values (${teamId}, ${date}::date, ${replicaId}, ${ts(now)}, 1)
      on conflict (team_id, digest_date) do update
        set claimed_by = excluded.claimed_by, claimed_at = excluded.claimed_at, attempts = digest_runs.attempts + 1
      where digest_runs.posted_at is null and digest_runs.attempts < ${options.maxAttempts}
        and ((digest_runs.last_error is not null and digest_runs.claimed_at <= ${ts(retry)}) or digest_runs.claimed_at <= ${ts(lease)})
      returning attempts`);
    return claimed.length === 1;
  }

  async markPosted(teamId: string, date: string, replicaId: string, now: Date, outcome: 'posted' | 'empty'): Promise<void> {
    await rows(this.db, sql`
      update digest_runs set posted_at = ${ts(now)}, outcome = ${outcome}, last_error = null
      where team_id = ${teamId} and digest_date = ${date}::date and claimed_by = ${replicaId}`);
  }

  async markFailed(teamId: string, date: string, replicaId: string, error: string): Promise<void> {
    await rows(this.db, sql`
      update digest_runs set last_error = ${error.slice(0, 500)}
      where team_id = ${teamId} and digest_date = ${date}::date and claimed_by = ${replicaId} and posted_at is null`);
  }
}
