import { ActionId } from '../ids';
import { context, type Block } from './kit';
import { checkboxes, input, modal, select, textInput, type View } from './form';

/** The "Animate with Kling" modal: an image from a Slack message turned into a video. */

export const AnimateField = {
  prompt: 'animate_prompt',
  model: 'animate_model',
  mode: 'animate_mode',
  duration: 'animate_duration',
  audio: 'animate_audio',
  tag: 'animate_tag',
} as const;

/** What the person chose so far. */
export interface AnimateChoice {
  prompt: string;
  model: string;
  mode?: string;
  duration: number;
  audio: boolean;
  /** The project tag (as `--tag`), or empty. */
  tag: string;
}

/** Carried by the modal: where the job card goes and which Slack file to animate. */
export interface AnimateTarget {
  channelId: string;
  image: string;
}

export interface AnimateModalOptions {
  choice: AnimateChoice;
  target: AnimateTarget;
  models: string[];
  /** The chosen model's modes, lengths and whether it can add audio. */
  modes: string[];
  durations: number[];
  sound: boolean;
  /** The price of the current choice, or why it has none. */
  price: string;
}

const choices = (values: string[], label = (v: string) => v) => values.map((v) => ({ text: label(v), value: v }));

export function animateModal(options: AnimateModalOptions): View {
  const { choice } = options;
  const blocks: Block[] = [
    input(
      AnimateField.prompt,
      'What should happen in the video?',
      textInput({ multiline: true, maxLength: 2500, initial: choice.prompt, placeholder: 'The cat turns and waves' }),
      { optional: true },
    ),
    input(AnimateField.model, 'Model', select(choices(options.models), { initial: choice.model }), { dispatch: true }),
  ];
  if (options.modes.length) {
    const modes = select(choices(options.modes), { initial: choice.mode });
    blocks.push(input(AnimateField.mode, 'Mode', modes, { dispatch: true }));
  }
  const lengths = select(
    choices(options.durations.map(String), (d) => `${d} s`),
    { initial: String(choice.duration) },
  );
  blocks.push(input(AnimateField.duration, 'Length', lengths, { dispatch: true }));
  if (options.sound) {
    const audio = checkboxes([{ text: 'Add audio', value: 'audio' }], choice.audio ? ['audio'] : []);
    blocks.push(input(AnimateField.audio, 'Audio', audio, { optional: true, dispatch: true }));
  }
  blocks.push(
    input(
      AnimateField.tag,
      'Project tag',
      textInput({ maxLength: 32, initial: choice.tag, placeholder: 'spring-launch' }),
      { optional: true, hint: "Lowercase letters, digits and dashes. The tag's budget must take the video too." },
    ),
  );
  blocks.push(context(options.price));
  return modal({
    callbackId: ActionId.animate,
    title: 'Animate with Kling',
    submit: 'Queue the video',
    metadata: options.target,
    blocks,
  });
}
