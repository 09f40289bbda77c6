import type { App, BlockButtonAction } from '@slack/bolt';
import type { RequestScope } from '../../budget';
import { FOLLOW_UP_KINDS, followUpQuote, type FollowUpKind } from '../../generations';
import type { Quote } from '../../pricing';
import type { VideoAsk, VideoOutcome } from '../../requests';
import type { Message } from '../blocks/kit';
import * as replies from '../blocks/replies';
import { parseCommand, UsageError } from '../commands/parse';
import { quoteImages, quoteRequest } from '../commands/request';
import type { CommandContext, Feature, SlackDeps } from '../deps';
import { escape } from '../escape';
import { ActionId } from '../ids';
import type { PendingRequest } from '../pending';
import { teamOf } from './payload';

/**
 * `/kling generate`, `/kling image` and `/kling estimate`, the buttons that carry a request on (confirm the
 * price, generate anyway), and a finished card's follow-ups. The reservation happens before the ack: one
 * transaction in the queue.
 */

const QUEUED = ':white_check_mark: Queued. The job card is in the channel.';

/**
 * Prices the request a command or button carries and asks for the video; the answer as a message, none when
 * the job was queued (its card says so in the channel).
 */
export async function requestVideo(
  request: PendingRequest,
  scope: RequestScope,
  deps: SlackDeps,
  claimKey?: string,
): Promise<Message | undefined> {
  const { quote, parent, approvable, tag } = await quoteOf(request, scope.teamId, deps);
  const claim = claimKey ? { key: claimKey } : undefined;
  // A re-roll asks for a new take of the same request: an identical earlier result is not what was asked.
  const skipDuplicate = request.skipDuplicate || parent?.followUp === 'reroll';
  const ask = { quote, confirmed: request.confirmed, skipDuplicate, parent, tag };
  const outcome = await deps.requests.video(scope, ask, claim);
  return render(outcome);

  function render(answer: VideoOutcome): Message | undefined {
    const price = { creditPriceUsd: deps.config.CREDIT_PRICE_USD };
    // Each button carries the request on; none asks again about a duplicate already offered.
    const carried = (change: Partial<PendingRequest>) =>
      deps.pending.encode({ ...request, skipDuplicate: true, ...change });
    switch (answer.kind) {
      case 'queued':
        return undefined;
      case 'claimed':
        return replies.alreadyQueued(answer.jobs);
      case 'duplicate':
        return replies.duplicateOffer(answer.earlier, quote, carried({}), price);
      case 'confirm':
        return replies.confirmPrice(quote, answer.thresholdMc, carried({ confirmed: true }), price);
      case 'refused':
        return replies.refusal(answer.refusal, quote, {
          ...price,
          approvalValue: approvable ? carried({ confirmed: true }) : undefined,
        });
    }
  }
}

/**
 * What a request costs: a command priced from its text, or a card's follow-up priced from the job it follows.
 * A /kling generate or image command and a follow-up can be sent to the admins (approvals price them again here).
 */
export async function quoteOf(
  request: PendingRequest,
  teamId: string,
  deps: SlackDeps,
): Promise<{ quote: Quote; parent?: VideoAsk['parent']; approvable: boolean; tag?: string }> {
  const { catalog, config, queue } = deps;
  if (request.followUp) {
    const { of, kind } = request.followUp;
    const job = await queue.get(of);
    // A card seen from another workspace (a shared channel) follows up nothing there.
    const quote = job?.teamId === teamId ? followUpQuote(job, kind, catalog) : undefined;
    if (!quote) {
      const what = kind === 'reroll' ? 're-roll' : kind;
      throw new UsageError(`Job \`${escape(of)}\` has no ${what} to offer here: nothing was held.`);
    }
    // A follow-up is charged to the parent's project, as the parent was.
    return { quote, parent: { id: of, followUp: kind }, approvable: true, tag: job!.tag };
  }
  const command = parseCommand(request.text);
  if (command.kind === 'image') {
    return { quote: quoteImages(catalog, command.prompt, command.flags), approvable: true };
  }
  if (command.kind !== 'generate') {
    throw new UsageError('This button belongs to a /kling generate command.', 'generate');
  }
  // An image kept in Slack goes to Kling as its bytes, checked first; a public URL goes as it is.
  const image = command.flags.image && (await deps.images.forKling(command.flags.image));
  const flags = { ...command.flags, ...(image && { image }) };
  const quote = quoteRequest(catalog, command.prompt, flags, config.DEFAULT_MODEL);
  return { quote, approvable: true, tag: command.flags.tag };
}

type ButtonArgs = { ack: () => Promise<void>; body: BlockButtonAction; respond: (m: object) => Promise<unknown> };

