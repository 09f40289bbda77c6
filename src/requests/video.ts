import type { Ledger, Refusal, RequestScope, Usage } from '../budget';
import type { Clock } from '../clock';
import type { Db } from '../db';
import type { Claim, EnqueueRequest, Generation, GenerationQueue, QueueRefusal } from '../generations';
import type { Millicredits } from '../money/credits';
import type { Quote } from '../pricing';
import type { ApprovalRequests } from './approval-store';
import type { Workspaces } from './workspaces';

/** What the use cases need from the rest of the bot; built once in src/app.ts. */
export interface RequestPorts {
  ledger: Ledger;
  queue: GenerationQueue;
  workspaces: Workspaces;
  approvals: ApprovalRequests;
  /** For the reads no other module offers yet (the audit trail). */
  db: Db;
  /** The clock (a raise's end is checked against it). */
  now: Clock;
  /** Jobs were queued: their cards go up and the worker is told there is work (after the acks in flight). */
  onQueued(jobIds: string[]): void;
  /** The ledger raised alerts (thresholds, exhausted): deliver them. */
  onAlerts(teamId: string): void;
  /** A request was refused, by a budget's scope or by the queue's `user-queue-full`. */
  onRefused(reason: string): void;
}

/** A priced video request and how far the person has carried it. */
export interface VideoAsk {
  quote: Quote;
  /** The person confirmed a price above the workspace's threshold. */
  confirmed?: boolean;
  /** The person chose to generate again rather than reuse an identical earlier result. */
  skipDuplicate?: boolean;
  /** A job card's follow-up: the job it follows and how. */
  parent?: EnqueueRequest['parent'];
  /** The project tag (--tag): the tag's budget must fit it too. */
  tag?: string;
}

export type VideoOutcome =
  | { kind: 'queued'; job: Generation }
  | { kind: 'duplicate'; earlier: Generation }
  | { kind: 'confirm'; thresholdMc: Millicredits }
  | { kind: 'refused'; refusal: QueueRefusal }
  /** The claim was used already: what its first use queued. */
  | { kind: 'claimed'; jobs: Generation[] };

export function refusalReason(refusal: QueueRefusal): string {
  return 'kind' in refusal ? refusal.kind : refusal.budget.scope;
}

const SPECIFICITY = { user: 0, channel: 1, tag: 2, workspace: 3 } as const;

/**
 * The refusal a hold of `quote` would meet now, read from the budgets' usage; undefined when it fits. The same
 * rule as the ledger's: the hard budget short by the most (on a tie the most specific), and the first cheaper
 * alternative every hard budget could take. Advisory: the hold itself decides.
 */
function refusalNow(usages: Usage[], quote: Quote): Refusal | undefined {
  const hard = usages.filter((u) => u.budget.hard);
  const [named] = hard
    .filter((u) => u.remainingMc < quote.priceMc)
    .sort((a, b) => a.remainingMc - b.remainingMc || SPECIFICITY[a.budget.scope] - SPECIFICITY[b.budget.scope]);
  if (!named) return undefined;
  const fitting = quote.alternatives.find((a) => hard.every((u) => a.priceMc <= u.remainingMc));
  const { budget, periodStart, periodEnd, remainingMc } = named;
  return {
    budget,
    periodStart,
    periodEnd,
    remainingMc,
    neededMc: quote.priceMc,
    ...(fitting && { fittingAlternative: { label: fitting.label, amountMc: fitting.priceMc } }),
  };
}

/**
 * Request a video: (duplicate? confirm?) → hold → queue, the duplicate check inside the hold's transaction.
 * With a claim, only its first use queues anything.
 */
export async function requestVideo(
  ports: RequestPorts,
  scope: RequestScope,
  ask: VideoAsk,
  claim?: Claim,
): Promise<VideoOutcome> {
  const { queue, workspaces } = ports;
  const { quote } = ask;
  const { confirmThresholdMc } = await workspaces.settings(scope.teamId);
  if (!ask.confirmed && confirmThresholdMc !== undefined && quote.priceMc > confirmThresholdMc) {
    // An identical earlier result is offered before asking to confirm a price, and a price the budgets cannot
    // take is refused at once rather than after the person confirmed it. Both are reads: nothing is held yet.
    const [earlier, usages] = await Promise.all([
      ask.skipDuplicate ? undefined : queue.findSucceededDuplicate(scope.teamId, quote.request),
      ports.ledger.usageFor({ ...scope, tag: ask.tag }),
    ]);
    if (earlier) return { kind: 'duplicate', earlier };
    const refusal = refusalNow(usages, quote);
    if (refusal) {
      ports.onRefused(refusalReason(refusal));
      return { kind: 'refused', refusal };
    }
    return { kind: 'confirm', thresholdMc: confirmThresholdMc };
  }

  const asked = { ...scope, quote, tag: ask.tag, parent: ask.parent };
  const result = await (ask.skipDuplicate ? queue.enqueue(asked, claim) : queue.enqueueUnlessDuplicate(asked, claim));
  if ('claimed' in result) return { kind: 'claimed', jobs: result.claimed };
  if ('duplicate' in result) return { kind: 'duplicate', earlier: result.duplicate };
  if (result.events.length) ports.onAlerts(scope.teamId);
  if (!result.ok) {
    ports.onRefused(refusalReason(result.refusal));
    return { kind: 'refused', refusal: result.refusal };
  }
  ports.onQueued([result.generations[0]!.id]);
  return { kind: 'queued', job: result.generations[0]! };
}
