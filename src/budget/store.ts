// The ledger's SQL layer. Write paths are the plpgsql functions of src/budget/sql/10_ledger.sql (one
// statement, one round trip each); the rest are plain queries.
import type { SQL } from 'drizzle-orm';
import { rows, sql, type Db } from '../db';
import { mc, type Millicredits } from '../money/credits';
import { budgetChanges, recordChanges } from './audit';
import {
  LedgerError,
  type BudgetInput,
  type BudgetPeriodKind,
  type BudgetScope,
  type RequestScope,
  type WorkspaceSettings,
} from './types';

/** A budget as the SQL functions and queries below return it (camelCase json or aliased columns). */
export interface BudgetRow {
  id: number;
  teamId?: string;
  scope: BudgetScope;
  scopeId: string;
  period: BudgetPeriodKind;
  limitMc: number;
  hard: boolean;
  thresholds: number[];
}

/** One budget's current period as ledger_reserve reports it. */
export interface ReservedBudget extends BudgetRow {
  periodStart: string;
  periodEnd: string;
  needMc: number;
  chargedMc: number;
  periodLimitMc: number;
  periodHard: boolean;
}

export interface EventRow {
  kind: 'threshold' | 'exhausted' | 'forecast' | 'overrun';
  budgetId: number;
  periodStart: string;
  threshold?: number;
  /** Overrun: the jobs charged above their hold. */
  generationIds?: string[];
  chargedMc: number;
  limitMc: number;
  triggeredBy: string;
  /** A forecast's figures (see claimForecast); for exhausted, what the refused request needed. */
  detail?: ForecastDetail | RefusedDetail | string | null;
}

export interface RefusedDetail {
  needMc: number;
}

export interface ForecastDetail {
  runsOutAt: string;
  projectedMc: number;
  spenders: { userId: string; chargedMc: number }[];
}

export type ReserveOutcome =
  | {
      ok: true;
      holds: { id: string; amountMc: Millicredits; generationId: string | null }[];
      budgets: ReservedBudget[];
      events: EventRow[];
    }
  | { ok: false; refusedBudgetId: number; budgets: ReservedBudget[]; events: EventRow[] };

export interface UsageRow extends BudgetRow {
  teamId: string;
  periodStart: string;
  periodEnd: string;
  /** The period's limit, its allowance and the raises active at the time read. */
  limitWithAllowanceMc: number;
  chargedMc: number;
  heldMc: number;
  /** Those raises (json), soonest end first; absent where a query does not list them. */
  raises?: RaiseRow[] | string;
}

/** A temporary raise as stored (budget_raises). */
export interface RaiseRow {
  id: number;
  budgetId: number;
  amountMc: number;
  startsAt: string;
  endsAt: string;
  grantedBy: string;
  approvalId: string | null;
}

/** jsonb arrives parsed from postgres.js and as text from some paths; accept both. */
export function json<T>(value: unknown): T {
  return (typeof value === 'string' && value !== '' ? JSON.parse(value) : value) as T;
}

/** Errors the ledger functions raise on purpose (unknown hold or budget, commit after release). */
const LEDGER_ERRORS = new Set(['P0002', '25000']);

/** Runs a ledger function; a refusal it raises on purpose becomes a LedgerError with its own message. */
async function callFunction<T>(db: Db, query: ReturnType<typeof sql>): Promise<T> {
  try {
    const [row] = await rows<{ r: unknown }>(db, query);
    return json<T>(row!.r);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    if (cause?.code && LEDGER_ERRORS.has(cause.code)) throw new LedgerError(cause.message ?? String(error));
    throw error;
  }
}

/** Each batch through ledger_reserve, in order, in one statement. */
export function reserveEach(db: Db, teamId: string, batches: object[][], now: Date): Promise<ReserveOutcome[]> {
  return callFunction(
    db,
    sql`select ledger_reserve_each(${teamId}, ${JSON.stringify(batches)}::jsonb, ${now.toISOString()}::timestamptz) as r`,
  );
}

export interface Settlement {
  holdId: string;
  status: 'committed' | 'released';
  actualMc: Millicredits | null;
  reason: string | null;
  now: Date;
}

/** `settled` false: the hold was settled before, as `status` says, and nothing changed. */
export type SettleOutcome = { events: EventRow[]; settled: boolean; status: 'committed' | 'released' };

