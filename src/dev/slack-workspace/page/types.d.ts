// What app.js reads: the snapshot GET /ui/state answers (page.ts builds it) and the Block Kit it renders.
// Checked by `npm run typecheck` through this folder's tsconfig.json.

declare global {
  interface Window {
    /** Every shortcode Slack knows → its emoji, from /emoji.js. */
    SLACK_EMOJI?: Record<string, string>;
  }
}

export interface TextObject {
  type?: string;
  text?: string;
  emoji?: boolean;
}
export interface Option {
  text?: TextObject;
  value: string;
  description?: TextObject;
}
export interface Confirm {
  title?: TextObject;
  text?: TextObject;
  confirm?: TextObject;
  deny?: TextObject;
  style?: string;
}

/**
 * One node of Block Kit as the page meets it: a block, an element, a text object or a rich-text node.
 * Every field is optional except the type; each case reads the fields its type has.
 */
export interface BlockNode {
  type: string;
  block_id?: string;
  action_id?: string;
  text?: TextObject;
  fields?: TextObject[];
  accessory?: BlockNode;
  element?: BlockNode;
  elements?: BlockNode[];
  label?: TextObject;
  hint?: TextObject;
  title?: TextObject;
  optional?: boolean;
  /** An input block whose element tells the app of each change (block_actions). */
  dispatch_action?: boolean;
  dispatch_action_config?: { trigger_actions_on?: ('on_enter_pressed' | 'on_character_entered')[] };
  style?: string;
  url?: string;
  value?: string;
  confirm?: Confirm;
  image_url?: string;
  alt_text?: string;
  title_url?: string;
  video_url?: string;
  user_id?: string;
  placeholder?: TextObject;
  options?: Option[];
  option_groups?: { label?: TextObject; options?: Option[] }[];
  initial_option?: Option;
  initial_options?: Option[];
  initial_user?: string;
  initial_conversation?: string;
  initial_channel?: string;
  initial_date?: string;
  initial_time?: string;
  initial_value?: string;
  multiline?: boolean;
  max_length?: number;
  is_decimal_allowed?: boolean;
  min_value?: string;
  max_value?: string;
}

/** A `markdown` block carries its text as a string, not a text object. */
export type Block = BlockNode | (Omit<BlockNode, 'text'> & { type: 'markdown'; text: string });

/** What Slack holds for one input element in a view's state.values. */
export interface InputState {
  value?: string;
  selected_option?: Option;
  selected_options?: Option[];
  selected_user?: string;
  selected_conversation?: string;
  selected_channel?: string;
  selected_date?: string;
  selected_time?: string;
}
export type StateValues = Record<string, Record<string, InputState>>;

export interface View {
  hash?: string;
  callback_id?: string;
  title?: TextObject;
  close?: TextObject;
  submit?: TextObject;
  blocks?: Block[];
  state?: { values?: StateValues };
}

export interface SharedFile {
  name?: string;
  title?: string;
  mimetype?: string;
  url?: string;
}

export interface Message {
  channel: string;
  ts: string;
  threadTs?: string;
  user: string;
  text: string;
  blocks?: Block[];
  files?: SharedFile[];
  ephemeralTo?: string;
  editedTs?: string;
  replyBroadcast?: boolean;
}

export interface Person {
  id: string;
  name: string;
  isAdmin: boolean;
  isBot: boolean;
}
export interface Conversation {
  id: string;
  name: string;
  kind: 'channel' | 'im' | 'mpim';
}

/** Everything one person sees. */
export interface Snapshot {
  version: number;
  me?: { id: string; name: string; isAdmin: boolean };
  users: Person[];
  people: string[];
  botUserId: string;
  commands: { command: string; description?: string; usageHint?: string }[];
  /** The app's message shortcuts, in each message's menu. */
  shortcuts: { name: string; callbackId: string }[];
  messagesTabReadOnly: boolean;
  conversations: Conversation[];
  messages: Record<string, Message[]>;
  modal?: { id: string; view: View; errors: Record<string, string>; depth: number };
  home?: { id: string; view: View };
}

export type Place = { kind: 'channel'; id: string | undefined } | { kind: 'app'; tab: string | undefined };

/** Where rendered blocks live: a message, or a view (modal or home) with its state and errors. */
export type RenderContext =
  | { kind: 'message'; channel: string; ts: string }
  | {
      kind: 'view';
      viewId: string;
      state?: StateValues;
      errors?: Record<string, string>;
      collect?: () => Record<string, Record<string, unknown>>;
    };
