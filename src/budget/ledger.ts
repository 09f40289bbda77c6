import { systemClock } from '../clock';
import type { Db } from '../db';
import { GroupCommit, transactionPerGroup } from '../db/group-commit';
import { mc, type Millicredits } from '../money/credits';
import { forecast, paceWindowStart, type Forecast, type PaceInput } from './forecast';
import { isTimezone } from './periods';
import { isTag } from './tags';
import { auditedSettings, recordChanges } from './audit';
import { LedgerReports } from './reports';
import * as store from './store';
import {
  LedgerError,
  type BudgetInput,
  type BudgetRaise,
  type BudgetRef,
  type ChangeAuthor,
  type CommitOutcome,
  type Hold,
  type LedgerEvent,
  type Refusal,
  type ReleaseOutcome,
  type RequestScope,
  type ReserveRequest,
  type ReserveResult,
  type Spike,
  type SpikeAlert,
  type SpikeDrivers,
  type Usage,
  type WorkspaceSettings,
} from './types';

export interface LedgerOptions {
  /** The clock; tests inject one to cross midnight. */
  now?: () => Date;
  /** Timezone of a workspace the ledger creates. */
  defaultTimezone?: string;
  /** Daily limit of the workspace budget a new workspace gets. */
  defaultDailyLimitMc?: Millicredits;
  /** Confirmation threshold a new workspace gets (CONFIRM_THRESHOLD); none by default. */
  defaultConfirmThresholdMc?: Millicredits;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Two-phase spending against every budget that applies: reserve → commit | release (README.md: the hold's life).
 * Each write is one statement. Every method takes an optional `tx` (a drizzle transaction) to be part of a
 * larger transaction, e.g. the queue's enqueue reserving and inserting its jobs at once.
 */
export class Ledger {
  private readonly now: () => Date;
  private readonly defaultTimezone: string;
  private readonly defaultDailyLimitMc: Millicredits;
  private readonly defaultConfirmThresholdMc: Millicredits | null;
  /** Workspaces known to exist, so a reservation costs one round trip. */
  private readonly knownTeams = new Set<string>();
  /** What the digest, /metrics and the worker's recovery read of the ledger. */
  readonly reports: LedgerReports;

  constructor(
    private readonly db: Db,
    options: LedgerOptions = {},
  ) {
    this.reports = new LedgerReports(db);
    this.now = options.now ?? systemClock;
    this.defaultTimezone = options.defaultTimezone ?? 'UTC';
    this.defaultDailyLimitMc = options.defaultDailyLimitMc ?? mc(100_000);
    this.defaultConfirmThresholdMc = options.defaultConfirmThresholdMc ?? null;
    if (!isTimezone(this.defaultTimezone)) throw new LedgerError(`"${this.defaultTimezone}" is not an IANA time zone`);
  }

  async ensureWorkspace(teamId: string, tx?: Db): Promise<WorkspaceSettings> {
    const { workspace, created } = await store.ensureWorkspace(
      tx ?? this.db,
      teamId,
      {
        timezone: this.defaultTimezone,
        dailyLimitMc: this.defaultDailyLimitMc,
        confirmThresholdMc: this.defaultConfirmThresholdMc,
      },
      this.now(),
    );
    // A row created inside a caller's transaction exists only if that transaction commits: not cached then.
    // One that was already there is committed, so the queue's group transactions stop asking again.
    if (!tx || !created) this.knownTeams.add(teamId);
    return workspace;
  }

  /**
   * Holds the requests against every budget that applies to each, or refuses them all. Outside a caller's
   * transaction, concurrent calls for one workspace are group-committed: they wait on the same hot period
   * row, so one transaction (one lock hand-over, one WAL flush) serves all that arrived meanwhile, each
   * call with its own result.
   */
  async reserve(requests: ReserveRequest | ReserveRequest[], tx?: Db): Promise<ReserveResult> {
    const batch = Array.isArray(requests) ? requests : [requests];
    const teamId = validateBatch(batch);
    if (tx) return (await this.reserveEach([batch], tx))[0]!;
    return this.reservations.submit(teamId, batch);
  }

  private readonly reservations = new GroupCommit<ReserveRequest[], ReserveResult>((batches) =>
    transactionPerGroup(this.db, batches, (tx, group) => this.reserveEach(group, tx)),
  );

  /**
   * Reserves several independent batches of one workspace, in order, each all-or-nothing as `reserve` and
   * each with its own result, in one statement: a group of reservations costs one round trip.
   */
  async reserveEach(batches: ReserveRequest[][], tx?: Db): Promise<ReserveResult[]> {
    if (!batches.length) return [];
    const teamIds = new Set(batches.map(validateBatch));
    if (teamIds.size !== 1) throw new LedgerError('the batches reserved together must be of one workspace');
    const [teamId] = teamIds as Set<string>;
    if (!this.knownTeams.has(teamId!)) await this.ensureWorkspace(teamId!, tx);
    const outcomes = await store.reserveEach(
      tx ?? this.db,
      teamId!,
      batches.map((batch) =>
        batch.map((r) => ({
          channelId: r.channelId,
          userId: r.userId,
          tag: r.tag,
          amountMc: r.amountMc,
          generationId: r.generationId,
          memo: r.memo,
        })),
      ),
      this.now(),
    );
    return outcomes.map((outcome, i) => toReserveResult(outcome, batches[i]!, teamId!));
  }

  /**
   * Charges the actual cost on the periods the hold was taken in. A second commit changes nothing and says so:
   * 'already-committed'. A released hold cannot be committed (LedgerError).
   */
  async commit(
    holdId: string,
    actualMc: Millicredits,
    tx?: Db,
  ): Promise<{ outcome: CommitOutcome; events: LedgerEvent[] }> {
    checkHoldId(holdId);
    checkAmount(actualMc, 'actual cost');
    const result = await store.settle(tx ?? this.db, {
      holdId,
      status: 'committed',
      actualMc,
      reason: null,
      now: this.now(),
    });
    if (!result.settled) return { outcome: 'already-committed', events: [] };
    return { outcome: 'committed', events: await this.withBudgets(result.events, tx) };
  }

  /**
   * Gives the hold back (failed task, cancel). A hold settled before stays as it is and the outcome says how:
   * 'already-released', or 'already-committed' (the charge stands).
   */
  async release(holdId: string, reason: string, tx?: Db): Promise<ReleaseOutcome> {
    checkHoldId(holdId);
    const result = await store.settle(tx ?? this.db, {
      holdId,
      status: 'released',
      actualMc: null,
      reason,
      now: this.now(),
    });
    if (result.settled) return 'released';
    return result.status === 'committed' ? 'already-committed' : 'already-released';
  }

  /** Raises the room of the budget's current period (an approval); recorded in the ledger with who and why. */
  async adjust(budgetId: number, amountMc: Millicredits, by: string, why: string, tx?: Db): Promise<void> {
    checkAmount(amountMc, 'adjustment');
    if (amountMc === 0) throw new LedgerError('an adjustment must raise the budget by more than 0');
    await store.adjust(tx ?? this.db, budgetId, amountMc, by, why, this.now());
  }

  /**
   * A temporary raise of a person's or channel's budget by `amountMc` in every period, for reservations made from
   * now until `endsAt` (README.md: raises); recorded in the audit trail with who and why.
   */
  async raise(
    input: { budgetId: number; amountMc: Millicredits; endsAt: Date; by: string; why: string; approvalId?: string },
    tx?: Db,
  ): Promise<BudgetRaise> {
    checkAmount(input.amountMc, 'raise');
    if (input.amountMc === 0) throw new LedgerError('a raise must add more than 0');
    const now = this.now();
    if (input.endsAt <= now) throw new LedgerError('a raise must end in the future');
    return toRaise(await store.raise(tx ?? this.db, input, now));
  }

  async setBudget(input: BudgetInput, tx?: Db): Promise<BudgetRef> {
    checkAmount(input.limitMc, 'limit');
    if (input.thresholds) {
      for (const t of input.thresholds) {
        if (!Number.isInteger(t) || t <= 0 || t > 1000)
          throw new LedgerError(`threshold ${t} must be a whole percent between 1 and 1000`);
      }
    }
    if (input.scope === 'tag' && !isTag(input.scopeId)) throw new LedgerError(`"${input.scopeId}" is not a tag`);
    await this.ensureWorkspace(input.teamId, tx);
    const scopeId = input.scope === 'workspace' ? input.teamId : input.scopeId;
    const thresholds = input.thresholds && [...new Set(input.thresholds)].sort((a, b) => a - b);
    const row = await store.upsertBudget(tx ?? this.db, { ...input, scopeId, thresholds }, this.now());
    return toBudgetRef(row, input.teamId);
  }

  /** Above this price a person confirms first; null: nobody is asked. */
  async setConfirmThreshold(
    teamId: string,
    thresholdMc: Millicredits | null,
    author: ChangeAuthor,
    tx?: Db,
  ): Promise<void> {
    if (thresholdMc !== null) checkAmount(thresholdMc, 'confirmation threshold');
    await this.ensureWorkspace(teamId, tx);
    await this.changeSettings(teamId, author, tx, (t) => store.setConfirmThreshold(t, teamId, thresholdMc));
  }

  async setAlertsChannel(teamId: string, channelId: string, author: ChangeAuthor, tx?: Db): Promise<void> {
    await this.ensureWorkspace(teamId, tx);
    const alertsChannelId = channelId;
    await this.changeSettings(teamId, author, tx, (t) => store.updateWorkspace(t, teamId, { alertsChannelId }));
  }

  /**
   * Periods start at midnight in this zone from the next boundary of the workspace's longest budget period on
   * (the current periods keep their start, and no counter is split); returns when that is.
   */
  async setTimezone(teamId: string, timezone: string, author: ChangeAuthor, tx?: Db): Promise<Date> {
    if (!isTimezone(timezone)) throw new LedgerError(`"${timezone}" is not an IANA time zone such as Europe/Berlin`);
    await this.ensureWorkspace(teamId, tx);
    const now = this.now();
    return (tx ?? this.db).transaction(async (t) => {
      const { from, effectiveAt } = await store.scheduleTimezone(t, teamId, timezone, now);
      const change = { teamId, subject: 'timezone' as const, oldValue: from, newValue: timezone };
      const why = [author.why, `applies from ${effectiveAt.toISOString()}`].filter(Boolean).join(' — ');
      if (from !== timezone) await recordChanges(t, [change], { by: author.by, why }, now);
      return effectiveAt;
    });
  }

  /** An admin's decision on a request for approval, for the audit trail (an approval's raise is its adjustment). */
  async recordDecision(
    teamId: string,
    decision: 'approval' | 'denial',
    request: string,
    author: ChangeAuthor,
    tx?: Db,
  ): Promise<void> {
    const change = { teamId, subject: decision, oldValue: null, newValue: request };
    await recordChanges(tx ?? this.db, [change], author, this.now());
  }

  /** A change to the workspace's settings, recorded in the audit trail in its own transaction. */
  private changeSettings(teamId: string, author: ChangeAuthor, tx: Db | undefined, change: (tx: Db) => Promise<void>) {
    return auditedSettings(tx ?? this.db, teamId, author, this.now(), change);
  }

  async budgets(teamId: string, tx?: Db): Promise<BudgetRef[]> {
    return (await store.budgetsOf(tx ?? this.db, teamId)).map((b) => toBudgetRef(b, teamId));
  }

  /** The budget's usage in the period containing `at` (default now), current or past. */
  async usage(budgetId: number, at: Date = this.now(), tx?: Db): Promise<Usage> {
    const [usage] = await this.usages([budgetId], at, tx);
    return usage!;
  }

  /** Several budgets' usage in one query, in the order asked. */
  async usages(budgetIds: number[], at: Date = this.now(), tx?: Db): Promise<Usage[]> {
    if (!budgetIds.length) return [];
    const byId = new Map(
      (await store.usageOfBudgets(tx ?? this.db, budgetIds, at)).map((row) => [row.id, toUsage(row)]),
    );
    return budgetIds.map((id) => {
      const usage = byId.get(id);
      if (!usage) throw new LedgerError(`there is no budget ${id}`);
      return usage;
    });
  }

  /**
   * Every budget that applies to this user in this channel, and to the request's project tag when it carries
   * one: the tag's first, then the user's, the channel's and the workspace's.
   */
  async usageFor(scope: RequestScope & { tag?: string }, at: Date = this.now(), tx?: Db): Promise<Usage[]> {
    return (await store.usageOfScope(tx ?? this.db, scope, at)).map(toUsage);
  }

  /** Where each budget's period is heading at its recent pace, in the order given (see forecast.ts). */
  async forecasts(usages: Usage[], at: Date = this.now(), tx?: Db): Promise<Forecast[]> {
    const paceOf = await this.paces(usages, at, tx);
    return usages.map((u) => forecast({ ...u, now: at, ...paceOf(u) }));
  }

  /**
   * Claims a forecast alert for each current period now expected to run out before it ends (once per
   * budget and period, whichever replica gets there first). Returns the teams with new alerts.
   */
  async claimForecastAlerts(at: Date = this.now(), tx?: Db): Promise<string[]> {
    const db = tx ?? this.db;
    // One snapshot for the charge and its pace: a reservation landing between two reads would otherwise
    // pair a pace that includes it with a charge that does not.
    const { candidates, paceOf } = await db.transaction(
      async (snapshot) => {
        const periods = (await store.forecastCandidates(snapshot, at)).map(toUsage);
        return { candidates: periods, paceOf: await this.paces(periods, at, snapshot) };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
    const teams = new Set<string>();
    for (const u of candidates) {
      const expected = forecast({ ...u, now: at, ...paceOf(u) });
      if (expected.kind !== 'runs-out') continue;
      const claimed = await store.claimForecast(db, {
        teamId: u.budget.teamId,
        budgetId: u.budget.id,
        periodStart: u.periodStart,
        chargedMc: u.chargedMc,
        limitMc: u.limitMc,
        runsOutAt: expected.at,
        projectedMc: expected.projectedMc,
      });
      if (claimed) teams.add(u.budget.teamId);
    }
    return [...teams];
  }

  /** One query for the pace of every period given; returns each one's first charge and recent charge. */
  private async paces(
    usages: Usage[],
    at: Date,
    tx?: Db,
  ): Promise<(u: Usage) => Pick<PaceInput, 'recentMc' | 'firstChargeAt'>> {
    if (!usages.length) return () => ({ recentMc: mc(0) });
    const periods = usages.map((u) => ({
      budgetId: u.budget.id,
      periodStart: u.periodStart,
      since: paceWindowStart(u, at),
    }));
    const rows = await store.paces(tx ?? this.db, periods);
    const byPeriod = new Map(rows.map((r) => [key(Number(r.budgetId), new Date(r.periodStart)), r]));
    return (u) => {
      const row = byPeriod.get(key(u.budget.id, u.periodStart));
      const recentMc = mc(row?.recentMc ?? 0);
      return row?.firstChargeAt ? { recentMc, firstChargeAt: new Date(row.firstChargeAt) } : { recentMc };
    };
  }

  /**
   * People and channels spending today far above their usual day (see store.spikeCandidates) that have no
   * spike alert today yet. `defaults` are SPIKE_FACTOR and SPIKE_MIN_CREDITS, for workspaces that set neither.
   */
  async spikes(defaults: { factor: number; minMc: Millicredits }, at: Date = this.now(), tx?: Db): Promise<Spike[]> {
    return (await store.spikeCandidates(tx ?? this.db, at, defaults)).map((r) => ({
      teamId: r.teamId,
      subject: { kind: r.kind, id: r.subjectId },
      day: r.day,
      dayStart: new Date(r.dayStart),
      dayEnd: new Date(r.dayEnd),
      todayMc: mc(r.todayMc),
      medianMc: mc(r.medianMc),
      factor: Number(r.factor),
    }));
  }

  /** Claims the spike's alert once per subject and day, with what drove it; false when another got there first. */
  async claimSpike(spike: Spike, drivers: SpikeDrivers, tx?: Db): Promise<boolean> {
    const row = {
      teamId: spike.teamId,
      kind: spike.subject.kind,
      subjectId: spike.subject.id,
      day: spike.day,
      todayMc: spike.todayMc,
      medianMc: spike.medianMc,
      factor: spike.factor,
      dayStart: spike.dayStart.toISOString(),
      dayEnd: spike.dayEnd.toISOString(),
    };
    return store.claimSpike(tx ?? this.db, row, drivers);
  }

  /** The generations whose holds make up the spike's spending. */
  spikeGenerations(spike: Spike, tx?: Db): Promise<string[]> {
    return store.spendingGenerations(tx ?? this.db, spike.teamId, spike.subject, spike.dayStart, spike.dayEnd);
  }

  /** Spike alerts found but not yet posted that no replica is posting now, oldest first. */
  async undeliveredSpikes(teamId?: string, tx?: Db): Promise<SpikeAlert[]> {
    return (await store.undeliveredSpikes(tx ?? this.db, teamId)).map((r) => {
      const detail = store.json<SpikeDrivers & { factor: number; dayStart: string; dayEnd: string }>(r.detail);
      return {
        teamId: r.teamId,
        subject: { kind: r.kind, id: r.subjectId },
        day: r.day,
        dayStart: new Date(detail.dayStart),
        dayEnd: new Date(detail.dayEnd),
        todayMc: mc(r.todayMc),
        medianMc: mc(r.medianMc),
        factor: Number(detail.factor),
        drivers: { mix: detail.mix, reruns: detail.reruns },
      };
    });
  }

  /** Claims a spike alert for `leaseMs` before it is posted, as claimAlert does for budget alerts. */
  async claimSpikeAlert(spike: Spike, leaseMs: number, tx?: Db): Promise<boolean> {
    return store.claimSpikeAlert(tx ?? this.db, spikeKey(spike), leaseMs);
  }

  /** `to`: where it was posted (the alerts channel, or the admins it was sent to by DM). */
  async markSpikeDelivered(spike: Spike, to: string[], tx?: Db): Promise<void> {
    await store.markSpikeDelivered(tx ?? this.db, spikeKey(spike), to);
  }

  /** Switches forecast alerts on or off, or sets the spike alerts' factor and minimum (null: off). */
  async setAlertSettings(
    teamId: string,
    change: store.AlertSettingsChange,
    author: ChangeAuthor,
    tx?: Db,
  ): Promise<void> {
    if (change.spikes && !(change.spikes.factor > 1)) throw new LedgerError('the spike factor must be more than 1');
    if (change.spikes) checkAmount(change.spikes.minMc, 'spike minimum');
    await this.ensureWorkspace(teamId, tx);
    await this.changeSettings(teamId, author, tx, (t) => store.setAlertSettings(t, teamId, change));
  }

  /**
   * What every workspace committed in [from, to) (default: until now), and when the first of it was: what the
   * Kling account's packs paid, as far as the ledger knows.
   */
  async committedBetween(
    from: Date,
    to: Date = this.now(),
    tx?: Db,
  ): Promise<{ mc: Millicredits; firstAt: Date | null }> {
    return store.committedBetween(tx ?? this.db, from, to);
  }

  /** Alerts not yet posted (the outbox) that no replica is posting now, oldest first. */
  async undeliveredAlerts(teamId?: string, tx?: Db): Promise<LedgerEvent[]> {
    return (await this.undeliveredAlertGroups(teamId, tx)).flat();
  }

  /**
   * The same alerts, grouped by the request that raised them (one team, one person, one transaction): a
   * refusal that touched three budgets is one story, told in one message.
   */
  async undeliveredAlertGroups(teamId?: string, tx?: Db): Promise<LedgerEvent[][]> {
    const groups = new Map<string, LedgerEvent[]>();
    for (const a of await store.undeliveredAlerts(tx ?? this.db, teamId)) {
      // The transaction's own time, to the microsecond: two requests of one person in two transactions (two
      // replicas) within one millisecond are two messages, as they are two stories.
      const key = `${a.budget.teamId}|${a.triggeredBy}|${a.raisedIn}`;
      const event = toEvent(a, toBudgetRef(store.json<store.BudgetRow>(a.budget), a.budget.teamId ?? ''));
      groups.set(key, [...(groups.get(key) ?? []), event]);
    }
    return [...groups.values()];
  }

  /**
   * Claims the undelivered alerts of one message for `leaseMs`, before it is posted: across replicas, one caller
   * gets the whole group and the others none; returns what this caller claimed. A claim whose replica died before
   * marking it delivered runs out, and the alerts are posted again then.
   */
  async claimAlerts(events: LedgerEvent[], leaseMs: number, tx?: Db): Promise<LedgerEvent[]> {
    const id = (k: store.AlertKey) => `${k.budgetId}|${k.periodStart.getTime()}|${k.kind}|${k.threshold}`;
    const claimed = new Set((await store.claimAlerts(tx ?? this.db, events.map(alertKey), leaseMs)).map(id));
    return events.filter((e) => claimed.has(id(alertKey(e))));
  }

  /** `to`: where it was posted (the alerts channel, or the admins it was sent to by DM). */
  async markAlertDelivered(event: LedgerEvent, to: string[], tx?: Db): Promise<void> {
    await store.markAlertDelivered(tx ?? this.db, alertKey(event), to);
  }

  /** Commit events carry only budget ids; they are rare, so the budgets are read only when there are some. */
  private async withBudgets(events: store.EventRow[], tx?: Db): Promise<LedgerEvent[]> {
    if (!events.length) return [];
    const budgets = await store.budgetsById(tx ?? this.db, [...new Set(events.map((e) => e.budgetId))]);
    const refs = new Map(budgets.map((b) => [b.id, toBudgetRef(b, b.teamId!)]));
    return events.map((e) => toEvent(e, refs.get(e.budgetId)!));
  }
}

function toReserveResult(outcome: store.ReserveOutcome, batch: ReserveRequest[], teamId: string): ReserveResult {
  const refs = new Map(outcome.budgets.map((b) => [b.id, toBudgetRef(b, teamId)]));
  const events = outcome.events.map((e) => toEvent(e, refs.get(e.budgetId)!));
  if (outcome.ok) {
    const holds = outcome.holds.map(
      (h): Hold =>
        h.generationId == null
          ? { id: h.id, amountMc: h.amountMc }
          : { id: h.id, amountMc: h.amountMc, generationId: h.generationId },
    );
    return { ok: true, holds, events };
  }
  return { ok: false, refusal: refusalOf(outcome.budgets, outcome.refusedBudgetId, batch, refs), events };
}

function validateBatch(batch: ReserveRequest[]): string {
  if (!batch.length) throw new LedgerError('nothing to reserve: the batch is empty');
  const teamId = batch[0]!.teamId;
  for (const r of batch) {
    if (r.teamId !== teamId) throw new LedgerError('a batch must stay within one workspace');
    if (!r.userId || !r.channelId) throw new LedgerError('a reservation needs a user and a channel');
    checkAmount(r.amountMc, 'amount');
    if (r.tag !== undefined && !isTag(r.tag)) throw new LedgerError(`"${r.tag}" is not a tag`);
  }
  return teamId;
}

function checkAmount(amount: number, what: string): void {
  if (!Number.isSafeInteger(amount) || amount < 0)
    throw new LedgerError(`the ${what} must be a whole, non-negative number of millicredits (got ${amount})`);
}

function checkHoldId(holdId: string): void {
  if (!UUID.test(holdId)) throw new LedgerError(`"${holdId}" is not a hold id`);
}

function toBudgetRef(row: store.BudgetRow, teamId: string): BudgetRef {
  return {
    id: Number(row.id),
    teamId: row.teamId ?? teamId,
    scope: row.scope,
    scopeId: row.scopeId,
    period: row.period,
    limitMc: mc(row.limitMc),
    hard: row.hard,
    thresholds: store.json<number[]>(row.thresholds).map(Number),
  };
}

function key(budgetId: number, periodStart: Date): string {
  return `${budgetId}@${periodStart.getTime()}`;
}

function toEvent(row: store.EventRow, budget: BudgetRef): LedgerEvent {
  const common = {
    budget,
    periodStart: new Date(row.periodStart),
    chargedMc: mc(row.chargedMc),
    limitMc: mc(row.limitMc),
    triggeredBy: row.triggeredBy,
  };
  if (row.kind === 'forecast') {
    const detail = store.json<store.ForecastDetail>(row.detail);
    return {
      kind: 'forecast',
      ...common,
      runsOutAt: new Date(detail.runsOutAt),
      projectedMc: mc(detail.projectedMc),
      spenders: detail.spenders.map((s) => ({ userId: s.userId, chargedMc: mc(s.chargedMc) })),
    };
  }
  if (row.kind === 'threshold') return { kind: 'threshold', threshold: Number(row.threshold), ...common };
  if (row.kind === 'overrun') {
    return { kind: 'overrun', jobIds: store.json<string[] | null>(row.generationIds) ?? [], ...common };
  }
  return {
    kind: 'exhausted',
    ...common,
    needMc: mc(Number(store.json<store.RefusedDetail | null>(row.detail)?.needMc ?? 0)),
  };
}

function toUsage(row: store.UsageRow): Usage {
  const limitMc = mc(row.limitWithAllowanceMc);
  const chargedMc = mc(row.chargedMc);
  const heldMc = mc(row.heldMc);
  return {
    budget: toBudgetRef(row, row.teamId),
    periodStart: new Date(row.periodStart),
    periodEnd: new Date(row.periodEnd),
    committedMc: mc(chargedMc - heldMc),
    heldMc,
    chargedMc,
    remainingMc: mc(Math.max(0, limitMc - chargedMc)),
    limitMc,
    percent: limitMc > 0 ? Math.round((chargedMc * 1000) / limitMc) / 10 : chargedMc > 0 ? 100 : 0,
    raises: store.json<store.RaiseRow[] | undefined>(row.raises)?.map(toRaise) ?? [],
  };
}

function toRaise(row: store.RaiseRow): BudgetRaise {
  return {
    id: Number(row.id),
    budgetId: Number(row.budgetId),
    amountMc: mc(Number(row.amountMc)),
    startsAt: new Date(row.startsAt),
    endsAt: new Date(row.endsAt),
    grantedBy: row.grantedBy,
    ...(row.approvalId ? { approvalId: row.approvalId } : {}),
  };
}

function applies(budget: BudgetRef, request: ReserveRequest): boolean {
  const own = { workspace: budget.teamId, channel: request.channelId, user: request.userId, tag: request.tag };
  return budget.scopeId === own[budget.scope];
}

/**
 * Names the hard budget short by the most (the one an approval would have to cover; on a tie the most
 * specific, whose owner can act on it), and the first alternative every hard budget could take, each
 * request of a batch swapped for its own alternative of that label (the first request's is reported).
 */
function refusalOf(
  budgets: store.ReservedBudget[],
  refusedId: number,
  batch: ReserveRequest[],
  refs: Map<number, BudgetRef>,
): Refusal {
  const hard = budgets.filter((b) => b.periodHard);
  const room = (b: store.ReservedBudget) => mc(Math.max(0, Number(b.periodLimitMc) - Number(b.chargedMc)));
  const shortfall = (b: store.ReservedBudget) => Number(b.needMc) - room(b);
  const specificity = { user: 0, channel: 1, tag: 2, workspace: 3 };
  const refusing = hard
    .filter((b) => shortfall(b) > 0)
    .sort((a, b) => shortfall(b) - shortfall(a) || specificity[a.scope] - specificity[b.scope]);
  const named = refusing[0] ?? budgets.find((b) => b.id === refusedId)!;

  const labels = batch[0]!.alternatives?.map((a) => a.label) ?? [];
  const fitting = labels.find((label) =>
    hard.every((b) => {
      const ref = refs.get(b.id)!;
      const need = batch
        .filter((r) => applies(ref, r))
        .reduce((sum, r) => sum + (r.alternatives?.find((a) => a.label === label)?.amountMc ?? r.amountMc), 0);
      return need <= room(b);
    }),
  );
  const refusal: Refusal = {
    budget: refs.get(named.id)!,
    periodStart: new Date(named.periodStart),
    periodEnd: new Date(named.periodEnd),
    remainingMc: room(named),
    neededMc: mc(named.needMc),
  };
  const alternative = fitting && batch[0]!.alternatives!.find((a) => a.label === fitting);
  if (alternative) refusal.fittingAlternative = { label: alternative.label, amountMc: alternative.amountMc };
  return refusal;
}

/** The spike_alerts primary key of a spike. */
function spikeKey(spike: Spike): store.SpikeKey {
  return { teamId: spike.teamId, kind: spike.subject.kind, subjectId: spike.subject.id, day: spike.day };
}

/** The budget_alerts primary key of an alert event. */
function alertKey(event: LedgerEvent): store.AlertKey {
  const threshold = event.kind === 'threshold' ? event.threshold : 0;
  return { budgetId: event.budget.id, periodStart: event.periodStart, kind: event.kind, threshold };
}