export function settle(db: Db, { holdId, status, actualMc, reason, now }: Settlement): Promise<SettleOutcome> {
  return callFunction(
    db,
    sql`select ledger_settle(${holdId}::uuid, ${status}::hold_status, ${actualMc}::bigint, ${reason}::text, ${now.toISOString()}::timestamptz) as r`,
  );
}

export async function adjust(
  db: Db,
  budgetId: number,
  amountMc: Millicredits,
  by: string,
  why: string,
  now: Date,
): Promise<void> {
  await db.transaction(async (tx) => {
    const at = now.toISOString();
    await callFunction(
      tx,
      sql`
      select ledger_adjust(${budgetId}::bigint, ${amountMc}::bigint, ${by}, ${why}, ${at}::timestamptz) as r`,
    );
    const [budget] = await rows<{ teamId: string }>(
      tx,
      sql`
      select team_id as "teamId" from budgets where id = ${budgetId}`,
    );
    const teamId = budget!.teamId;
    const change = { teamId, subject: 'adjustment' as const, budgetId, oldValue: null, newValue: amountMc };
    await recordChanges(tx, [change], { by, why }, now);
  });
}

/**
 * Grants a temporary raise on a person's or channel's budget from `now` until `endsAt`, with its audit record
 * (the limit in force now, and the limit with the raise), in one transaction.
 */
export async function raise(
  db: Db,
  input: { budgetId: number; amountMc: Millicredits; endsAt: Date; by: string; why: string; approvalId?: string },
  now: Date,
): Promise<RaiseRow> {
  return db.transaction(async (tx) => {
    const [before] = await usageWhere(tx, sql`b.id = ${input.budgetId}`, now);
    if (!before) throw new LedgerError(`there is no budget ${input.budgetId}`);
    if (before.scope !== 'user' && before.scope !== 'channel')
      throw new LedgerError(`only a person's or a channel's budget can be raised, not a ${before.scope} budget`);
    const [raised] = await rows<RaiseRow>(
      tx,
      sql`
      insert into budget_raises as r (team_id, budget_id, amount_mc, starts_at, ends_at, granted_by, approval_id, reason, created_at)
      values (${before.teamId}, ${input.budgetId}, ${input.amountMc}, ${now.toISOString()}::timestamptz,
              ${input.endsAt.toISOString()}::timestamptz, ${input.by}, ${input.approvalId ?? null}, ${input.why},
              ${now.toISOString()}::timestamptz)
      returning ${raiseColumns}`,
    );
    const limitMc = Number(before.limitWithAllowanceMc);
    const change = {
      teamId: before.teamId,
      subject: 'raise' as const,
      budgetId: input.budgetId,
      oldValue: limitMc,
      newValue: { limitMc: limitMc + input.amountMc, amountMc: input.amountMc, endsAt: input.endsAt.toISOString() },
    };
    await recordChanges(tx, [change], { by: input.by, why: input.why }, now);
    return raised!;
  });
}

const workspaceColumns = sql`team_id as "teamId", timezone, alerts_channel_id as "alertsChannelId",
  confirm_threshold_mc as "confirmThresholdMc", pending_timezone as "pendingTimezone",
  timezone_effective_at as "timezoneEffectiveAt"`;

/** Creates the workspace and its default daily budget once; returns it either way, and whether this call created it. */
export async function ensureWorkspace(
  db: Db,
  teamId: string,
  defaults: { timezone: string; dailyLimitMc: Millicredits; confirmThresholdMc: Millicredits | null },
  now: Date,
): Promise<{ workspace: WorkspaceSettings; created: boolean }> {
  const { timezone, dailyLimitMc, confirmThresholdMc } = defaults;
  const [created] = await rows<WorkspaceSettings>(
    db,
    sql`
    with ws as (
      insert into workspaces (team_id, timezone, confirm_threshold_mc) values (${teamId}, ${timezone}, ${confirmThresholdMc}::bigint)
      on conflict do nothing returning *
    ), budget as (
      insert into budgets (team_id, scope, scope_id, period, limit_mc, updated_by)
      select team_id, 'workspace', team_id, 'day', ${dailyLimitMc}, 'default' from ws
    )
    select ${workspaceColumns} from ws`,
  );
  if (created) return { workspace: created, created: true };
  // It existed (or a concurrent call created it first, committed by now: ON CONFLICT waited for it). A timezone
  // change whose time has come is applied first.
  await db.execute(sql`select workspace_timezone(${teamId}, ${now.toISOString()}::timestamptz)`);
  const [existing] = await rows<WorkspaceSettings>(
    db,
    sql`select ${workspaceColumns} from workspaces where team_id = ${teamId}`,
  );
  return { workspace: existing!, created: false };
}

