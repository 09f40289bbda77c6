import type { App, BlockAction, MessageShortcut, ViewSubmitAction } from '@slack/bolt';
import { AnimateField, animateModal, type AnimateChoice, type AnimateTarget } from '../blocks/animate';
import { credits } from '../blocks/format';
import * as replies from '../blocks/replies';
import { isTag } from '../../budget/tags';
import { parseCommand, TAG_RULE, UsageError } from '../commands/parse';
import { quoteRequest } from '../commands/request';
import type { Feature, SlackDeps } from '../deps';
import { ActionId } from '../ids';
import { requestVideo } from '../video-request';
import { teamOf } from './payload';

/**
 * The message shortcut "Animate with Kling": on a message carrying an image, a modal (prompt, model, mode,
 * length, audio, project tag) priced as the person chooses; on submit, the same path as `/kling generate --image`.
 */

type Values = Record<
  string,
  Record<
    string,
    { value?: string | null; selected_option?: { value: string } | null; selected_options?: { value: string }[] }
  >
>;

const defaultChoice = (deps: SlackDeps): AnimateChoice => {
  const models = deps.catalog.models('image2video');
  const model = models.includes(deps.config.DEFAULT_MODEL) ? deps.config.DEFAULT_MODEL : models[0]!;
  const can = deps.catalog.capabilities(model);
  return {
    prompt: '',
    model,
    mode: can.modes[0],
    duration: can.durations.includes(5) ? 5 : can.durations[0]!,
    audio: false,
    tag: '',
  };
};

/** The choice in the modal's state; a mode or length the newly chosen model lacks gives way to its first. */
function readChoice(values: Values, deps: SlackDeps): AnimateChoice {
  const read = (field: string) => values[field]?.[field];
  const model = read(AnimateField.model)?.selected_option?.value ?? defaultChoice(deps).model;
  const can = deps.catalog.capabilities(model);
  const mode = read(AnimateField.mode)?.selected_option?.value;
  const duration = Number(read(AnimateField.duration)?.selected_option?.value ?? 5);
  return {
    prompt: read(AnimateField.prompt)?.value ?? '',
    model,
    mode: can.modes.length ? (mode && can.modes.includes(mode) ? mode : can.modes[0]) : undefined,
    duration: can.durations.includes(duration) ? duration : can.durations[0]!,
    audio: can.sound && Boolean(read(AnimateField.audio)?.selected_options?.length),
    tag: read(AnimateField.tag)?.value?.trim() ?? '',
  };
}

/** The words /kling generate would take for this choice: the modal goes through the same path. */
function commandText(choice: AnimateChoice, image: string): string {
  const flags = [
    `--model ${choice.model}`,
    choice.mode && `--mode ${choice.mode}`,
    `--duration ${choice.duration}`,
    choice.audio && '--audio',
    `--image ${image}`,
    choice.tag && `--tag ${choice.tag}`,
  ];
  return ['generate', choice.prompt.replace(/\s+/g, ' ').trim(), ...flags].filter(Boolean).join(' ');
}

function view(deps: SlackDeps, choice: AnimateChoice, target: AnimateTarget) {
  const can = deps.catalog.capabilities(choice.model);
  let price: string;
  try {
    // The price does not depend on the picture (fetched and checked on submit): a stand-in link prices it.
    // Nor on the tag, which is checked on submit under its own field.
    const command = parseCommand(commandText({ ...choice, tag: '' }, 'https://example.com/image.png'));
    if (command.kind !== 'generate') throw new UsageError('Not a generate command.', 'generate');
    const quote = quoteRequest(deps.catalog, command.prompt, command.flags, deps.config.DEFAULT_MODEL);
    price = `*${credits(quote.priceMc, deps.config.CREDIT_PRICE_USD)}* · ${quote.description}`;
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    price = `:warning: ${error.message}`;
  }
  return animateModal({
    choice,
    target,
    price,
    models: deps.catalog.models('image2video'),
    modes: can.modes,
    durations: can.durations,
    sound: can.sound,
  });
}

const targetOf = (metadata: string | undefined): AnimateTarget | undefined => {
  try {
    const parsed = JSON.parse(metadata ?? '') as Partial<AnimateTarget>;
    return typeof parsed.channelId === 'string' && typeof parsed.image === 'string'
      ? (parsed as AnimateTarget)
      : undefined;
  } catch {
    return undefined;
  }
};

export const animate: Feature = {
  register(app: App, deps: SlackDeps) {
    app.shortcut<MessageShortcut>({ callback_id: ActionId.animate, type: 'message_action' }, async (args) => {
      const { ack, shortcut, client, respond } = args;
      await ack();
      // Bolt types the message loosely: its files are read with care.
      const files = ((shortcut.message as { files?: unknown }).files ?? []) as {
        mimetype?: string;
        permalink?: string;
        url_private?: string;
      }[];
      const image = files.find((f) => f.mimetype?.startsWith('image/'));
      const link = image?.url_private ?? image?.permalink;
      if (!link) {
        await respond({ response_type: 'ephemeral', ...replies.notice('That message carries no image to animate.') });
        return;
      }
      const target = { channelId: shortcut.channel.id, image: link };
      await client.views.open({
        trigger_id: shortcut.trigger_id,
        view: view(deps, defaultChoice(deps), target) as never,
      });
    });

    // Each change re-prices the modal.
    for (const field of [AnimateField.model, AnimateField.mode, AnimateField.duration, AnimateField.audio]) {
      app.action<BlockAction>(field, async ({ ack, body, client }) => {
        await ack();
        const target = targetOf(body.view?.private_metadata);
        if (!body.view || !target) return;
        const choice = readChoice((body.view.state?.values ?? {}) as Values, deps);
        await client.views.update({
          view_id: body.view.id,
          hash: body.view.hash,
          view: view(deps, choice, target) as never,
        });
      });
    }

    app.view<ViewSubmitAction>(ActionId.animate, async ({ ack, body, view: submitted, client }) => {
      const target = targetOf(submitted.private_metadata);
      if (!target)
        return ack({ response_action: 'errors', errors: { [AnimateField.prompt]: 'This form is no longer known.' } });
      const choice = readChoice((submitted.state?.values ?? {}) as Values, deps);
      if (choice.tag && !isTag(choice.tag))
        return ack({ response_action: 'errors', errors: { [AnimateField.tag]: `A tag ${TAG_RULE}.` } });
      await ack();
      const scope = { teamId: teamOf(body), channelId: target.channelId, userId: body.user.id };
      const tell = (message: object) =>
        client.chat
          .postEphemeral({ channel: scope.channelId, user: scope.userId, ...message } as never)
          .catch((error: unknown) => deps.logger.warn({ err: error, scope }, 'animate: the answer could not be shown'));
      try {
        // Queued: the job card says so in the channel; anything else is the person's to read.
        const reply = await requestVideo({ text: commandText(choice, target.image) }, scope, deps);
        if (reply) await tell(reply);
      } catch (error) {
        if (!(error instanceof UsageError)) throw error;
        await tell(replies.notice(`:warning: ${error.message}`));
      }
    });
  },
};