/**
 * A finished card's Re-roll, Extend or Upgrade: a new request of whoever clicked, answered only to them (the card
 * stays). The card is in the channel for everyone, so the button's claim is per person: a double click queues
 * one job, and the card, re-rendered with fresh claims, takes the next click.
 */
async function onFollowUp(args: ButtonArgs, deps: SlackDeps, kind: FollowUpKind) {
  const { ack, body, respond } = args;
  await ack();
  const answer = (reply: Message) => respond({ response_type: 'ephemeral', replace_original: false, ...reply });
  const request = deps.pending.decode(body.actions[0]!.value ?? '');
  if (!request?.followUp || request.followUp.kind !== kind) {
    await answer(replies.notice('This button has expired. Run the /kling command again.'));
    return;
  }
  const scope = { teamId: teamOf(body), channelId: body.channel?.id ?? '', userId: body.user.id };
  try {
    const claimKey = request.claim ? `button:${request.claim}:${scope.userId}` : undefined;
    const reply = await requestVideo(request, scope, deps, claimKey);
    await answer(reply ?? replies.notice(QUEUED));
    if (!reply) void deps.cards.sync(request.followUp.of);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await answer(replies.usageError(error));
  }
}

/** A pending request carried by a button, re-run for the person who clicked it. */
async function onRequestButton(
  args: { ack: () => Promise<void>; body: BlockButtonAction; respond: (m: object) => Promise<unknown> },
  deps: SlackDeps,
  change: Partial<PendingRequest>,
) {
  const { ack, body, respond } = args;
  await ack();
  const request = deps.pending.decode(body.actions[0]!.value ?? '');
  if (!request) {
    await respond({
      replace_original: true,
      ...replies.notice('This button has expired. Run the /kling command again.'),
    });
    return;
  }
  const scope = { teamId: teamOf(body), channelId: body.channel?.id ?? '', userId: body.user.id };
  try {
    const claimKey = request.claim ? `button:${request.claim}` : undefined;
    const answer = await requestVideo({ ...request, ...change }, scope, deps, claimKey);
    await respond({ replace_original: true, ...(answer ?? replies.notice(QUEUED)) });
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    await respond({ replace_original: true, ...replies.usageError(error) });
  }
}

/** `/kling generate` and `/kling image`: the request path, answered within Slack's 3 s. */
async function requestFromCommand(ctx: CommandContext<'generate' | 'image'>, deps: SlackDeps): Promise<void> {
  // The trigger_id names this command: a replayed request, or Slack's retry of it, finds its job instead.
  const claimKey = ctx.triggerId ? `command:${ctx.triggerId}` : undefined;
  const answer = requestVideo({ text: ctx.text }, ctx.scope, deps, claimKey);
  // A burst on one budget can keep the hold waiting: rather than miss Slack's 3 s, say so and follow up.
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, ctx.ackDeadline - performance.now()), 'late');
  });
  const first = await Promise.race([answer, late]).finally(() => clearTimeout(timer));
  if (first !== 'late') return ctx.ack(first);
  await ctx.ack(replies.notice(':hourglass_flowing_sand: Checking your budgets…'));
  await ctx.respond({
    response_type: 'ephemeral',
    replace_original: true,
    ...((await answer) ?? replies.notice(QUEUED)),
  });
}

export const generate: Feature = {
  commands: {
    generate: requestFromCommand,
    // Images take the same path as videos: priced, held, confirmed, checked for duplicates, carded and settled.
    image: requestFromCommand,
    async estimate(ctx, deps) {
      const { prompt, flags } = ctx.command;
      // The price does not depend on the words: an estimate without a prompt is priced with a stand-in.
      const quote = quoteRequest(deps.catalog, prompt || 'estimate', flags, deps.config.DEFAULT_MODEL, 'estimate');
      // The project tag's budget, if the request carries one, must take it too.
      const usages = await deps.requests.usageFor({ ...ctx.scope, tag: flags.tag });
      await ctx.ack(replies.estimate(quote, usages, { creditPriceUsd: deps.config.CREDIT_PRICE_USD }));
    },
  },

  register(app: App, deps: SlackDeps) {
    app.action<BlockButtonAction>(ActionId.confirmGenerate, (args) => onRequestButton(args, deps, { confirmed: true }));
    app.action<BlockButtonAction>(ActionId.generateAnyway, (args) =>
      onRequestButton(args, deps, { skipDuplicate: true }),
    );
    for (const kind of FOLLOW_UP_KINDS) {
      app.action<BlockButtonAction>(ActionId[kind], (args) => onFollowUp(args, deps, kind));
    }
    app.action<BlockButtonAction>(ActionId.dismiss, async ({ ack, respond }) => {
      await ack();
      await respond({ delete_original: true });
    });
  },
};