export async function setConfirmThreshold(db: Db, teamId: string, thresholdMc: Millicredits | null): Promise<void> {
  await db.execute(sql`update workspaces set confirm_threshold_mc = ${thresholdMc}::bigint where team_id = ${teamId}`);
}

export async function updateWorkspace(db: Db, teamId: string, change: { alertsChannelId?: string }): Promise<void> {
  await db.execute(sql`
    update workspaces set alerts_channel_id = coalesce(${change.alertsChannelId ?? null}, alerts_channel_id)
    where team_id = ${teamId}`);
}

/**
 * The workspace moves to `timezone` at the next boundary of its longest budget period, in the zone it has now:
 * every current period keeps its start and ends as it would have. The same zone again cancels a pending move.
 * Returns the zone in force now and when the new one applies.
 */
export async function scheduleTimezone(
  db: Db,
  teamId: string,
  timezone: string,
  now: Date,
): Promise<{ from: string; effectiveAt: Date }> {
  const at = sql`${now.toISOString()}::timestamptz`;
  const [row] = await rows<{ from: string; effectiveAt: string | Date }>(
    db,
    sql`
    update workspaces w set
      pending_timezone = nullif(${timezone}, w.timezone),
      timezone_effective_at = case when ${timezone} = w.timezone then null else
        budget_period_end(
          coalesce((select max(b.period) from budgets b where b.team_id = w.team_id), 'day'), ${at}, w.timezone)
      end
    where team_id = ${teamId}
    returning w.timezone as "from", coalesce(w.timezone_effective_at, ${at}) as "effectiveAt"`,
  );
  return { from: row!.from, effectiveAt: new Date(row!.effectiveAt) };
}

const budgetColumns = sql`b.id, b.team_id as "teamId", b.scope, b.scope_id as "scopeId", b.period, b.limit_mc as "limitMc", b.hard, b.thresholds`;

/**
 * Creates or changes a budget; the current period's limit follows (closed periods keep theirs) and each
 * change to it is recorded as a 'limit' entry. Two statements: the second reads the period only once the
 * budget row is ours, so a period that a concurrent reservation was opening with the old limit (it holds
 * the budget row FOR SHARE meanwhile) is seen and changed too.
 */
