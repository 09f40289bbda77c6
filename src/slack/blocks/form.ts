import type {
  Checkboxes,
  ConversationsSelect,
  HeaderBlock,
  HomeView,
  InputBlock,
  InputBlockElement,
  ModalView,
  PlainTextElement,
  PlainTextInput,
  RadioButtons,
  StaticSelect,
  UsersSelect,
} from '@slack/types';
import { truncate } from '../escape';
import type { Block } from './kit';

/**
 * Constructors for modals and App Home views and their inputs, in the manner of `kit.ts`: each clips
 * its text to Slack's limit. Plain text is escaped here, like the rest of the bot's text.
 */

const VIEW_LIMITS = {
  blocks: 100,
  title: 24,
  button: 24,
  label: 2000,
  placeholder: 150,
  optionText: 75,
  optionValue: 150,
  header: 150,
  options: 100,
  choices: 10,
} as const;

export type View = ModalView | HomeView;

function plain(text: string, max: number): PlainTextElement {
  return { type: 'plain_text', text: truncate(text, max) || ' ', emoji: true };
}

export function header(text: string): HeaderBlock {
  return { type: 'header', text: plain(text, VIEW_LIMITS.header) };
}

export interface Choice {
  text: string;
  value: string;
}

function option(choice: Choice) {
  return { text: plain(choice.text, VIEW_LIMITS.optionText), value: choice.value.slice(0, VIEW_LIMITS.optionValue) };
}

/** An input block whose block_id and element action_id are both `id`, so a submission reads values[id][id]. */
export function input(
  id: string,
  label: string,
  element: InputBlockElement,
  options: { optional?: boolean; hint?: string; dispatch?: boolean } = {},
): InputBlock {
  return {
    type: 'input',
    // A change is sent to the app at once (the animate and batch modals re-price as the person chooses).
    ...(options.dispatch ? { dispatch_action: true } : {}),
    block_id: id,
    label: plain(label, VIEW_LIMITS.label),
    element: { ...element, action_id: id },
    ...(options.optional ? { optional: true } : {}),
    ...(options.hint ? { hint: plain(options.hint, VIEW_LIMITS.label) } : {}),
  };
}

export function textInput(
  options: {
    multiline?: boolean;
    maxLength?: number;
    placeholder?: string;
    initial?: string;
    /** With the input block's dispatch: when Slack tells the app (its default is Enter). */
    dispatchOn?: ('on_enter_pressed' | 'on_character_entered')[];
  } = {},
): PlainTextInput {
  return {
    type: 'plain_text_input',
    ...(options.dispatchOn ? { dispatch_action_config: { trigger_actions_on: options.dispatchOn } } : {}),
    ...(options.multiline ? { multiline: true } : {}),
    ...(options.maxLength ? { max_length: Math.min(options.maxLength, 3000) } : {}),
    ...(options.placeholder ? { placeholder: plain(options.placeholder, VIEW_LIMITS.placeholder) } : {}),
    ...(options.initial !== undefined ? { initial_value: options.initial } : {}),
  };
}

export function select(choices: Choice[], options: { initial?: string; placeholder?: string } = {}): StaticSelect {
  const shown = choices.slice(0, VIEW_LIMITS.options);
  const initial = shown.find((c) => c.value === options.initial);
  return {
    type: 'static_select',
    options: shown.map(option),
    ...(initial ? { initial_option: option(initial) } : {}),
    ...(options.placeholder ? { placeholder: plain(options.placeholder, VIEW_LIMITS.placeholder) } : {}),
  };
}

export function radios(choices: Choice[], initial?: string): RadioButtons {
  const shown = choices.slice(0, VIEW_LIMITS.choices);
  const picked = shown.find((c) => c.value === initial);
  return { type: 'radio_buttons', options: shown.map(option), ...(picked ? { initial_option: option(picked) } : {}) };
}

export function checkboxes(choices: Choice[], initial: string[] = []): Checkboxes {
  const shown = choices.slice(0, VIEW_LIMITS.choices);
  const picked = shown.filter((c) => initial.includes(c.value));
  return {
    type: 'checkboxes',
    options: shown.map(option),
    ...(picked.length ? { initial_options: picked.map(option) } : {}),
  };
}

export function userSelect(initial?: string): UsersSelect {
  return {
    type: 'users_select',
    ...(initial ? { initial_user: initial } : {}),
    placeholder: plain('Pick a person', VIEW_LIMITS.placeholder),
  };
}

export function channelSelect(initial?: string): ConversationsSelect {
  return {
    type: 'conversations_select',
    ...(initial ? { initial_conversation: initial } : {}),
    placeholder: plain('Pick a channel', VIEW_LIMITS.placeholder),
  };
}

/**
 * A modal with at most 100 blocks; `metadata` comes back with the submission (private_metadata, ≤ 3000), and so
 * does `externalId` (unique in the workspace, ≤ 255), which the bot can choose before Slack assigns the view's id.
 */
export function modal(input: {
  callbackId: string;
  title: string;
  submit?: string;
  close?: string;
  metadata?: unknown;
  externalId?: string;
  blocks: Block[];
}): ModalView {
  return {
    type: 'modal',
    callback_id: input.callbackId,
    ...(input.externalId ? { external_id: input.externalId } : {}),
    title: plain(input.title, VIEW_LIMITS.title),
    ...(input.submit ? { submit: plain(input.submit, VIEW_LIMITS.button) } : {}),
    close: plain(input.close ?? 'Cancel', VIEW_LIMITS.button),
    ...(input.metadata !== undefined ? { private_metadata: JSON.stringify(input.metadata).slice(0, 3000) } : {}),
    blocks: input.blocks.slice(0, VIEW_LIMITS.blocks),
  };
}

export function homeView(blocks: Block[]): HomeView {
  return { type: 'home', blocks: blocks.slice(0, VIEW_LIMITS.blocks) };
}
