import type { BudgetRef, RequestScope, Usage } from '../budget';
import type { Db } from '../db';
import { subMc, sumMc, type Millicredits } from '../money/credits';
import type { Quote } from '../pricing';
import type { ApprovalRequest } from './approval-store';
import { requestVideo, type RequestPorts } from './video';

/**
 * Approvals: a request refused by a user or channel budget goes to the admins, once per button. Only an admin
 * of the request's workspace decides, once: the approvals row is the claim. An approval raises each short budget
 * by what the request lacks, for the current period, and holds and queues the request as /kling generate does,
 * all in the enqueue's one transaction.
 */

/** The hard user and channel budgets without room for `amountMc`, and a short workspace budget, which no approval raises. */
function shortBudgets(usages: Usage[], amountMc: Millicredits): { raisable: Usage[]; workspace?: Usage } {
  const short = usages.filter((u) => u.budget.hard && u.remainingMc < amountMc);
  return {
    raisable: short.filter((u) => u.budget.scope !== 'workspace'),
    workspace: short.find((u) => u.budget.scope === 'workspace'),
  };
}

export type AskOutcome =
  | { kind: 'sent'; approval: ApprovalRequest; raisable: Usage[] }
  /** A second click on the same button: the request the first one sent. */
  | { kind: 'asked-already'; earlier: ApprovalRequest }
  | { kind: 'workspace-short' }
  | { kind: 'fits' };

/** Ask the admins to approve one request beyond the person's or channel's budget. */
export async function requestApproval(
  ports: RequestPorts,
  scope: RequestScope,
  ask: { commandText: string; quote: Quote; claimKey?: string },
): Promise<AskOutcome> {
  const store = ports.approvals;
  // A second click on the same button asks nothing more (the create below settles a race of two).
  const earlier = ask.claimKey && (await store.byClaim(scope.teamId, ask.claimKey));
  if (earlier) return { kind: 'asked-already', earlier };
  const short = shortBudgets(await ports.ledger.usageFor(scope), ask.quote.priceMc);
  if (short.workspace) return { kind: 'workspace-short' };
  if (!short.raisable.length) return { kind: 'fits' };
  const approval = await store.create({
    ...scope,
    commandText: ask.commandText,
    description: ask.quote.description,
    amountMc: ask.quote.priceMc,
    claimKey: ask.claimKey,
  });
  if (!approval) return { kind: 'asked-already', earlier: (await store.byClaim(scope.teamId, ask.claimKey!))! };
  return { kind: 'sent', approval, raisable: short.raisable };
}

/** Who decides, on which request, clicked in which workspace. */
export interface Decision {
  approvalId: string;
  teamId: string;
  adminId: string;
}

type Undecidable =
  | { kind: 'unknown' }
  | { kind: 'other-workspace' }
  | { kind: 'decided-already'; request: ApprovalRequest };

export type ApproveOutcome =
  | Undecidable
  | { kind: 'workspace-short'; remainingMc: Millicredits; amountMc: Millicredits }
  | {
      kind: 'approved';
      request: ApprovalRequest;
      raised: { budget: BudgetRef; amountMc: Millicredits }[];
      queued: boolean;
    };

export type DenyOutcome = Undecidable | { kind: 'denied'; request: ApprovalRequest };

async function pending(ports: RequestPorts, decision: Decision): Promise<ApprovalRequest | Undecidable> {
  const request = await ports.approvals.get(decision.approvalId);
  if (!request) return { kind: 'unknown' };
  if (request.teamId !== decision.teamId) return { kind: 'other-workspace' };
  if (request.state !== 'pending') return { kind: 'decided-already', request };
  return request;
}

const scopeOf = (r: ApprovalRequest): RequestScope => ({ teamId: r.teamId, channelId: r.channelId, userId: r.userId });

/**
 * Approve: `price` prices the request's command again (the figures that count are today's, not those at the
 * time of asking); what it throws is passed on, before anything is written.
 */
export async function approve(
  ports: RequestPorts,
  decision: Decision,
  /** The request's price now, and its project tag. */
  price: (commandText: string) => { quote: Quote; tag?: string },
): Promise<ApproveOutcome> {
  const request = await pending(ports, decision);
  if ('kind' in request) return request;
  const { quote, tag } = price(request.commandText);
  const amountMc = quote.priceMc;
  const scope = scopeOf(request);
  const short = shortBudgets(await ports.ledger.usageFor(scope), amountMc);
  if (short.workspace) return { kind: 'workspace-short', remainingMc: short.workspace.remainingMc, amountMc };
  // What each lacks is measured from its charge, not from what is left: a period may already be past its limit
  // (a limit lowered below the charge, or spending from before the budget was set).
  const raised = short.raisable.map((u) => ({
    budget: u.budget,
    amountMc: subMc(sumMc([amountMc, u.chargedMc]), u.limitMc),
  }));
  // The decision, the raise and the queued job are one transaction (the enqueue's): a crash or a second
  // click, on any replica, can give neither no job nor two.
  let decided: ApprovalRequest | undefined;
  const claim = {
    key: `approval:${request.id}`,
    first: async (tx: Db) => {
      decided = await ports.approvals.decide(request.id, 'approved', decision.adminId, tx);
      if (decided) {
        const memo = `approved ${request.id}: ${request.description}`;
        for (const r of raised) await ports.ledger.adjust(r.budget.id, r.amountMc, decision.adminId, memo, tx);
        const author = { by: decision.adminId, why: memo };
        await ports.ledger.recordDecision(scope.teamId, 'approval', request.commandText, author, tx);
      }
      return decided !== undefined;
    },
  };
  const outcome = await requestVideo(ports, scope, { quote, confirmed: true, skipDuplicate: true, tag }, claim);
  // Someone decided between our read and our claim (a double click): the first decision stands.
  if (!decided || outcome.kind === 'claimed')
    return { kind: 'decided-already', request: (await ports.approvals.get(request.id))! };
  return { kind: 'approved', request: decided, raised, queued: outcome.kind === 'queued' };
}

export async function deny(ports: RequestPorts, decision: Decision): Promise<DenyOutcome> {
  const request = await pending(ports, decision);
  if ('kind' in request) return request;
  // The decision and its audit record are one transaction.
  const decided = await ports.db.transaction(async (tx) => {
    const denied = await ports.approvals.decide(request.id, 'denied', decision.adminId, tx);
    const author = { by: decision.adminId, why: `denied ${request.id}: ${request.description}` };
    if (denied) await ports.ledger.recordDecision(denied.teamId, 'denial', request.commandText, author, tx);
    return denied;
  });
  if (!decided) return { kind: 'decided-already', request: (await ports.approvals.get(request.id))! };
  return { kind: 'denied', request: decided };
}
