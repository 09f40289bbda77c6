import type { RequestScope } from '../budget';
import { followUpQuote } from '../generations';
import type { Quote } from '../pricing';
import type { VideoAsk, VideoOutcome } from '../requests';
import type { Message } from './blocks/kit';
import * as replies from './blocks/replies';
import { parseCommand, UsageError } from './commands/parse';
import { quoteImages, quoteRequest } from './commands/request';
import type { SlackDeps } from './deps';
import { escape } from './escape';
import type { PendingRequest } from './pending';

/**
 * A request a command, a button, a modal or an approval carries, priced and asked for: the one path from Slack
 * to `Requests.video` that the listeners share (ARCHITECTURE.md: a listener never imports another).
 */

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
  const { quote, parent, tag } = await quoteOf(request, scope.teamId, deps);
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
          approvalValue: carried({ confirmed: true }),
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
  /** 'as-given': price a Slack image link without fetching it (the price does not depend on its bytes). */
  images: 'fetch' | 'as-given' = 'fetch',
): Promise<{ quote: Quote; parent?: VideoAsk['parent']; tag?: string }> {
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
    return { quote, parent: { id: of, followUp: kind }, tag: job!.tag };
  }
  const command = parseCommand(request.text);
  if (command.kind === 'image') {
    return { quote: quoteImages(catalog, command.prompt, command.flags) };
  }
  if (command.kind !== 'generate') {
    throw new UsageError('This button belongs to a /kling generate command.', 'generate');
  }
  // An image kept in Slack goes to Kling as its bytes, checked first; a public URL goes as it is.
  const image = images === 'fetch' && command.flags.image && (await deps.images.forKling(command.flags.image));
  const flags = { ...command.flags, ...(image && { image }) };
  const quote = quoteRequest(catalog, command.prompt, flags, config.DEFAULT_MODEL);
  return { quote, tag: command.flags.tag };
}
