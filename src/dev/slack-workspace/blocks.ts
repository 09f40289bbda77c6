/**
 * Block Kit validation with Slack's limits, so a message the bot builds is refused here exactly where
 * Slack would refuse it. Problems read like Slack's own `response_metadata.messages`:
 * "[ERROR] must be no more than 3000 characters [json-pointer:/blocks/0/text/text]".
 */

export type Surface = 'message' | 'modal' | 'home';

type Json = Record<string, unknown>;

const BLOCK_LIMIT: Record<Surface, number> = { message: 50, modal: 100, home: 100 };

/** Element types Slack accepts, and whether each may sit in an actions block, a section accessory or an input block. */
const ELEMENTS: Record<string, { actions?: boolean; accessory?: boolean; input?: boolean }> = {
  button: { actions: true, accessory: true },
  overflow: { actions: true, accessory: true },
  image: { accessory: true },
  static_select: { actions: true, accessory: true, input: true },
  multi_static_select: { actions: true, accessory: true, input: true },
  external_select: { actions: true, accessory: true, input: true },
  users_select: { actions: true, accessory: true, input: true },
  multi_users_select: { actions: true, accessory: true, input: true },
  conversations_select: { actions: true, accessory: true, input: true },
  multi_conversations_select: { actions: true, accessory: true, input: true },
  channels_select: { actions: true, accessory: true, input: true },
  multi_channels_select: { actions: true, accessory: true, input: true },
  checkboxes: { actions: true, accessory: true, input: true },
  radio_buttons: { actions: true, accessory: true, input: true },
  datepicker: { actions: true, accessory: true, input: true },
  timepicker: { actions: true, accessory: true, input: true },
  datetimepicker: { actions: true, input: true },
  plain_text_input: { actions: true, input: true },
  number_input: { input: true },
  email_text_input: { input: true },
  url_text_input: { input: true },
  rich_text_input: { input: true },
};

const SELECTS_WITH_OPTIONS = new Set([
  'static_select',
  'multi_static_select',
  'checkboxes',
  'radio_buttons',
  'overflow',
]);

