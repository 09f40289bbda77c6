import { periodBounds, type RequestScope, type Usage } from '../budget';
import { sumMc, timesMc, type Millicredits } from '../money/credits';
import type { Quote } from '../pricing';
import { refusalReason, type RequestPorts } from './video';
import type { Claim, Generation, QueueRefusal } from '../generations';

/** Off-peak: from 22:00 to 06:00 in the workspace's timezone. */
export const OFF_PEAK = { fromHour: 22, untilHour: 6 } as const;

export type BatchCheck =
  | {
      fits: true;
      totalMc: Millicredits;
      /** The hard budget with the least room, if any applies. */
      budget?: Usage;
    }
  | {
      fits: false;
      totalMc: Millicredits;
      /** The hard budget with the least room. */
      budget: Usage;
      /** How many of the prompts, in order, fit that room. */
      fitCount: number;
      /** The closest cheaper configuration in which the whole batch fits. */
      cheaper?: { label: string; eachMc: Millicredits; totalMc: Millicredits };
    };

/**
 * The pre-batch check: every prompt of a batch goes to the same person and channel, so every budget
 * that applies takes the whole total. Advisory only: the reservation itself is what guarantees it.
 */
export function checkBatch(quotes: Quote[], usages: Usage[]): BatchCheck {
  const totalMc = sumMc(quotes.map((q) => q.priceMc));
  const tightest = usages.filter((u) => u.budget.hard).sort((a, b) => a.remainingMc - b.remainingMc)[0];
  if (!tightest || totalMc <= tightest.remainingMc)
    return { fits: true, totalMc, ...(tightest && { budget: tightest }) };

  let fitCount = 0;
  for (let used = 0; fitCount < quotes.length && used + quotes[fitCount]!.priceMc <= tightest.remainingMc; fitCount++)
    used += quotes[fitCount]!.priceMc;
  // The settings are shared, so every prompt has the same alternatives; cheapest first, so the last that fits changes least.
  const fitting = (quotes[0]?.alternatives ?? [])
    .filter((a) => a.priceMc * quotes.length <= tightest.remainingMc)
    .at(-1);
  return {
    fits: false,
    totalMc,
    budget: tightest,
    fitCount,
    ...(fitting
      ? { cheaper: { label: fitting.label, eachMc: fitting.priceMc, totalMc: timesMc(fitting.priceMc, quotes.length) } }
      : {}),
  };
}

const hourFormats = new Map<string, Intl.DateTimeFormat>();

function localHour(at: Date, timezone: string): number {
  let format = hourFormats.get(timezone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', { timeZone: timezone, hour: 'numeric', hourCycle: 'h23' });
    hourFormats.set(timezone, format);
  }
  return Number(format.format(at));
}

/** When an off-peak batch may start: now if it is already off-peak, else today at 22:00 in the workspace's timezone. */
export function offPeakStart(now: Date, timezone: string): Date | undefined {
  const hour = localHour(now, timezone);
  if (hour >= OFF_PEAK.fromHour || hour < OFF_PEAK.untilHour) return undefined;
  const midnight = periodBounds('day', now, timezone).start;
  const start = new Date(midnight.getTime() + OFF_PEAK.fromHour * 3_600_000);
  // A DST change earlier in the day moves the wall clock by an hour: correct by what it shows.
  return new Date(start.getTime() - (localHour(start, timezone) - OFF_PEAK.fromHour) * 3_600_000);
}

export type BatchOutcome =
  | { kind: 'queued'; jobs: Generation[]; notBefore?: Date }
  /** The pre-batch check: the whole batch does not fit a hard budget; nothing was held. */
  | { kind: 'too-expensive'; check: Extract<BatchCheck, { fits: false }> }
  | { kind: 'refused'; refusal: QueueRefusal }
  /** The claim was used already (a second submit of one form): nothing more was queued. */
  | { kind: 'claimed' };

/**
 * Queue a batch: the total is checked against every hard budget before anything is held; then the whole
 * batch is held and queued in one transaction (all or nothing).
 */
export async function queueBatch(
  ports: RequestPorts,
  scope: RequestScope,
  batch: { quotes: Quote[]; offPeak: boolean; now: Date; tag?: string },
  claim: Claim,
): Promise<BatchOutcome> {
  const { quotes } = batch;
  const [usages, workspace] = await Promise.all([
    ports.ledger.usageFor({ ...scope, tag: batch.tag }),
    ports.ledger.ensureWorkspace(scope.teamId),
  ]);
  const check = checkBatch(quotes, usages);
  if (!check.fits) {
    ports.onRefused(check.budget.budget.scope);
    return { kind: 'too-expensive', check };
  }
  const notBefore = batch.offPeak ? offPeakStart(batch.now, workspace.timezone) : undefined;
  const result = await ports.queue.enqueue(
    quotes.map((quote) => ({ ...scope, quote, notBefore, tag: batch.tag })),
    claim,
  );
  if ('claimed' in result) return { kind: 'claimed' };
  if (result.events.length) ports.onAlerts(scope.teamId);
  if (!result.ok) {
    ports.onRefused(refusalReason(result.refusal));
    return { kind: 'refused', refusal: result.refusal };
  }
  ports.onQueued(result.generations.map((job) => job.id));
  return { kind: 'queued', jobs: result.generations, notBefore };
}

/**
 * The batch form as the person fills it: the workspace's timezone (for the off-peak choice) and, once the
 * prompts are priced, whether every hard budget (the tag's too) can take the total. A read: nothing is held.
 */
export async function checkBatchForm(
  ports: RequestPorts,
  scope: RequestScope,
  form: { quotes?: Quote[]; tag?: string },
): Promise<{ timezone: string; check?: BatchCheck }> {
  const { quotes, tag } = form;
  const [workspace, usages] = await Promise.all([
    ports.ledger.ensureWorkspace(scope.teamId),
    quotes ? ports.ledger.usageFor({ ...scope, tag }) : undefined,
  ]);
  return { timezone: workspace.timezone, ...(quotes && usages && { check: checkBatch(quotes, usages) }) };
}
