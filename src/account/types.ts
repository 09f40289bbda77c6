import type { Millicredits } from '../money/credits';

/** A resource pack as last read from Kling, with what is left once the ledger's later commits are taken off. */
export interface PackView {
  id: string;
  name: string;
  /** Kling's status: online, toBeOnline, runOut, expired. */
  status: string;
  totalMc: Millicredits;
  /** What Kling said was left at the reading (it lags by up to 12 hours). */
  readMc: Millicredits;
  /** readMc less the ledger's commits since the reading, taken from the packs that expire first. */
  remainingMc: Millicredits;
  expiresAt: Date;
}

export interface AccountSettings {
  /** Alert when the units run out within this many days at the current pace; 0: off. */
  runoutDays: number;
  /** Alert when a pack with units left expires within this many days; 0: off. */
  expiryDays: number;
  /** Alert on a task Kling charged more than this above or below the ledger; null: off. */
  reconcileToleranceMc: Millicredits | null;
}

export interface AccountStatus {
  /** When the packs were read; null before the first reading. */
  readAt: Date | null;
  packs: PackView[];
  /** What the ledger committed since the reading. */
  committedSinceMc: Millicredits;
  /** Units left in the online packs, projected to now. */
  remainingMc: Millicredits;
  /** Committed per day over the last days. */
  paceMcPerDay: number;
  /** When the online packs run dry at that pace, spent or expired; null without spending. */
  runsOutAt: Date | null;
  /** What each online pack still holds when it expires at that pace (see drawDown). */
  expiresUnused: { pack: PackView; amountMc: Millicredits }[];
  settings: AccountSettings;
}

export type AccountAlert =
  | { kind: 'runout'; key: string; remainingMc: Millicredits; paceMcPerDay: number; runsOutAt: Date; days: number }
  | { kind: 'expiry'; key: string; pack: PackView; days: number }
  /** Kling charged a task the ledger does not know (ledgerMc null), or charged it differently. */
  | { kind: 'reconcile'; key: string; taskId: string; chargedMc: Millicredits; ledgerMc: Millicredits | null };
