import type { BudgetRef, RequestScope, Usage } from '../budget';
import { endOfLocalDay, localDate, type LocalDate } from '../budget/periods';
import type { Db } from '../db';
import { mc, subMc, sumMc, type Millicredits } from '../money/credits';
import type { Quote } from '../pricing';
import type { ApprovalRequest } from './approval-store';
import { requestVideo, type RequestPorts, type VideoAsk } from './video';

/**
 * Approvals: a request refused by a user or channel budget goes to the admins, once per button. Only an admin
 * of the request's workspace decides, once: the approvals row is the claim. An admin approves either this one
 * request (each short budget's current period is raised by what the request lacks) or grants a temporary raise
 * (+N on each short budget, in every period, until a date); either way the request is then held and queued as
 * /kling generate does, all in the enqueue's one transaction.
 */

/** The longest a raise may last: a standing change is a new limit (`/kling budget set`), not a raise. */
export const RAISE_MAX_DAYS = 90;
const DAY_MS = 86_400_000;

/**
 * The hard user and channel budgets without room for `amountMc`, and a short workspace or tag budget, which
 * neither an approval nor a raise covers.
 */
function shortBudgets(usages: Usage[], amountMc: Millicredits): { raisable: Usage[]; unraisable?: Usage } {
  const short = usages.filter((u) => u.budget.hard && u.remainingMc < amountMc);
  const raisable = (u: Usage) => u.budget.scope === 'user' || u.budget.scope === 'channel';
  return { raisable: short.filter(raisable), unraisable: short.find((u) => !raisable(u)) };
}

export type AskOutcome =
  | { kind: 'sent'; approval: ApprovalRequest; raisable: Usage[] }
  /** A second click on the same button: the request the first one sent. */
  | { kind: 'asked-already'; earlier: ApprovalRequest }
  /** A workspace or tag budget is short too: only a new limit helps. */
  | { kind: 'unraisable'; budget: BudgetRef }
  | { kind: 'fits' };

