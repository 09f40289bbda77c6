import type {
  ActionsBlock,
  ActionsBlockElement,
  Button,
  ContextBlock,
  DividerBlock,
  KnownBlock,
  SectionBlock,
  SectionBlockAccessory,
} from '@slack/types';
import { truncate } from '../escape';

/**
 * Small constructors for the Block Kit pieces the bot uses. Each one clips its text to Slack's limit,
 * so a builder can pass any length and still produce a valid message. Text given to `mrkdwn` must
 * already be escaped (builders escape user text with `escape`/`truncate`); `plain` escapes itself.
 */

export type Block = KnownBlock;
export interface Message {
  text: string;
  blocks: Block[];
  /** False for a message whose links are a list, not something to preview. */
  unfurl_links?: boolean;
  unfurl_media?: boolean;
}

const LIMITS = { blocks: 50, section: 3000, context: 2000, buttonText: 75, buttonValue: 2000, fallback: 3000 } as const;

const clip = (text: string, max: number) => (text.length <= max ? text : truncate(text, max, { escaped: false }));

export function section(mrkdwn: string, accessory?: SectionBlockAccessory): SectionBlock {
  return {
    type: 'section',
    text: { type: 'mrkdwn', text: clip(mrkdwn, LIMITS.section), verbatim: true },
    ...(accessory ? { accessory } : {}),
  };
}

export function context(...mrkdwn: string[]): ContextBlock {
  return {
    type: 'context',
    elements: mrkdwn.slice(0, 10).map((text) => ({ type: 'mrkdwn', text: clip(text, LIMITS.context), verbatim: true })),
  };
}

export function divider(): DividerBlock {
  return { type: 'divider' };
}

export function actions(...elements: ActionsBlockElement[]): ActionsBlock {
  return { type: 'actions', elements: elements.slice(0, 25) };
}

export function button(
  text: string,
  actionId: string,
  value: string,
  options: {
    style?: 'primary' | 'danger';
    confirm?: { title: string; text: string; confirm: string; deny: string };
  } = {},
): Button {
  const dialog = options.confirm && {
    title: { type: 'plain_text' as const, text: clip(options.confirm.title, 100) },
    text: { type: 'mrkdwn' as const, text: clip(options.confirm.text, 300) },
    confirm: { type: 'plain_text' as const, text: clip(options.confirm.confirm, 30) },
    deny: { type: 'plain_text' as const, text: clip(options.confirm.deny, 30) },
  };
  return {
    type: 'button',
    text: { type: 'plain_text', text: clip(text, LIMITS.buttonText), emoji: true },
    action_id: actionId,
    value: value.slice(0, LIMITS.buttonValue),
    ...(options.style ? { style: options.style } : {}),
    ...(dialog ? { confirm: dialog } : {}),
  };
}

/** A message with notification text (plain, short) and at most 50 blocks. */
export function message(text: string, blocks: Block[]): Message {
  return { text: clip(text, LIMITS.fallback), blocks: blocks.slice(0, LIMITS.blocks) };
}
