import type { App, BlockButtonAction } from '@slack/bolt';
import type { RequestScope } from '../../budget';
import type { Claim, Generation } from '../../generations';
import * as replies from '../blocks/replies';
import type { Message } from '../blocks/kit';
import { parseCommand, UsageError } from '../commands/parse';
import { quoteRequest } from '../commands/request';
import type { Feature, SlackDeps } from '../deps';
import { ActionId } from '../ids';
import type { PendingRequest } from '../pending';
import { teamOf } from './payload';

/**
 * `/kling generate` and `/kling estimate`, and the buttons that carry a request on (confirm the
 * price, generate anyway). The reservation happens before the ack: one transaction in the queue.
 */

interface Outcome {
  reply?: Message;
  /** The queued job: its card is posted after the ack. */
  jobId?: string;
  /** The claim was used already: what its first use queued (the reply says so). */
  claimed?: Generation[];
}

/**
 * estimate → (duplicate? confirm?) → reserve, the duplicate check inside the reservation's transaction. Returns what
 * to show the person, or the queued job. With a claim, only its first use queues anything.
 */
export async function requestVideo(
  request: PendingRequest, scope: RequestScope, deps: SlackDeps, claim?: Claim,
): Promise<Outcome> {
  const command = parseCommand(request.text);
  if (command.kind !== 'generate') throw new UsageError('This button belongs to a /kling generate command.', 'generate');
  const { config, catalog, queue, pending, workspaces, metrics } = deps;
  const quote = quoteRequest(catalog, command.prompt, command.flags, config.DEFAULT_MODEL);
  const price = { creditPriceUsd: config.CREDIT_PRICE_USD };

  const offerDuplicate = (earlier: Generation) => ({ reply: replies.duplicateOffer(earlier, quote, pending.encode({ ...request, skipDuplicate: true }), price) });

  const { confirmThresholdMc } = await workspaces.settings(scope.teamId);
  if (!request.confirmed && confirmThresholdMc !== undefined && quote.credits > confirmThresholdMc) {
    // An identical earlier result is offered before asking to confirm a price.
    const earlier = request.skipDuplicate ? undefined : await queue.findSucceededDuplicate(scope.teamId, quote.request);
    if (earlier) return offerDuplicate(earlier);
    return { reply: replies.confirmPrice(quote, confirmThresholdMc, pending.encode({ ...request, skipDuplicate: true, confirmed: true }), price) };
  }

  const asked = { ...scope, quote };
  const result = await (request.skipDuplicate
    ? queue.enqueue(asked, claim)
    : queue.enqueueUnlessDuplicate(asked, claim));
  if ('claimed' in result) return { reply: replies.alreadyQueued(result.claimed), claimed: result.claimed };
  if ('duplicate' in result) return offerDuplicate(result.duplicate);
  if (result.events.length) void deps.notifier.deliverAlerts(scope.teamId);
  if (!result.ok) {
    metrics.refusals.inc({ reason: 'kind' in result.refusal ? result.refusal.kind : result.refusal.budget.scope });
    const approvalValue = pending.encode({ ...request, skipDuplicate: true, confirmed: true });
    return { reply: replies.refusal(result.refusal, quote, { ...price, approvalValue }) };
  }
  return { jobId: result.generations[0]!.id };
}

/** After jobs are queued (a command, a batch, an approval): their cards go up, and the worker is told there is work once the burst's acks are out. */
export function startJobs(jobIds: string[], deps: SlackDeps): void {
  for (const id of jobIds) void deps.cards.sync(id);
  void deps.acksFirst.settled().then(() => deps.worker.wake());
}

/** A pending request carried by a button, re-run for the person who clicked it. */
async function onRequestButton(args: { ack: () => Promise<void>; body: BlockButtonAction; respond: (m: object) => Promise<unknown> }, deps: SlackDeps, change: Partial<PendingRequest>) {
  const { ack, body, respond } = args;
  await ack();
  const request = deps.pending.decode(body.actions[0]!.value ?? '');
  if (!request) {
    await respond({ replace_original: true, ...replies.notice('This button has expired. Run the /kling command again.') });
    return;
  }
  const scope = { teamId: teamOf(body), channelId: body.channel?.id ?? '', userId: body.user.id };
  try {
    const claim = request.claim ? { key: `button:${request.claim}` } : undefined;
    const outcome = await requestVideo({ ...request, ...change }, scope, deps, claim);
    await respond({ replace_original: true, ...(outcome.reply ?? replies.notice(':white_check_mark: Queued. The job card is in the channel.')) });
    if (outcome.jobId) startJobs([outcome.jobId], deps);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await respond({ replace_original: true, ...replies.usageError(error) });
  }
}

export const generate: Feature = {
  commands: {
    async generate(ctx, deps) {
      // The trigger_id names this command: a replayed request, or Slack's retry of it, finds its job instead.
      const claim = ctx.triggerId ? { key: `command:${ctx.triggerId}` } : undefined;
      const outcome = requestVideo({ text: ctx.text }, ctx.scope, deps, claim);
      // A burst on one budget can keep the hold waiting: rather than miss Slack's 3 s, say so and follow up.
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => {
        timer = setTimeout(resolve, Math.max(0, ctx.ackDeadline - performance.now()), 'late');
      });
      const first = await Promise.race([outcome, late]).finally(() => clearTimeout(timer));
      if (first !== 'late') {
        await ctx.ack(first.reply);
        if (first.jobId) startJobs([first.jobId], deps);
        return;
      }
      await ctx.ack(replies.notice(':hourglass_flowing_sand: Checking your budgets…'));
      const result = await outcome;
      await ctx.respond({ response_type: 'ephemeral', replace_original: true, ...(result.reply ?? replies.notice(':white_check_mark: Queued. The job card is in the channel.')) });
      if (result.jobId) startJobs([result.jobId], deps);
    },

    async estimate(ctx, deps) {
      const { prompt, flags } = ctx.command;
      // The price does not depend on the words: an estimate without a prompt is priced with a stand-in.
      const quote = quoteRequest(deps.catalog, prompt || 'estimate', flags, deps.config.DEFAULT_MODEL, 'estimate');
      await deps.workspaces.settings(ctx.scope.teamId);
      const usages = await deps.ledger.usageFor(ctx.scope);
      await ctx.ack(replies.estimate(quote, usages, { creditPriceUsd: deps.config.CREDIT_PRICE_USD }));
    },
  },

  register(app: App, deps: SlackDeps) {
    app.action<BlockButtonAction>(ActionId.confirmGenerate, (args) => onRequestButton(args, deps, { confirmed: true }));
    app.action<BlockButtonAction>(ActionId.generateAnyway, (args) => onRequestButton(args, deps, { skipDuplicate: true }));
    app.action<BlockButtonAction>(ActionId.dismiss, async ({ ack, respond }) => {
      await ack();
      await respond({ delete_original: true });
    });
  },
};
