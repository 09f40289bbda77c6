import { createHash } from 'node:crypto';
import { blockProblems, viewProblems } from './blocks';
import {
  APP_ID,
  BOT_ID,
  BOT_USER_ID,
  randomId,
  type StoredFile,
  type StoredMessage,
  type StoredView,
  type WorkspaceState,
} from './state';

/** The Slack Web API methods the bot uses, answering like Slack: HTTP 200 with {ok:false,error} for every platform error, 429 + Retry-After when rate limited. */

export interface ApiCall {
  method: string;
  args: Record<string, unknown>;
  ok: boolean;
  error?: string;
}
export interface FaultSpec {
  method: string;
  error?: string;
  httpStatus?: number;
  retryAfterSec?: number;
  times?: number;
  /** The call takes effect, then its answer is lost: the caller gets the fault (an answer lost on its way back). */
  afterEffect?: boolean;
}
export interface ApiAnswer {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

type Args = Record<string, unknown>;

class ApiError extends Error {
  constructor(
    readonly error: string,
    readonly messages?: string[],
  ) {
    super(error);
  }
}

/** Fields @slack/web-api JSON-stringifies when it form-encodes a call. */
const JSON_FIELDS = ['blocks', 'attachments', 'view', 'files', 'metadata'];
const TRIGGER_TTL_MS = 3000;
const MAX_TEXT = 40_000;

const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : undefined;
const bool = (v: unknown): boolean => v === true || v === 'true' || v === '1' || v === 1;

/** Parses a request body as Slack does: form-encoded, JSON or multipart; JSON-valued fields decoded. */
export async function parseArgs(contentType: string | undefined, raw: Buffer, query: URLSearchParams): Promise<Args> {
  const args: Args = Object.fromEntries(query);
  const type = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (type === 'application/json') {
    Object.assign(args, raw.length ? (JSON.parse(raw.toString('utf8')) as Args) : {});
  } else if (type === 'multipart/form-data') {
    const form = await new Response(raw, { headers: { 'content-type': contentType! } }).formData();
    for (const [key, value] of form)
      args[key] = typeof value === 'string' ? value : Buffer.from(await value.arrayBuffer());
  } else {
    Object.assign(args, Object.fromEntries(new URLSearchParams(raw.toString('utf8'))));
  }
  return args;
}

function decodeJsonFields(args: Args): void {
  for (const field of JSON_FIELDS) {
    const value = args[field];
    if (typeof value !== 'string') continue;
    try {
      args[field] = JSON.parse(value);
    } catch {
      throw new ApiError(field === 'blocks' ? 'invalid_blocks_format' : 'invalid_arguments', [
        `[ERROR] ${field} is not valid JSON`,
      ]);
    }
  }
}

function mimetypeOf(filename: string): string {
  const ext = filename.toLowerCase().split('.').pop() ?? '';
  const known: Record<string, string> = {
    png: 'image/png',
    jpg: 'image/jpeg',
    jpeg: 'image/jpeg',
    gif: 'image/gif',
    svg: 'image/svg+xml',
    mp4: 'video/mp4',
    csv: 'text/csv',
    txt: 'text/plain',
    json: 'application/json',
    pdf: 'application/pdf',
  };
  return known[ext] ?? 'application/octet-stream';
}

/** Event metadata as Slack keeps it: an event_type and an object payload; anything else is not kept. */
function eventMetadata(value: unknown): StoredMessage['metadata'] {
  const m = value as { event_type?: unknown; event_payload?: unknown } | undefined;
  if (typeof m?.event_type !== 'string' || !m.event_payload || typeof m.event_payload !== 'object') return undefined;
  return { event_type: m.event_type, event_payload: m.event_payload as Record<string, unknown> };
}

/** Slack gives every block and element without an id a random one; state.values and actions are keyed by them. */
export function assignIds(blocks: unknown): unknown[] | undefined {
  if (!Array.isArray(blocks)) return undefined;
  return blocks.map((block: Record<string, unknown>) => {
    const withId: Record<string, unknown> = { ...block, block_id: block.block_id ?? randomId('', 5) };
    for (const key of ['element', 'accessory'] as const) {
      const el = block[key] as Record<string, unknown> | undefined;
      if (el && el.type !== 'image' && el.action_id === undefined) withId[key] = { ...el, action_id: randomId('', 5) };
    }
    if (block.type === 'actions' && Array.isArray(block.elements)) {
      withId.elements = block.elements.map((el: Record<string, unknown>) =>
        el.action_id === undefined ? { ...el, action_id: randomId('', 5) } : el,
      );
    }
    return withId;
  });
}

export class WebApi {
  readonly calls: ApiCall[] = [];
  private faults: (FaultSpec & { left: number })[] = [];