export async function upsertBudget(db: Db, input: BudgetInput, now: Date): Promise<BudgetRow> {
  const thresholds = input.thresholds ? `{${input.thresholds.join(',')}}` : null;
  return db.transaction(async (tx) => {
    // What it was, for the audit trail (locked: a concurrent change is recorded from what this one left).
    const [before] = await rows<BudgetRow>(
      tx,
      sql`
      select ${budgetColumns} from budgets b
      where b.team_id = ${input.teamId} and b.scope = ${input.scope} and b.scope_id = ${input.scopeId}
        and b.period = ${input.period}
      for update`,
    );
    const [budget] = await rows<BudgetRow>(
      tx,
      sql`
      insert into budgets as b (team_id, scope, scope_id, period, limit_mc, thresholds, hard, updated_by)
      values (${input.teamId}, ${input.scope}, ${input.scopeId}, ${input.period}, ${input.limitMc},
              coalesce(${thresholds}::integer[], '{80,100}'), coalesce(${input.hard ?? null}::boolean, true), ${input.by})
      on conflict (team_id, scope, scope_id, period) do update set
        limit_mc = excluded.limit_mc,
        thresholds = coalesce(${thresholds}::integer[], b.thresholds),
        hard = coalesce(${input.hard ?? null}::boolean, b.hard),
        updated_by = excluded.updated_by,
        updated_at = now()
      returning ${budgetColumns}`,
    );
    const { id, limitMc, hard } = budget!;
    // A new budget counts what its scope already spent in the current period (sql/12_budget_opening.sql).
    if (!before)
      await tx.execute(sql`select ledger_open_budget(${id}, ${input.by}, ${now.toISOString()}::timestamptz)`);
    await tx.execute(sql`
      with current_period as (
        select p.budget_id, p.period_start, p.limit_mc, p.hard, p.charged_mc
        from budget_periods p join budgets b on b.id = p.budget_id join workspaces w on w.team_id = b.team_id
        where p.budget_id = ${id} and p.period_start = budget_period_start(b.period, ${now.toISOString()}::timestamptz, w.timezone)
        for update of p
      ), changed as (
        update budget_periods p set limit_mc = ${limitMc}, hard = ${hard}
        from current_period c
        where p.budget_id = c.budget_id and p.period_start = c.period_start
      ), recorded as (
        -- Who changed it, from what to what; and what it had honoured so far, for checkInvariants.
        insert into ledger_entries (team_id, budget_id, period_start, kind, amount_mc, charged_delta_mc, actor, memo, created_at)
        select ${input.teamId}, c.budget_id, c.period_start, 'limit',
               case when c.hard then c.limit_mc else greatest(c.limit_mc, c.charged_mc) end, 0, ${input.by},
               format('limit %s → %s mc%s', c.limit_mc, ${limitMc}::bigint, case when c.hard = ${hard} then '' when ${hard} then ', now hard' else ', now soft' end),
               ${now.toISOString()}::timestamptz
        from current_period c
        where c.limit_mc <> ${limitMc} or c.hard <> ${hard}
      )
      select 1`);
    const author = { by: input.by, why: input.why };
    await recordChanges(tx, budgetChanges(input.teamId, Number(id), before, budget!), author, now);
    return budget!;
  });
}

export function budgetsOf(db: Db, teamId: string): Promise<BudgetRow[]> {
  return rows<BudgetRow>(
    db,
    sql`
    select ${budgetColumns} from budgets b where b.team_id = ${teamId}
    order by b.scope, b.scope_id, b.period`,
  );
}

export function budgetsById(db: Db, ids: number[]): Promise<BudgetRow[]> {
  return rows<BudgetRow>(
    db,
    sql`select ${budgetColumns} from budgets b where b.id = any(${`{${ids.join(',')}}`}::bigint[])`,
  );
}

const raiseColumns = sql`r.id, r.budget_id as "budgetId", r.amount_mc as "amountMc", r.starts_at as "startsAt",
  r.ends_at as "endsAt", r.granted_by as "grantedBy", r.approval_id as "approvalId"`;

/**
 * Usage of each matching budget in the period containing `at`; held is the sum of its open holds. The limit
 * counts the raises active at `at`, which are listed too.
 */
async function usageWhere(db: Db, where: ReturnType<typeof sql>, at: Date): Promise<UsageRow[]> {
  const when = sql`${at.toISOString()}::timestamptz`;
  return rows<UsageRow>(
    db,
    sql`
    select ${budgetColumns}, pb.start as "periodStart", pb.end as "periodEnd",
           coalesce(p.limit_mc, b.limit_mc) + coalesce(p.allowance_mc, 0) + budget_raised(b.id, ${when}) as "limitWithAllowanceMc",
           (select coalesce(json_agg(x order by x."endsAt", x.id), '[]') from (
              select ${raiseColumns} from budget_raises r
              where r.budget_id = b.id and r.starts_at <= ${when} and r.ends_at > ${when}) x) as raises,
           coalesce(p.charged_mc, 0) as "chargedMc",
           (select coalesce(sum(e.amount_mc), 0) from ledger_entries e join holds h on h.id = e.hold_id
            where e.budget_id = b.id and e.period_start = pb.start and e.kind = 'reserve' and h.status = 'open') as "heldMc"
    from budgets b
    join workspaces w on w.team_id = b.team_id
    cross join lateral (select budget_period_start(b.period, ${at.toISOString()}::timestamptz, w.timezone) as start,
                               budget_period_end(b.period, ${at.toISOString()}::timestamptz, w.timezone) as end) pb
    left join budget_periods p on p.budget_id = b.id and p.period_start = pb.start
    where ${where}
    order by b.scope desc, b.period, b.scope_id`,
  );
}

