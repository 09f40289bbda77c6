import type { Millicredits } from '../money/credits';

/** A tag budget binds every request that carries the project tag (--tag), whoever asks and wherever. */
export type BudgetScope = 'workspace' | 'channel' | 'user' | 'tag';
export type BudgetPeriodKind = 'day' | 'week' | 'month';

export interface RequestScope {
  teamId: string;
  channelId: string;
  userId: string;
}

/** Which budget of a workspace: whose (scope and scopeId) and over which period. */
export interface BudgetTarget {
  scope: BudgetScope;
  /** The team id for a workspace budget, else the channel or user id, or the tag's name. */
  scopeId: string;
  period: BudgetPeriodKind;
}

export interface BudgetRef extends BudgetTarget {
  id: number;
  teamId: string;
  limitMc: Millicredits;
  hard: boolean;
  /** Percent of the limit. */
  thresholds: number[];
}

export interface ReserveRequest extends RequestScope {
  amountMc: Millicredits;
  /** The project tag: the tag's budget, if it has one, must fit the request too. */
  tag?: string;
  generationId?: string;
  memo?: string;
  /** From Quote.alternatives, cheapest first. */
  alternatives?: { label: string; amountMc: Millicredits }[];
}

export interface Hold {
  id: string;
  amountMc: Millicredits;
  generationId?: string;
}

export interface Refusal {
  budget: BudgetRef;
  periodStart: Date;
  periodEnd: Date;
  /** Room left in the period (limit + allowance − committed − held), never negative. */
  remainingMc: Millicredits;
  /** What the request (or the batch) needed from this budget. */
  neededMc: Millicredits;
  /** The first alternative (in the order given) that every hard budget could take. */
  fittingAlternative?: { label: string; amountMc: Millicredits };
}

export type LedgerEvent =
  | {
      kind: 'threshold';
      budget: BudgetRef;
      periodStart: Date;
      threshold: number;
      chargedMc: Millicredits;
      limitMc: Millicredits;
      triggeredBy: string;
    }
  /** A hard budget refused a request needing `needMc` of it: used up only when chargedMc reached limitMc. */
  | {
      kind: 'exhausted';
      budget: BudgetRef;
      periodStart: Date;
      chargedMc: Millicredits;
      limitMc: Millicredits;
      triggeredBy: string;
      needMc: Millicredits;
    }
  /** At its recent pace the period runs out at `runsOutAt`; `spenders` are its three biggest, biggest first. */
  | {
      kind: 'forecast';
      budget: BudgetRef;
      periodStart: Date;
      chargedMc: Millicredits;
      limitMc: Millicredits;
      triggeredBy: string;
      runsOutAt: Date;
      projectedMc: Millicredits;
      spenders: { userId: string; chargedMc: Millicredits }[];
    }
  /** Kling charged above the estimate held and took a hard budget's period past its limit; `jobIds` are those jobs. */
  | {
      kind: 'overrun';
      budget: BudgetRef;
      periodStart: Date;
      chargedMc: Millicredits;
      limitMc: Millicredits;
      triggeredBy: string;
      jobIds: string[];
    };

export type ReserveResult =
  | { ok: true; holds: Hold[]; events: LedgerEvent[] }
  | { ok: false; refusal: Refusal; events: LedgerEvent[] };

/**
 * What a commit did: charged the hold's actual cost, or found the hold committed already (nothing changes: the
 * first actual cost stands). Committing a released hold, or a hold that does not exist, is a LedgerError.
 */
export type CommitOutcome = 'committed' | 'already-committed';

/**
 * What a release did: gave the hold back, or found it settled already (nothing changes: a release after a commit
 * keeps the charge). Releasing a hold that does not exist is a LedgerError.
 */
export type ReleaseOutcome = 'released' | 'already-released' | 'already-committed';

/** A temporary raise: +amountMc on the budget in every period, for reservations made before `endsAt`. */
export interface BudgetRaise {
  id: number;
  budgetId: number;
  amountMc: Millicredits;
  startsAt: Date;
  endsAt: Date;
  grantedBy: string;
  approvalId?: string;
}

export interface Usage {
  budget: BudgetRef;
  periodStart: Date;
  periodEnd: Date;
  committedMc: Millicredits;
  heldMc: Millicredits;
  /** committed + held */
  chargedMc: Millicredits;
  remainingMc: Millicredits;
  /** The period's limit including adjustments and the raises active at the time read. */
  limitMc: Millicredits;
  percent: number;
  /** Those raises, soonest end first. */
  raises: BudgetRaise[];
}

export interface WorkspaceSettings {
  teamId: string;
  timezone: string;
  alertsChannelId: string | null;
  /** A request priced above this is confirmed with a button first; null: never asked. */
  confirmThresholdMc: Millicredits | null;
  /** The timezone an admin chose, in force from timezoneEffectiveAt (the next period boundary). */
  pendingTimezone: string | null;
  timezoneEffectiveAt: Date | null;
}

export interface BudgetInput extends BudgetTarget {
  teamId: string;
  limitMc: Millicredits;
  thresholds?: number[];
  hard?: boolean;
  by: string;
  /** Why, for the audit trail: the command as typed. */
  why?: string;
}

/** Who changed money or rules, and why (the command as typed, or the approval), for the audit trail. */
export interface ChangeAuthor {
  by: string;
  why?: string;
}

/** Thrown for a call the ledger cannot carry out (bad amount, unknown hold, unknown budget). */
export class LedgerError extends Error {
  override name = 'LedgerError';
}

/** Whose day spiked: a person or a channel. */
interface SpikeSubject {
  kind: 'user' | 'channel';
  id: string;
}

/** What drove a spike: the model, mode and duration mix and the re-runs of one prompt (from the queue). */
export interface SpikeDrivers {
  mix: { model: string; mode: string | null; durationS: number | null; videos: number; spentMc: Millicredits }[];
  /** Videos today whose prompt had already been run earlier that day. */
  reruns: number;
}

/** A person's or a channel's spending today (committed + held) far above their usual day. */
export interface Spike {
  teamId: string;
  subject: SpikeSubject;
  /** The local day, YYYY-MM-DD in the workspace's timezone, and its bounds. */
  day: string;
  dayStart: Date;
  dayEnd: Date;
  todayMc: Millicredits;
  /** The median of the 14 days before (days without spending count as 0). */
  medianMc: Millicredits;
  factor: number;
}

export type SpikeAlert = Spike & { drivers: SpikeDrivers };