  constructor(
    private readonly state: WorkspaceState,
    private readonly botToken: string,
    private readonly baseUrl: () => string,
    /** With an app-level token the app is in Socket Mode: apps.connections.open answers with `open()`'s URL. */
    private readonly socketMode?: { appToken: string; open: () => string },
  ) {}

  injectFault(spec: FaultSpec): void {
    this.faults.push({ ...spec, left: spec.times ?? 1 });
  }

  /** A fault for this method (or "*"), consumed; shared with the response_url endpoint ("response_url"). */
  takeFault(method: string): (FaultSpec & { left: number }) | undefined {
    const fault = this.faults.find((f) => (f.method === method || f.method === '*') && f.left > 0);
    if (fault) fault.left -= 1;
    this.faults = this.faults.filter((f) => f.left > 0);
    return fault;
  }

  /** Answers POST /api/<method>. */
  async handle(method: string, authorization: string | undefined, args: Args): Promise<ApiAnswer> {
    const fault = this.takeFault(method);
    if (!fault?.afterEffect) return this.answer(method, authorization, args, fault);
    this.answer(method, authorization, args, undefined);
    return this.answer(method, authorization, args, { ...fault, afterEffect: false });
  }

  private answer(method: string, authorization: string | undefined, args: Args, fault?: FaultSpec): ApiAnswer {
    const { token, ...recorded } = args;
    if (fault?.httpStatus === 429) {
      const retryAfter = String(fault.retryAfterSec ?? 1);
      this.calls.push({ method, args: recorded, ok: false, error: 'ratelimited' });
      return { status: 429, headers: { 'retry-after': retryAfter }, body: { ok: false, error: 'ratelimited' } };
    }
    if (fault?.httpStatus && fault.httpStatus !== 200) {
      this.calls.push({ method, args: recorded, ok: false, error: `http_${fault.httpStatus}` });
      return { status: fault.httpStatus, headers: {}, body: { ok: false, error: fault.error ?? 'fatal_error' } };
    }
    try {
      const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1];
      const presented = bearer ?? str(token);
      if (!presented) throw new ApiError('not_authed');
      if (presented !== this.botToken && presented !== this.socketMode?.appToken) throw new ApiError('invalid_auth');
      // The app-level token opens Socket Mode connections and nothing else; the bot token cannot open them.
      if ((presented === this.botToken) === (method === 'apps.connections.open'))
        throw new ApiError('not_allowed_token_type');
      if (fault) throw new ApiError(fault.error ?? 'fatal_error');
      decodeJsonFields(recorded);
      const handler = this.methods[method];
      if (!handler) throw new ApiError('unknown_method');
      const result = handler(recorded);
      this.calls.push({ method, args: recorded, ok: true });
      return { status: 200, headers: {}, body: { ok: true, ...result } };
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      this.calls.push({ method, args: recorded, ok: false, error: error.error });
      const body: Record<string, unknown> = { ok: false, error: error.error };
      if (error.messages) body.response_metadata = { messages: error.messages };
      return { status: 200, headers: {}, body };
    }
  }

  /** A person posts a file (an image to animate): stored, and shown in the channel as their message. */
  postFileAs(userId: string, channelId: string, filename: string, data: Buffer, text = ''): StoredMessage {
    const channel = this.channel(channelId);
    const id = randomId('F');
    const url = `${this.baseUrl()}/files/${id}/${encodeURIComponent(filename)}`;
    const file = { id, name: filename, title: filename, mimetype: mimetypeOf(filename), size: data.length, url };
    this.state.files.set(id, { ...file, data });
    const ts = this.state.nextTs();
    return this.state.addMessage({ channel: channel.id, ts, user: userId, text, files: [file], via: 'person' });
  }