export function usageOfBudgets(db: Db, budgetIds: number[], at: Date): Promise<UsageRow[]> {
  return usageWhere(db, sql`b.id in ${budgetIds}`, at); // drizzle expands the array into ($1, $2, …)
}

/**
 * Every budget that applies to this user in this channel: the workspace's, the channel's, the user's, and the
 * project tag's when the request carries one.
 */
export function usageOfScope(db: Db, scope: RequestScope & { tag?: string }, at: Date): Promise<UsageRow[]> {
  const tag = scope.tag ? sql`or (b.scope = 'tag' and b.scope_id = ${scope.tag})` : sql``;
  return usageWhere(
    db,
    sql`b.team_id = ${scope.teamId} and (b.scope = 'workspace'
      or (b.scope = 'channel' and b.scope_id = ${scope.channelId}) or (b.scope = 'user' and b.scope_id = ${scope.userId})
      ${tag})`,
    at,
  );
}

export function undeliveredAlerts(
  db: Db,
  teamId?: string,
): Promise<(EventRow & { budget: BudgetRow; raisedIn: string })[]> {
  return rows(
    db,
    sql`
    select a.kind, a.budget_id as "budgetId", a.period_start as "periodStart", a.threshold, a.charged_mc as "chargedMc",
           a.limit_mc as "limitMc", a.triggered_by as "triggeredBy", a.detail, a.created_at::text as "raisedIn",
           to_json(a.generation_ids) as "generationIds",
           json_build_object('id', b.id, 'teamId', b.team_id, 'scope', b.scope, 'scopeId', b.scope_id, 'period', b.period,
                             'limitMc', b.limit_mc, 'hard', b.hard, 'thresholds', b.thresholds) as budget
    from budget_alerts a join budgets b on b.id = a.budget_id
    where a.delivered_at is null and (a.claimed_until is null or a.claimed_until < now())
      ${teamId ? sql`and a.team_id = ${teamId}` : sql``}
    order by a.created_at, a.budget_id, a.threshold`,
  );
}

export interface AlertKey {
  budgetId: number;
  periodStart: Date;
  kind: string;
  threshold: number;
}

const isAlert = (key: AlertKey) => sql`budget_id = ${key.budgetId}
  and period_start = ${key.periodStart.toISOString()}::timestamptz
  and kind = ${key.kind}::budget_alert_kind and threshold = ${key.threshold}`;

/**
 * The alert outboxes (budget_alerts, spike_alerts): a row is claimed for a lease before it is posted, then marked
 * delivered with where it landed, so a replica that dies mid-post leaves it to another once the lease runs out.
 */
type Outbox = 'budget_alerts' | 'spike_alerts';

async function claimOutboxRow(db: Db, table: Outbox, where: SQL, leaseMs: number): Promise<boolean> {
  const claimed = await rows(
    db,
    sql`
    update ${sql.identifier(table)} set claimed_until = now() + ${leaseMs} * interval '1 millisecond'
    where ${where} and delivered_at is null and (claimed_until is null or claimed_until < now())
    returning 1`,
  );
  return claimed.length > 0;
}

/** Slack ids never hold a comma: the list travels as one parameter (drizzle would spread an array into many). */
const idArray = (ids: string[]) => sql`string_to_array(${ids.join(',')}, ',')`;

async function markOutboxDelivered(db: Db, table: Outbox, where: SQL, to: string[]): Promise<void> {
  await db.execute(
    sql`update ${sql.identifier(table)} set delivered_at = now(), delivered_to = ${idArray(to)}
    where ${where} and delivered_at is null`,
  );
}

/**
 * Claims the alerts of one message together: locked in key order in one statement, so of two replicas draining the
 * same group one claims it whole and the other none (claimed one by one, each could post a part). Returns the
 * keys claimed now.
 */