class Problems {
  readonly list: string[] = [];
  add(pointer: string, message: string): void {
    this.list.push(`[ERROR] ${message} [json-pointer:${pointer}]`);
  }
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function maxLength(p: Problems, pointer: string, value: unknown, max: number): void {
  if (typeof value === 'string' && value.length > max) p.add(pointer, `must be no more than ${max} characters`);
}

/** A text object: {type: plain_text|mrkdwn, text}. `plainOnly` for labels, headers, button text. */
function text(p: Problems, pointer: string, value: unknown, max: number, plainOnly = false): void {
  if (!isObject(value)) return p.add(pointer, 'must provide an object');
  const type = value.type;
  if (type !== 'plain_text' && type !== 'mrkdwn')
    return p.add(`${pointer}/type`, 'must be either "plain_text" or "mrkdwn"');
  if (plainOnly && type !== 'plain_text') return p.add(`${pointer}/type`, 'must be "plain_text"');
  if (typeof value.text !== 'string') return p.add(`${pointer}/text`, 'must provide a string');
  if (value.text.length === 0) return p.add(`${pointer}/text`, 'must be more than 0 characters');
  maxLength(p, `${pointer}/text`, value.text, max);
}

function option(p: Problems, pointer: string, value: unknown): void {
  if (!isObject(value)) return p.add(pointer, 'must provide an object');
  text(p, `${pointer}/text`, value.text, 75);
  if (typeof value.value !== 'string') p.add(`${pointer}/value`, 'must provide a string');
  else maxLength(p, `${pointer}/value`, value.value, 150);
  if (value.description !== undefined) text(p, `${pointer}/description`, value.description, 75);
}

function confirm(p: Problems, pointer: string, value: unknown): void {
  if (!isObject(value)) return p.add(pointer, 'must provide an object');
  text(p, `${pointer}/title`, value.title, 100, true);
  text(p, `${pointer}/text`, value.text, 300);
  text(p, `${pointer}/confirm`, value.confirm, 30, true);
  text(p, `${pointer}/deny`, value.deny, 30, true);
}

function element(
  p: Problems,
  pointer: string,
  value: unknown,
  where: 'actions' | 'accessory' | 'input',
  actionIds: Set<string>,
): void {
  if (!isObject(value)) return p.add(pointer, 'must provide an object');
  const type = String(value.type ?? '');
  const spec = ELEMENTS[type];
  if (!spec) return p.add(`${pointer}/type`, `unsupported type: ${type || '(none)'}`);
  if (!spec[where]) return p.add(`${pointer}/type`, `${type} is not allowed in this block`);
  if (type === 'image') {
    if (typeof value.image_url !== 'string' && !isObject(value.slack_file))
      p.add(`${pointer}/image_url`, 'must provide a string');
    if (typeof value.alt_text !== 'string') p.add(`${pointer}/alt_text`, 'must provide a string');
    return;
  }
  if (value.action_id !== undefined) {
    if (typeof value.action_id !== 'string' || value.action_id.length === 0)
      p.add(`${pointer}/action_id`, 'must provide a non-empty string');
    else {
      maxLength(p, `${pointer}/action_id`, value.action_id, 255);
      if (actionIds.has(value.action_id)) p.add(`${pointer}/action_id`, `duplicate action_id: ${value.action_id}`);
      actionIds.add(value.action_id);
    }
  }
  if (value.confirm !== undefined) confirm(p, `${pointer}/confirm`, value.confirm);
  if (value.placeholder !== undefined) text(p, `${pointer}/placeholder`, value.placeholder, 150, true);
  if (type === 'button') {
    text(p, `${pointer}/text`, value.text, 75, true);
    if (value.value !== undefined) maxLength(p, `${pointer}/value`, value.value, 2000);
    if (value.url !== undefined) maxLength(p, `${pointer}/url`, value.url, 3000);
    if (value.style !== undefined && value.style !== 'primary' && value.style !== 'danger')
      p.add(`${pointer}/style`, 'must be either "primary" or "danger"');
  }
  if (SELECTS_WITH_OPTIONS.has(type)) {
    const options = value.options;
    const groups = value.option_groups;
    if (!Array.isArray(options) && !Array.isArray(groups)) return p.add(`${pointer}/options`, 'must provide an array');
    if (Array.isArray(options)) {
      const max = type === 'overflow' ? 5 : type === 'checkboxes' || type === 'radio_buttons' ? 10 : 100;
      const min = type === 'overflow' ? 2 : 1;
      if (options.length < min) p.add(`${pointer}/options`, `must provide at least ${min} items`);
      if (options.length > max) p.add(`${pointer}/options`, `must be no more than ${max} items`);
      options.forEach((o, i) => option(p, `${pointer}/options/${i}`, o));
    }
  }
  if (type === 'plain_text_input' && typeof value.max_length === 'number' && value.max_length > 3000) {
    p.add(`${pointer}/max_length`, 'must be no more than 3000');
  }
  if (value.dispatch_action_config !== undefined) {
    const on = isObject(value.dispatch_action_config) ? value.dispatch_action_config.trigger_actions_on : undefined;
    if (
      !Array.isArray(on) ||
      on.length === 0 ||
      on.some((t) => t !== 'on_enter_pressed' && t !== 'on_character_entered')
    )
      p.add(
        `${pointer}/dispatch_action_config/trigger_actions_on`,
        'must provide a non-empty array of on_enter_pressed or on_character_entered',
      );
  }
  if (type === 'number_input') numberInput(p, pointer, value);
  if (type === 'datepicker' && value.initial_date !== undefined) {
    const valid = typeof value.initial_date === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value.initial_date);
    if (!valid) p.add(`${pointer}/initial_date`, 'must match the format YYYY-MM-DD');
  }
}