  /** Whether a request for a file's bytes may have them: the bot's token, as Slack asks of url_private. */
  mayDownload(authorization: string | undefined): boolean {
    return authorization?.match(/^Bearer\s+(.+)$/i)?.[1] === this.botToken;
  }

  /** Receives the bytes files.uploadV2 POSTs to an upload_url (multipart field "body" from @slack/web-api, or a raw body). */
  async receiveUpload(fileId: string, contentType: string | undefined, raw: Buffer): Promise<boolean> {
    const file = this.state.files.get(fileId);
    if (!file) return false;
    let data = raw;
    if ((contentType ?? '').startsWith('multipart/form-data')) {
      const args = await parseArgs(contentType, raw, new URLSearchParams());
      const part = args.body ?? args.file ?? args.content;
      data = Buffer.isBuffer(part) ? part : Buffer.from(String(part ?? ''));
    }
    file.data = data;
    file.size = data.length;
    return true;
  }

  // ---- helpers shared by the methods -------------------------------------------------------

  channel(ref: unknown) {
    const channel = str(ref) ? this.state.resolveChannel(str(ref)!) : undefined;
    if (!channel) throw new ApiError('channel_not_found');
    return channel;
  }

  private checkMessageContent(args: Args, requireContent: boolean): void {
    const text = typeof args.text === 'string' ? args.text : undefined;
    if (requireContent && !text && args.blocks === undefined && args.attachments === undefined)
      throw new ApiError('no_text');
    if (text && text.length > MAX_TEXT) throw new ApiError('msg_too_long');
    if (args.blocks !== undefined) {
      const problems = blockProblems(args.blocks, 'message');
      if (problems.length) throw new ApiError('invalid_blocks', problems);
    }
  }

  /** A message as the Web API returns it. */
  wireMessage(m: StoredMessage, withMetadata = false): Record<string, unknown> {
    const wire: Record<string, unknown> = {
      type: 'message',
      user: m.user,
      text: m.text,
      ts: m.ts,
      team: this.state.teamId,
    };
    if (m.botId) Object.assign(wire, { bot_id: m.botId, app_id: APP_ID });
    if (m.blocks) wire.blocks = m.blocks;
    if (m.attachments) wire.attachments = m.attachments;
    if (m.threadTs) wire.thread_ts = m.threadTs;
    if (m.editedTs) wire.edited = { user: m.user, ts: m.editedTs };
    if (m.files) wire.files = m.files.map((f) => this.wireFile(f));
    if (m.metadata && withMetadata) wire.metadata = m.metadata;
    return wire;
  }

  private wireFile(f: StoredFile): Record<string, unknown> {
    return {
      id: f.id,
      name: f.name,
      title: f.title,
      mimetype: f.mimetype,
      filetype: f.name.split('.').pop(),
      size: f.size,
      url_private: f.url,
      url_private_download: f.url,
      permalink: f.url,
    };
  }

  /** Stores a message the bot sends through chat.postMessage or a response_url. */
  postAsBot(channel: string, args: Args, extra: Partial<StoredMessage>): StoredMessage {
    let threadTs: string | undefined;
    const wanted = str(args.thread_ts);
    if (wanted) {
      const parent = this.state.findMessage(channel, wanted);
      // Slack posts a reply to a missing parent as a top-level message, silently.
      if (parent && !parent.ephemeralTo) threadTs = parent.threadTs ?? parent.ts;
    }
    return this.state.addMessage({
      channel,
      ts: this.state.nextTs(),
      threadTs,
      user: BOT_USER_ID,
      botId: BOT_ID,
      text: typeof args.text === 'string' ? args.text : '',
      blocks: assignIds(args.blocks),
      attachments: args.attachments as unknown[] | undefined,
      replyBroadcast: threadTs ? bool(args.reply_broadcast) : undefined,
      metadata: eventMetadata(args.metadata),
      via: 'api',
      ...extra,
    });
  }

  private useTrigger(triggerId: unknown): string {
    const id = str(triggerId);
    const trigger = id ? this.state.triggers.get(id) : undefined;
    if (!trigger) throw new ApiError('invalid_trigger_id');
    if (trigger.used || Date.now() - trigger.issuedAt > TRIGGER_TTL_MS) throw new ApiError('expired_trigger_id');
    trigger.used = true;
    return trigger.userId;
  }