export async function claimAlerts(db: Db, keys: AlertKey[], leaseMs: number): Promise<AlertKey[]> {
  const claimed = await rows<{ budgetId: number; periodStart: string; kind: string; threshold: number }>(
    db,
    sql`
    with wanted as (
      select * from jsonb_to_recordset(${JSON.stringify(keys)}::jsonb)
        as k("budgetId" bigint, "periodStart" timestamptz, kind budget_alert_kind, threshold integer)
    ), locked as (
      select a.budget_id, a.period_start, a.kind, a.threshold from budget_alerts a
      join wanted k on a.budget_id = k."budgetId" and a.period_start = k."periodStart" and a.kind = k.kind
        and a.threshold = k.threshold
      where a.delivered_at is null and (a.claimed_until is null or a.claimed_until < now())
      order by a.budget_id, a.period_start, a.kind, a.threshold
      for update of a
    )
    update budget_alerts a set claimed_until = now() + ${leaseMs} * interval '1 millisecond'
    from locked l
    where a.budget_id = l.budget_id and a.period_start = l.period_start and a.kind = l.kind and a.threshold = l.threshold
    returning a.budget_id as "budgetId", a.period_start as "periodStart", a.kind::text as kind, a.threshold`,
  );
  return claimed.map((c) => ({ ...c, periodStart: new Date(c.periodStart) }));
}

export const markAlertDelivered = (db: Db, key: AlertKey, to: string[]) =>
  markOutboxDelivered(db, 'budget_alerts', isAlert(key), to);

export interface PaceRow {
  budgetId: number;
  periodStart: string;
  firstChargeAt: string | null;
  recentMc: number;
}

/**
 * For each budget period: its first charge and the net charge since `since`, from the ledger's entries
 * (reserve, commit and release each move charged_mc by charged_delta_mc).
 */
export function paces(db: Db, periods: { budgetId: number; periodStart: Date; since: Date }[]): Promise<PaceRow[]> {
  const array = (values: (number | string)[]) => `{${values.join(',')}}`;
  return rows<PaceRow>(
    db,
    sql`
    select x.budget_id as "budgetId", x.period_start as "periodStart",
           min(e.created_at) filter (where e.charged_delta_mc > 0) as "firstChargeAt",
           coalesce(sum(e.charged_delta_mc) filter (where e.created_at > x.since), 0) as "recentMc"
    from unnest(${array(periods.map((p) => p.budgetId))}::bigint[],
                ${array(periods.map((p) => p.periodStart.toISOString()))}::timestamptz[],
                ${array(periods.map((p) => p.since.toISOString()))}::timestamptz[]) as x(budget_id, period_start, since)
    left join ledger_entries e on e.budget_id = x.budget_id and e.period_start = x.period_start
    group by x.budget_id, x.period_start`,
  );
}

/**
 * The current periods that may still need a forecast alert: charged, with a limit, in a workspace that
 * wants forecasts, and without a forecast, exhausted or 100% alert yet.
 */
export function forecastCandidates(db: Db, now: Date): Promise<UsageRow[]> {
  return rows<UsageRow>(
    db,
    sql`
    select ${budgetColumns}, p.period_start as "periodStart", p.period_end as "periodEnd",
           p.limit_mc + p.allowance_mc + budget_raised(b.id, ${now.toISOString()}::timestamptz) as "limitWithAllowanceMc",
           p.charged_mc as "chargedMc", 0 as "heldMc"
    from budgets b
    join workspaces w on w.team_id = b.team_id
    -- from the budgets, each current period by its key: closed periods pile up, budgets do not
    join budget_periods p on p.budget_id = b.id
     and p.period_start = budget_period_start(b.period, ${now.toISOString()}::timestamptz, w.timezone)
    where w.forecast_alerts and p.charged_mc > 0 and p.limit_mc + p.allowance_mc > 0
      and not exists (select 1 from budget_alerts a where a.budget_id = p.budget_id and a.period_start = p.period_start
                      and (a.kind in ('forecast', 'exhausted') or (a.kind = 'threshold' and a.threshold >= 100)))`,
  );
}

/**
 * Claims a period's forecast alert, once: not when it already had one, nor a 100% or exhausted alert.
 * Names the period's three biggest spenders (committed + held, by the person who asked).
 */