/** A number input: is_decimal_allowed is required; its figures are strings of numbers, whole unless decimals are allowed. */
function numberInput(p: Problems, pointer: string, value: Json): void {
  if (typeof value.is_decimal_allowed !== 'boolean')
    return p.add(`${pointer}/is_decimal_allowed`, 'must provide a boolean');
  const figures: Record<string, number> = {};
  for (const key of ['initial_value', 'min_value', 'max_value']) {
    const figure = value[key];
    if (figure === undefined) continue;
    const pattern = value.is_decimal_allowed ? /^-?\d+(\.\d+)?$/ : /^-?\d+$/;
    if (typeof figure !== 'string' || !pattern.test(figure))
      p.add(`${pointer}/${key}`, value.is_decimal_allowed ? 'must be a number' : 'must be a whole number');
    else figures[key] = Number(figure);
  }
  const { initial_value: initial, min_value: min, max_value: max } = figures;
  if (min !== undefined && max !== undefined && min > max)
    p.add(`${pointer}/min_value`, 'must be no more than max_value');
  if (initial !== undefined && ((min !== undefined && initial < min) || (max !== undefined && initial > max)))
    p.add(`${pointer}/initial_value`, 'must be between min_value and max_value');
}

function block(p: Problems, pointer: string, value: unknown, blockIds: Set<string>): void {
  if (!isObject(value)) return p.add(pointer, 'must provide an object');
  if (value.block_id !== undefined) {
    if (typeof value.block_id !== 'string' || value.block_id.length === 0)
      p.add(`${pointer}/block_id`, 'must provide a non-empty string');
    else {
      maxLength(p, `${pointer}/block_id`, value.block_id, 255);
      if (blockIds.has(value.block_id)) p.add(`${pointer}/block_id`, `duplicate block_id: ${value.block_id}`);
      blockIds.add(value.block_id);
    }
  }
  const actionIds = new Set<string>();
  switch (value.type) {
    case 'section': {
      if (value.text === undefined && value.fields === undefined)
        return p.add(pointer, 'must provide either text or fields');
      if (value.text !== undefined) text(p, `${pointer}/text`, value.text, 3000);
      if (value.fields !== undefined) {
        if (!Array.isArray(value.fields)) return p.add(`${pointer}/fields`, 'must provide an array');
        if (value.fields.length > 10) p.add(`${pointer}/fields`, 'must be no more than 10 items');
        value.fields.forEach((f, i) => text(p, `${pointer}/fields/${i}`, f, 2000));
      }
      if (value.accessory !== undefined) element(p, `${pointer}/accessory`, value.accessory, 'accessory', actionIds);
      return;
    }
    case 'header':
      return text(p, `${pointer}/text`, value.text, 150, true);
    case 'divider':
      return;
    case 'image':
      if (typeof value.image_url !== 'string' && !isObject(value.slack_file))
        p.add(`${pointer}/image_url`, 'must provide a string');
      else maxLength(p, `${pointer}/image_url`, value.image_url, 3000);
      if (typeof value.alt_text !== 'string') p.add(`${pointer}/alt_text`, 'must provide a string');
      else maxLength(p, `${pointer}/alt_text`, value.alt_text, 2000);
      if (value.title !== undefined) text(p, `${pointer}/title`, value.title, 2000, true);
      return;
    case 'context': {
      if (!Array.isArray(value.elements) || value.elements.length === 0)
        return p.add(`${pointer}/elements`, 'must provide at least 1 item');
      if (value.elements.length > 10) p.add(`${pointer}/elements`, 'must be no more than 10 items');
      value.elements.forEach((e, i) => {
        const at = `${pointer}/elements/${i}`;
        if (isObject(e) && e.type === 'image') {
          if (typeof e.image_url !== 'string' && !isObject(e.slack_file))
            p.add(`${at}/image_url`, 'must provide a string');
          if (typeof e.alt_text !== 'string') p.add(`${at}/alt_text`, 'must provide a string');
        } else text(p, at, e, 3000);
      });
      return;
    }
    case 'actions': {
      if (!Array.isArray(value.elements) || value.elements.length === 0)
        return p.add(`${pointer}/elements`, 'must provide at least 1 item');
      if (value.elements.length > 25) p.add(`${pointer}/elements`, 'must be no more than 25 items');
      value.elements.forEach((e, i) => element(p, `${pointer}/elements/${i}`, e, 'actions', actionIds));
      return;
    }
    case 'input':
      text(p, `${pointer}/label`, value.label, 2000, true);
      if (value.hint !== undefined) text(p, `${pointer}/hint`, value.hint, 2000, true);
      if (value.element === undefined) return p.add(`${pointer}/element`, 'must provide an object');
      return element(p, `${pointer}/element`, value.element, 'input', actionIds);
    case 'markdown':
      if (typeof value.text !== 'string' || value.text.length === 0)
        p.add(`${pointer}/text`, 'must provide a non-empty string');
      return;
    case 'rich_text':
      if (!Array.isArray(value.elements)) p.add(`${pointer}/elements`, 'must provide an array');
      return;
    case 'file':
      if (typeof value.external_id !== 'string') p.add(`${pointer}/external_id`, 'must provide a string');
      return;
    case 'video':
      for (const key of ['video_url', 'thumbnail_url', 'alt_text']) {
        if (typeof value[key] !== 'string') p.add(`${pointer}/${key}`, 'must provide a string');
      }
      text(p, `${pointer}/title`, value.title, 200, true);
      return;
    default:
      p.add(`${pointer}/type`, `unsupported type: ${String(value.type ?? '(none)')}`);
  }
}