  private checkView(view: unknown, type: 'modal' | 'home'): Record<string, unknown> {
    const problems = viewProblems(view, type);
    if (problems.length) throw new ApiError('invalid_arguments', problems);
    return view as Record<string, unknown>;
  }

  /** Stores a new or replaced view with the fields Slack adds; input values survive where the block and action stay. */
  saveView(
    userId: string,
    view: Record<string, unknown>,
    previous?: StoredView,
    placement: { rootViewId?: string; previousViewId?: string } = {},
  ): StoredView {
    const id = previous?.id ?? randomId('V');
    const oldValues =
      (previous?.view.state as { values?: Record<string, Record<string, unknown>> } | undefined)?.values ?? {};
    const values: Record<string, Record<string, unknown>> = {};
    for (const block of (view.blocks as { block_id?: string; type?: string }[] | undefined) ?? []) {
      if (block.block_id && oldValues[block.block_id]) values[block.block_id] = oldValues[block.block_id]!;
    }
    const hash = `${Math.floor(Date.now() / 1000)}.${createHash('sha1')
      .update(JSON.stringify(view) + Math.random())
      .digest('hex')
      .slice(0, 8)}`;
    const wire: Record<string, unknown> = {
      ...view,
      blocks: assignIds(view.blocks) ?? [],
      id,
      team_id: this.state.teamId,
      private_metadata: view.private_metadata ?? '',
      callback_id: view.callback_id ?? '',
      external_id: view.external_id ?? '',
      state: { values },
      hash,
      clear_on_close: Boolean(view.clear_on_close),
      notify_on_close: Boolean(view.notify_on_close),
      root_view_id: placement.rootViewId ?? (previous?.view.root_view_id as string | undefined) ?? id,
      previous_view_id:
        placement.previousViewId ?? (previous?.view.previous_view_id as string | null | undefined) ?? null,
      app_id: APP_ID,
      app_installed_team_id: this.state.teamId,
      bot_id: BOT_ID,
    };
    const stored: StoredView = {
      id,
      userId,
      type: view.type as 'modal' | 'home',
      view: wire,
      open: previous?.open ?? true,
      updatedAt: Date.now(),
    };
    this.state.views.set(id, stored);
    this.state.changed();
    return stored;
  }

  private findView(args: Args): StoredView {
    const id = str(args.view_id);
    const external = str(args.external_id);
    const view = id
      ? this.state.views.get(id)
      : [...this.state.views.values()].find((v) => external && v.view.external_id === external);
    // A closed modal is gone in Slack: updating it fails the same way as an unknown id.
    if (!view || (view.type === 'modal' && !view.open)) throw new ApiError('not_found');
    const hash = str(args.hash);
    if (hash && hash !== view.view.hash) throw new ApiError('hash_conflict');
    return view;
  }

  /** One page of messages for conversations.history / replies: `limit` from the `cursor` (an offset here). */
  private page(found: StoredMessage[], args: Args): Record<string, unknown> {
    const limit = Math.min(999, Math.max(1, Number(str(args.limit) ?? 100)));
    const start = Number(str(args.cursor) ?? 0);
    const messages = found.slice(start, start + limit).map((m) => this.wireMessage(m, bool(args.include_all_metadata)));
    const more = start + limit < found.length;
    return { messages, has_more: more, response_metadata: { next_cursor: more ? String(start + limit) : '' } };
  }

  private user(ref: unknown) {
    const user = str(ref) ? this.state.users.get(str(ref)!) : undefined;
    if (!user) throw new ApiError('user_not_found');
    return user;
  }