export async function claimForecast(
  db: Db,
  claim: {
    teamId: string;
    budgetId: number;
    periodStart: Date;
    chargedMc: number;
    limitMc: number;
    runsOutAt: Date;
    projectedMc: number;
  },
): Promise<boolean> {
  const start = claim.periodStart.toISOString();
  const sameOrLater = sql`select 1 from budget_alerts a where a.budget_id = ${claim.budgetId} and a.period_start = ${start}::timestamptz
                          and (a.kind = 'exhausted' or (a.kind = 'threshold' and a.threshold >= 100))`;
  const claimed = await rows(
    db,
    sql`
    with spenders as (
      select h.user_id, sum(e.charged_delta_mc) as charged
      from ledger_entries e join holds h on h.id = e.hold_id
      where e.budget_id = ${claim.budgetId} and e.period_start = ${start}::timestamptz
      group by h.user_id having sum(e.charged_delta_mc) > 0
      order by charged desc, h.user_id limit 3
    )
    insert into budget_alerts
      (budget_id, period_start, kind, threshold, team_id, triggered_by, charged_mc, limit_mc, detail)
    select ${claim.budgetId}, ${start}::timestamptz, 'forecast', 0, ${claim.teamId},
           coalesce((select user_id from spenders order by charged desc, user_id limit 1), 'forecast'),
           ${claim.chargedMc}, ${claim.limitMc},
           jsonb_build_object('runsOutAt', ${claim.runsOutAt.toISOString()}::timestamptz,
             'projectedMc', ${claim.projectedMc}::bigint,
             'spenders', (select coalesce(jsonb_agg(jsonb_build_object('userId', user_id, 'chargedMc', charged)
                                                    order by charged desc, user_id), '[]') from spenders))
    where not exists (${sameOrLater})
    on conflict do nothing
    returning 1`,
  );
  return claimed.length > 0;
}

/** Forecast alerts on or off; spike alerts with their factor and minimum, or off (null). */
export interface AlertSettingsChange {
  forecastAlerts?: boolean;
  spikes?: { factor: number; minMc: Millicredits } | null;
}

export async function setAlertSettings(db: Db, teamId: string, change: AlertSettingsChange): Promise<void> {
  const spikes = change.spikes;
  await db.execute(sql`
    update workspaces set
      forecast_alerts = coalesce(${change.forecastAlerts ?? null}::boolean, forecast_alerts),
      spike_alerts = ${spikes === undefined ? sql`spike_alerts` : sql`${spikes !== null}`},
      spike_factor = ${spikes ? sql`${spikes.factor}::real` : sql`spike_factor`},
      spike_min_mc = ${spikes ? sql`${spikes.minMc}::bigint` : sql`spike_min_mc`}
    where team_id = ${teamId}`);
}

export interface SpikeRow {
  teamId: string;
  kind: 'user' | 'channel';
  subjectId: string;
  day: string;
  dayStart: string;
  dayEnd: string;
  todayMc: number;
  medianMc: number;
  factor: number;
}

/**
 * People and channels whose spending today (committed + held, by hold creation in the workspace's day) is
 * above the factor times the median of their 14 days before and above the minimum, not yet alerted today.
 */
export function spikeCandidates(
  db: Db,
  now: Date,
  defaults: { factor: number; minMc: Millicredits },
): Promise<SpikeRow[]> {
  const at = now.toISOString();
  return rows<SpikeRow>(
    db,
    sql`
    with ws as (
      select team_id, timezone as tz, coalesce(spike_factor, ${defaults.factor})::float8 as factor,
             coalesce(spike_min_mc, ${defaults.minMc}) as min_mc,
             (${at}::timestamptz at time zone timezone)::date as today
      from workspaces where spike_alerts
    ), daily as (
      select h.team_id, s.kind, s.id, (h.created_at at time zone ws.tz)::date as day,
             sum(case h.status when 'committed' then h.actual_mc when 'open' then h.amount_mc else 0 end) as mc
      from ws
      join holds h on h.team_id = ws.team_id and h.created_at >= (ws.today - 14)::timestamp at time zone ws.tz
                  and h.created_at <= ${at}::timestamptz
      cross join lateral (values ('user', h.user_id), ('channel', h.channel_id)) as s(kind, id)
      where coalesce(s.id, '') <> ''
      group by 1, 2, 3, 4
    ), today as (
      select d.*, ws.factor, ws.tz from daily d join ws on ws.team_id = d.team_id and d.day = ws.today
      where d.mc > ws.min_mc
    )
    select t.team_id as "teamId", t.kind, t.id as "subjectId", t.day::text as day,
           t.day::timestamp at time zone t.tz as "dayStart", (t.day + 1)::timestamp at time zone t.tz as "dayEnd",
           t.mc as "todayMc", round(m.median)::bigint as "medianMc", t.factor
    from today t
    cross join lateral (
      select percentile_cont(0.5) within group (order by coalesce(d.mc, 0)) as median
      from generate_series(1, 14) as g(n)
      left join daily d on d.team_id = t.team_id and d.kind = t.kind and d.id = t.id and d.day = t.day - g.n
    ) m
    where t.mc > t.factor * m.median
      and not exists (select 1 from spike_alerts a where a.team_id = t.team_id and a.subject_kind = t.kind
                      and a.subject_id = t.id and a.day = t.day)
    order by t.team_id, t.kind, t.id`,
  );
}