/** Every problem Slack would report for these blocks on this surface; empty when they are valid. */
export function blockProblems(blocks: unknown, surface: Surface, pointer = '/blocks'): string[] {
  const p = new Problems();
  if (!Array.isArray(blocks)) {
    p.add(pointer, 'must provide an array');
    return p.list;
  }
  const limit = BLOCK_LIMIT[surface];
  if (blocks.length > limit) p.add(pointer, `must be no more than ${limit} items`);
  const blockIds = new Set<string>();
  blocks.forEach((b, i) => block(p, `${pointer}/${i}`, b, blockIds));
  return p.list;
}

/** Slack's error for these blocks ("invalid_blocks"), or undefined when Slack would accept them. */
export function validateBlocks(blocks: unknown, surface: Surface): string | undefined {
  return blockProblems(blocks, surface).length > 0 ? 'invalid_blocks' : undefined;
}

/** Problems with a modal or home view as views.open/push/update/publish check them (Slack answers invalid_arguments). */
export function viewProblems(view: unknown, expected?: 'modal' | 'home'): string[] {
  const p = new Problems();
  if (!isObject(view)) {
    p.add('/view', 'must provide an object');
    return p.list;
  }
  if (view.type !== 'modal' && view.type !== 'home') p.add('/view/type', 'must be either "modal" or "home"');
  else if (expected && view.type !== expected) p.add('/view/type', `must be "${expected}"`);
  if (view.type === 'modal') {
    text(p, '/view/title', view.title, 24, true);
    if (view.submit !== undefined) text(p, '/view/submit', view.submit, 24, true);
    if (view.close !== undefined) text(p, '/view/close', view.close, 24, true);
    const hasInput = Array.isArray(view.blocks) && view.blocks.some((b) => isObject(b) && b.type === 'input');
    if (hasInput && view.submit === undefined)
      p.add('/view/submit', 'must provide submit when the view has input blocks');
  }
  maxLength(p, '/view/callback_id', view.callback_id, 255);
  maxLength(p, '/view/private_metadata', view.private_metadata, 3000);
  maxLength(p, '/view/external_id', view.external_id, 255);
  p.list.push(...blockProblems(view.blocks, view.type === 'home' ? 'home' : 'modal', '/view/blocks'));
  return p.list;
}