  private readonly methods: Record<string, (args: Args) => Record<string, unknown>> = {
    'apps.connections.open': () => ({ url: this.socketMode!.open() }),

    'auth.test': () => ({
      url: `${this.baseUrl()}/`,
      team: 'Kling Demo',
      user: 'kling',
      team_id: this.state.teamId,
      user_id: BOT_USER_ID,
      bot_id: BOT_ID,
      is_enterprise_install: false,
    }),

    'chat.postMessage': (args) => {
      const channel = this.channel(args.channel);
      if (channel.archived) throw new ApiError('is_archived');
      // The workspace's channels are ones the bot posts in as a member (as in a private channel).
      if (!channel.members.includes(BOT_USER_ID)) throw new ApiError('not_in_channel');
      this.checkMessageContent(args, true);
      const message = this.postAsBot(channel.id, args, {});
      return { channel: channel.id, ts: message.ts, message: this.wireMessage(message) };
    },

    'chat.update': (args) => {
      const channel = this.channel(args.channel);
      const message = this.state.findMessage(channel.id, str(args.ts) ?? '');
      if (!message || message.ephemeralTo) throw new ApiError('message_not_found');
      if (message.user !== BOT_USER_ID) throw new ApiError('cant_update_message');
      this.checkMessageContent(args, false);
      if (typeof args.text === 'string') message.text = args.text;
      if (args.blocks !== undefined) message.blocks = assignIds(args.blocks);
      if (args.attachments !== undefined) message.attachments = args.attachments as unknown[];
      message.editedTs = this.state.nextTs();
      this.state.changed();
      return { channel: channel.id, ts: message.ts, text: message.text, message: this.wireMessage(message) };
    },

    'chat.postEphemeral': (args) => {
      const channel = this.channel(args.channel);
      const userId = str(args.user);
      if (!userId || !channel.members.includes(userId)) throw new ApiError('user_not_in_channel');
      this.checkMessageContent(args, true);
      const message = this.postAsBot(channel.id, args, { ephemeralTo: userId });
      return { message_ts: message.ts };
    },

    'chat.delete': (args) => {
      const channel = this.channel(args.channel);
      const message = this.state.findMessage(channel.id, str(args.ts) ?? '');
      if (!message || message.ephemeralTo) throw new ApiError('message_not_found');
      if (message.user !== BOT_USER_ID) throw new ApiError('cant_delete_message');
      this.state.removeMessage(message);
      return { channel: channel.id, ts: message.ts };
    },

    'chat.getPermalink': (args) => {
      const channel = this.channel(args.channel);
      const message = this.state.findMessage(channel.id, str(args.message_ts) ?? '');
      if (!message) throw new ApiError('message_not_found');
      return { channel: channel.id, permalink: `${this.baseUrl()}/#${channel.id}/${message.ts}` };
    },

    'views.open': (args) => {
      const userId = this.useTrigger(args.trigger_id);
      const view = this.checkView(args.view, 'modal');
      for (const old of this.state.stacks.get(userId) ?? []) this.state.views.get(old)!.open = false;
      const stored = this.saveView(userId, view);
      this.state.stacks.set(userId, [stored.id]);
      return { view: stored.view };
    },

    'views.push': (args) => {
      const userId = this.useTrigger(args.trigger_id);
      const view = this.checkView(args.view, 'modal');
      const stack = this.state.stacks.get(userId) ?? [];
      if (stack.length === 0) throw new ApiError('not_found');
      if (stack.length >= 3) throw new ApiError('push_limit_reached');
      const stored = this.saveView(userId, view, undefined, {
        rootViewId: stack[0],
        previousViewId: stack[stack.length - 1],
      });
      this.state.stacks.set(userId, [...stack, stored.id]);
      return { view: stored.view };
    },

    'views.update': (args) => {
      const existing = this.findView(args);
      const view = this.checkView(args.view, existing.type);
      const stored = this.saveView(existing.userId, view, existing);
      return { view: stored.view };
    },

    'views.publish': (args) => {
      const user = this.user(args.user_id);
      const view = this.checkView(args.view, 'home');
      const existing = [...this.state.views.values()].find((v) => v.type === 'home' && v.userId === user.id);
      const hash = str(args.hash);
      if (existing && hash && hash !== existing.view.hash) throw new ApiError('hash_conflict');
      const stored = this.saveView(user.id, view, existing);
      return { view: stored.view };
    },

    'users.info': (args) => {
      const user = this.user(args.user);
      return {
        user: {
          id: user.id,
          team_id: this.state.teamId,
          name: user.name.toLowerCase(),
          real_name: user.name,
          deleted: false,
          tz: 'Europe/London',
          tz_offset: 0,
          profile: { real_name: user.name, display_name: user.name, team: this.state.teamId },
          is_admin: user.isAdmin,
          is_owner: user.isOwner,
          is_primary_owner: false,
          is_restricted: false,
          is_ultra_restricted: false,
          is_bot: user.isBot,
          is_app_user: false,
        },
      };
    },

    'conversations.open': (args) => {
      const users = (str(args.users) ?? '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean);
      if (users.length === 0) {
        const channel = this.channel(args.channel);
        return { channel: { id: channel.id } };
      }
      for (const u of users) this.user(u);
      const channel = this.state.openDm(users);
      return { channel: { id: channel.id }, already_open: true };
    },

    'conversations.info': (args) => {
      const channel = this.channel(args.channel);
      const info: Record<string, unknown> = {
        id: channel.id,
        name: channel.kind === 'channel' ? channel.name : undefined,
        is_channel: channel.kind === 'channel',
        is_group: false,
        is_im: channel.kind === 'im',
        is_mpim: channel.kind === 'mpim',
        is_private: channel.kind !== 'channel',
        is_archived: Boolean(channel.archived),
        is_member: channel.members.includes(BOT_USER_ID),
        created: 1_700_000_000,
      };
      if (channel.kind === 'im') info.user = channel.members.find((m) => m !== BOT_USER_ID);
      return { channel: info };
    },

    // Newest first, top-level messages (and replies also sent to the channel), within oldest..latest; a page
    // of `limit` (default 100) with a cursor to the next. Metadata only with include_all_metadata, as Slack.
    'conversations.history': (args) => {
      const channel = this.channel(args.channel);
      const oldest = Number(str(args.oldest) ?? 0);
      const latest = Number(str(args.latest) ?? Infinity);
      const found = this.state.messages
        .filter((m) => m.channel === channel.id && !m.ephemeralTo && (!m.threadTs || m.replyBroadcast))
        .filter((m) => Number(m.ts) > oldest && Number(m.ts) <= latest)
        .reverse();
      return this.page(found, args);
    },

    // The parent then its replies, oldest first.
    'conversations.replies': (args) => {
      const channel = this.channel(args.channel);
      const ts = str(args.ts) ?? '';
      const parent = this.state.findMessage(channel.id, ts);
      if (!parent || parent.ephemeralTo) throw new ApiError('thread_not_found');
      const thread = this.state.messages.filter(
        (m) => m.channel === channel.id && !m.ephemeralTo && (m === parent || m.threadTs === ts),
      );
      return this.page(thread, args);
    },

    'conversations.join': (args) => {
      const channel = this.channel(args.channel);
      return {
        channel: { id: channel.id, name: channel.name, is_channel: channel.kind === 'channel', is_member: true },
      };
    },

    'files.info': (args) => {
      const file = this.state.files.get(str(args.file) ?? '');
      if (!file) throw new ApiError('file_not_found');
      return { file: this.wireFile(file) };
    },

    'files.getUploadURLExternal': (args) => {
      const filename = str(args.filename);
      const length = Number(args.length);
      if (!filename || !Number.isInteger(length) || length < 0)
        throw new ApiError('invalid_arguments', ['[ERROR] filename and length are required']);
      const id = randomId('F');
      const url = `${this.baseUrl()}/files/${id}/${encodeURIComponent(filename)}`;
      this.state.files.set(id, {
        id,
        name: filename,
        title: filename,
        mimetype: mimetypeOf(filename),
        size: length,
        url,
        data: Buffer.alloc(0),
      });
      return { upload_url: `${this.baseUrl()}/upload/${id}`, file_id: id };
    },

    'files.completeUploadExternal': (args) => {
      const list = args.files;
      if (!Array.isArray(list) || list.length === 0)
        throw new ApiError('invalid_arguments', ['[ERROR] files must be a non-empty array']);
      const files = list.map((entry: { id?: string; title?: string }) => {
        const file = entry.id ? this.state.files.get(entry.id) : undefined;
        if (!file || file.data.length === 0) throw new ApiError('file_not_found');
        if (entry.title) file.title = entry.title;
        const { data, ...shown } = file;
        return shown;
      });
      const channelRef = str(args.channel_id) ?? str(args.channels);
      if (channelRef) {
        const channel = this.channel(channelRef);
        if (args.blocks !== undefined) this.checkMessageContent(args, false);
        this.postAsBot(channel.id, { ...args, text: str(args.initial_comment) ?? '' }, { files });
      }
      return { files: files.map((f) => this.wireFile(f)) };
    },
  };
}