/** Claims the subject's spike alert for its day, once; false when it already had one. */
export async function claimSpike(db: Db, spike: SpikeRow, detail: object): Promise<boolean> {
  const claimed = await rows(
    db,
    sql`
    insert into spike_alerts (team_id, subject_kind, subject_id, day, today_mc, median_mc, detail)
    values (${spike.teamId}, ${spike.kind}, ${spike.subjectId}, ${spike.day}::date, ${spike.todayMc}, ${spike.medianMc},
            ${JSON.stringify({ ...detail, factor: spike.factor, dayStart: spike.dayStart, dayEnd: spike.dayEnd })}::jsonb)
    on conflict do nothing
    returning 1`,
  );
  return claimed.length > 0;
}

export type SpikeAlertRow = Omit<SpikeRow, 'dayStart' | 'dayEnd' | 'factor'> & { detail: unknown };

export function undeliveredSpikes(db: Db, teamId?: string): Promise<SpikeAlertRow[]> {
  return rows(
    db,
    sql`
    select team_id as "teamId", subject_kind as kind, subject_id as "subjectId", day::text as day,
           today_mc as "todayMc", median_mc as "medianMc", detail
    from spike_alerts
    where delivered_at is null and (claimed_until is null or claimed_until < now())
      ${teamId ? sql`and team_id = ${teamId}` : sql``}
    order by created_at, team_id, subject_kind, subject_id`,
  );
}

export interface SpikeKey {
  teamId: string;
  kind: string;
  subjectId: string;
  day: string;
}

const isSpike = (key: SpikeKey) => sql`team_id = ${key.teamId} and subject_kind = ${key.kind}
  and subject_id = ${key.subjectId} and day = ${key.day}::date`;

export const claimSpikeAlert = (db: Db, key: SpikeKey, leaseMs: number) =>
  claimOutboxRow(db, 'spike_alerts', isSpike(key), leaseMs);

export const markSpikeDelivered = (db: Db, key: SpikeKey, to: string[]) =>
  markOutboxDelivered(db, 'spike_alerts', isSpike(key), to);

/** The videos behind a subject's spending in [from, to): their holds' generations, released ones left out. */
export async function spendingGenerations(
  db: Db,
  teamId: string,
  subject: { kind: 'user' | 'channel'; id: string },
  from: Date,
  to: Date,
): Promise<string[]> {
  const who = subject.kind === 'user' ? sql`user_id = ${subject.id}` : sql`channel_id = ${subject.id}`;
  const found = await rows<{ id: string }>(
    db,
    sql`
    select generation_id as id from holds
    where team_id = ${teamId} and ${who} and status <> 'released' and generation_id is not null
      and created_at >= ${from.toISOString()}::timestamptz and created_at < ${to.toISOString()}::timestamptz`,
  );
  return found.map((r) => r.id);
}

/** Actual costs committed in [from, to) across every workspace, and when the first of them was committed. */
export async function committedBetween(
  db: Db,
  from: Date,
  to: Date,
): Promise<{ mc: Millicredits; firstAt: Date | null }> {
  const [row] = await rows<{ mc: number | null; firstAt: string | null }>(
    db,
    sql`
    select sum(actual_mc) as mc, min(settled_at) as "firstAt" from holds
    where status = 'committed' and settled_at >= ${from.toISOString()}::timestamptz and settled_at < ${to.toISOString()}::timestamptz`,
  );
  return { mc: mc(row?.mc ?? 0), firstAt: row?.firstAt ? new Date(row.firstAt) : null };
}