/** Ask the admins to approve one request beyond the person's or channel's budget. */
export async function requestApproval(
  ports: RequestPorts,
  scope: RequestScope,
  ask: {
    commandText: string;
    quote: Quote;
    tag?: string;
    followUp?: ApprovalRequest['followUp'];
    claimKey?: string;
  },
): Promise<AskOutcome> {
  const store = ports.approvals;
  // A second click on the same button asks nothing more (the create below settles a race of two).
  const earlier = ask.claimKey && (await store.byClaim(scope.teamId, ask.claimKey));
  if (earlier) return { kind: 'asked-already', earlier };
  const short = shortBudgets(await ports.ledger.usageFor({ ...scope, tag: ask.tag }), ask.quote.priceMc);
  if (short.unraisable) return { kind: 'unraisable', budget: short.unraisable.budget };
  if (!short.raisable.length) return { kind: 'fits' };
  const approval = await store.create({
    ...scope,
    commandText: ask.commandText,
    ...(ask.followUp && { followUp: ask.followUp }),
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

/** What an approval gave a short budget: +amountMc for this period, or until `endsAt` when it is a raise. */
interface Granted {
  budget: BudgetRef;
  amountMc: Millicredits;
  endsAt?: Date;
}

export type ApproveOutcome =
  | Undecidable
  | { kind: 'unraisable'; budget: BudgetRef; remainingMc: Millicredits; amountMc: Millicredits }
  | { kind: 'approved'; request: ApprovalRequest; raised: Granted[]; queued: boolean };

/** A raise an admin asks for: +amountMc on each short budget until the end of the local date `until`. */
export interface RaiseAsk {
  amountMc: Millicredits;
  until: LocalDate;
}

/** Why a raise was not granted (nothing was written): too small for the request, or an end out of bounds. */
export type RaiseProblem =
  | { kind: 'raise-too-small'; lacksMc: Millicredits }
  | { kind: 'raise-ends-too-soon'; first: LocalDate }
  | { kind: 'raise-ends-too-late'; last: LocalDate };

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
 * The request's price now, its project tag and, for a follow-up, the job it follows: `price` prices its command
 * (or the job it follows) again, since today's figures count.
 */
type Pricer = (request: ApprovalRequest) => Promise<Priced> | Priced;
interface Priced {
  quote: Quote;
  tag?: string;
  parent?: VideoAsk['parent'];
}

/**
 * What a budget lacks for `amountMc`, measured from its charge, not from what is left: a period may already be
 * past its limit (a limit lowered below the charge, or spending from before the budget was set).
 */
export const lacking = (u: Usage, amountMc: Millicredits) => subMc(sumMc([amountMc, u.chargedMc]), u.limitMc);

/** A pending request, priced now, with the budgets it is short in. */
interface Assessed extends Priced {
  request: ApprovalRequest;
  raisable: Usage[];
  /** The most the request lacks in any one of them: a raise must add at least this. */
  lacksMc: Millicredits;
}

async function assess(
  ports: RequestPorts,
  decision: Decision,
  price: Pricer,
): Promise<Assessed | Undecidable | Extract<ApproveOutcome, { kind: 'unraisable' }>> {
  const request = await pending(ports, decision);
  if ('kind' in request) return request;
  const { quote, tag, parent } = await price(request);
  const amountMc = quote.priceMc;
  const short = shortBudgets(await ports.ledger.usageFor({ ...scopeOf(request), tag }), amountMc);
  if (short.unraisable) {
    const { budget, remainingMc } = short.unraisable;
    return { kind: 'unraisable', budget, remainingMc, amountMc };
  }
  const lacks = short.raisable.map((u) => lacking(u, amountMc));
  return { request, quote, tag, parent, raisable: short.raisable, lacksMc: mc(Math.max(0, ...lacks)) };
}

/** What the admins' Raise… form proposes: at least what the request lacks, until the short budgets' period ends. */
export type RaiseForm =
  | Undecidable
  | Extract<ApproveOutcome, { kind: 'unraisable' }>
  | { kind: 'fits'; request: ApprovalRequest }
  | {
      kind: 'raise';
      request: ApprovalRequest;
      raisable: Usage[];
      lacksMc: Millicredits;
      /** The end of the short budgets' current periods, and at least a week ahead (the workspace's local date). */
      until: LocalDate;
      /** The last date a raise may run through. */
      last: LocalDate;
    };

export async function raiseForm(ports: RequestPorts, decision: Decision, price: Pricer): Promise<RaiseForm> {
  const assessed = await assess(ports, decision, price);
  if ('kind' in assessed) return assessed;
  const { request, raisable, lacksMc } = assessed;
  if (!raisable.length) return { kind: 'fits', request };
  const now = ports.now();
  const { timezone } = await ports.ledger.ensureWorkspace(request.teamId);
  const periodEnd = Math.max(...raisable.map((u) => u.periodEnd.getTime()));
  // The period's last moment, so a day that ends at midnight is that day, not the next.
  const ends = Math.min(Math.max(periodEnd - 1, now.getTime() + 7 * DAY_MS), now.getTime() + RAISE_MAX_DAYS * DAY_MS);
  return {
    kind: 'raise',
    request,
    raisable,
    lacksMc,
    until: localDate(new Date(ends), timezone),
    last: localDate(new Date(now.getTime() + RAISE_MAX_DAYS * DAY_MS), timezone),
  };
}

/** A raise's end (the end of its last day, in the workspace's timezone), or why it cannot be granted. */
async function boundRaise(
  ports: RequestPorts,
  request: ApprovalRequest,
  lacksMc: Millicredits,
  raise: RaiseAsk,
): Promise<{ endsAt: Date } | RaiseProblem> {
  if (raise.amountMc < lacksMc) return { kind: 'raise-too-small', lacksMc };
  const now = ports.now();
  const { timezone } = await ports.ledger.ensureWorkspace(request.teamId);
  const endsAt = endOfLocalDay(raise.until, timezone);
  if (endsAt <= now) return { kind: 'raise-ends-too-soon', first: localDate(now, timezone) };
  const last = localDate(new Date(now.getTime() + RAISE_MAX_DAYS * DAY_MS), timezone);
  if (endsAt > endOfLocalDay(last, timezone)) return { kind: 'raise-ends-too-late', last };
  return { endsAt };
}

/**
 * What would refuse this raise, found without writing anything, so the admin's form can say it at once (Slack
 * wants the form's answer within 3 s; the approval itself may take longer). `price` may price without fetching
 * images: the price does not depend on their bytes. Undefined: nothing, as far as can be told now.
 */
export async function checkRaise(
  ports: RequestPorts,
  decision: Decision,
  price: Pricer,
  raise: RaiseAsk,
): Promise<RaiseProblem | Extract<ApproveOutcome, { kind: 'unraisable' }> | undefined> {
  const assessed = await assess(ports, decision, price);
  if ('kind' in assessed) return assessed.kind === 'unraisable' ? assessed : undefined;
  const bounded = await boundRaise(ports, assessed.request, assessed.lacksMc, raise);
  return 'kind' in bounded ? bounded : undefined;
}

/**
 * Approve the request: with no `raise`, each short budget's current period is raised by what the request lacks;
 * with one, each short budget gets +raise.amountMc in every period until the end of `raise.until` (in the
 * workspace's timezone), refused unless it covers the request and ends in the next RAISE_MAX_DAYS days. Then
 * the request is held and queued. What `price` throws is passed on, before anything is written.
 */
export async function approve(
  ports: RequestPorts,
  decision: Decision,
  price: Pricer,
  raise?: RaiseAsk,
): Promise<ApproveOutcome | RaiseProblem> {
  const assessed = await assess(ports, decision, price);
  if ('kind' in assessed) return assessed;
  const { request, quote, tag, parent, raisable, lacksMc } = assessed;
  let endsAt: Date | undefined;
  if (raise) {
    const bounded = await boundRaise(ports, request, lacksMc, raise);
    if ('kind' in bounded) return bounded;
    endsAt = bounded.endsAt;
  }
  const raised: Granted[] = raisable.map((u) =>
    raise && endsAt
      ? { budget: u.budget, amountMc: raise.amountMc, endsAt }
      : { budget: u.budget, amountMc: lacking(u, quote.priceMc) },
  );
  const scope = scopeOf(request);
  // The decision, the raise and the queued job are one transaction (the enqueue's): a crash or a second
  // click, on any replica, can give neither no job nor two.
  let decided: ApprovalRequest | undefined;
  const claim = {
    key: `approval:${request.id}`,
    first: async (tx: Db) => {
      decided = await ports.approvals.decide(request.id, 'approved', decision.adminId, tx);
      if (decided) {
        const why = `approved ${request.id}: ${request.description}`;
        for (const r of raised) {
          if (r.endsAt) {
            const grant = { budgetId: r.budget.id, amountMc: r.amountMc, endsAt: r.endsAt, approvalId: request.id };
            await ports.ledger.raise({ ...grant, by: decision.adminId, why }, tx);
          } else await ports.ledger.adjust(r.budget.id, r.amountMc, decision.adminId, why, tx);
        }
        const author = { by: decision.adminId, why };
        await ports.ledger.recordDecision(scope.teamId, 'approval', request.commandText, author, tx);
      }
      return decided !== undefined;
    },
  };
  const ask = { quote, confirmed: true, skipDuplicate: true, tag, ...(parent && { parent }) };
  const outcome = await requestVideo(ports, scope, ask, claim);
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
