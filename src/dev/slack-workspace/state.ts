import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** What the workspace holds: people, conversations, messages, views and files, optionally kept in a JSON file. */

export interface WorkspaceUser {
  id: string;
  name: string;
  isAdmin: boolean;
  isOwner: boolean;
  isBot: boolean;
}
export interface WorkspaceChannel {
  id: string;
  name: string;
  kind: 'channel' | 'im' | 'mpim';
  members: string[];
  /** Archived: nothing can be posted in it. */
  archived?: boolean;
}

export interface StoredFile {
  id: string;
  name: string;
  title: string;
  mimetype: string;
  size: number;
  url: string;
}

export interface StoredMessage {
  channel: string;
  ts: string;
  /** Set on thread replies: the parent's ts. */
  threadTs?: string;
  /** Author: a person's id or the bot user's id. */
  user: string;
  botId?: string;
  text: string;
  blocks?: unknown[];
  attachments?: unknown[];
  files?: StoredFile[];
  /** Only this person sees it ("Only visible to you"). */
  ephemeralTo?: string;
  editedTs?: string;
  replyBroadcast?: boolean;
  /** Message metadata the app attached (chat.postMessage `metadata`). */
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
  /** How it arrived: a Web API call, a response_url POST, a command's ack body, or a person typing. */
  via: 'api' | 'response_url' | 'ack' | 'person';
}

export interface StoredView {
  id: string;
  userId: string;
  type: 'modal' | 'home';
  /** The view as the bot sent it, plus the fields Slack adds (id, hash, state, root_view_id, ...). */
  view: Record<string, unknown>;
  /** A modal is open while it is on the person's stack; a home view stays open. */
  open: boolean;
  /** From a view_submission answered with response_action "errors": block_id → message. */
  errors?: Record<string, string>;
  updatedAt: number;
}

interface Persisted {
  messages: StoredMessage[];
  views: StoredView[];
  conversations: WorkspaceChannel[];
  files: (StoredFile & { data: string })[];
  lastTsMicros: number;
}

/** Where a response_url posts: the conversation and person it came from, and the message an action was on. */
export interface ResponseTarget {
  channel: string;
  userId: string;
  messageTs?: string;
  ephemeral?: boolean;
  issuedAt: number;
  uses: number;
}

export const BOT_USER_ID = 'U0KLINGBOT';
export const BOT_ID = 'B0KLINGBOT';
export const APP_ID = 'A0KLINGAPP';
export const SLACKBOT_ID = 'USLACKBOT';

export function randomId(prefix: string, length = 10): string {
  const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const bytes = randomBytes(length);
  let id = prefix;
  for (const byte of bytes) id += alphabet[byte % alphabet.length];
  return id;
}

export class WorkspaceState {
  readonly users = new Map<string, WorkspaceUser>();
  readonly conversations = new Map<string, WorkspaceChannel>();
  messages: StoredMessage[] = [];
  readonly views = new Map<string, StoredView>();
  /** Each person's open modals, bottom first (views.push adds on top). */
  readonly stacks = new Map<string, string[]>();
  readonly files = new Map<string, StoredFile & { data: Buffer }>();
  /** trigger_ids handed to the bot: usable once, within 3 seconds, by views.open/views.push. Not persisted. */
  readonly triggers = new Map<string, { userId: string; issuedAt: number; used: boolean }>();
  /** response_url tokens handed to the bot (5 uses within 30 minutes). Not persisted. */
  readonly responseTargets = new Map<string, ResponseTarget>();
  private lastTsMicros = 0;
  private version = 0;
  private readonly listeners = new Set<(version: number) => void>();
  private saveTimer?: NodeJS.Timeout;

  constructor(
    readonly teamId: string,
    users: { id: string; name: string; isAdmin?: boolean; isOwner?: boolean }[],
    channels: { id: string; name: string }[],
    private readonly dataFile?: string,
  ) {
    this.users.set(BOT_USER_ID, { id: BOT_USER_ID, name: 'Kling', isAdmin: false, isOwner: false, isBot: true });
    this.users.set(SLACKBOT_ID, { id: SLACKBOT_ID, name: 'Slackbot', isAdmin: false, isOwner: false, isBot: true });
    for (const u of users)
      this.users.set(u.id, {
        id: u.id,
        name: u.name,
        isAdmin: Boolean(u.isAdmin || u.isOwner),
        isOwner: Boolean(u.isOwner),
        isBot: false,
      });
    const people = users.map((u) => u.id);
    for (const c of channels)
      this.conversations.set(c.id, { id: c.id, name: c.name, kind: 'channel', members: [...people, BOT_USER_ID] });
    if (dataFile) this.load(dataFile);
  }

  /** Archives a channel, or takes the bot out of it (as /remove @kling does): its posts there are refused. */
  closeChannel(channelId: string, how: 'archive' | 'remove-bot'): void {
    const channel = this.conversations.get(channelId);
    if (!channel) throw new Error(`no channel ${channelId}`);
    if (how === 'archive') channel.archived = true;
    else channel.members = channel.members.filter((m) => m !== BOT_USER_ID);
    this.changed();
  }

  /** Slack timestamps: "seconds.micros", unique and increasing within the workspace. */
  nextTs(): string {
    const micros = Math.max(Date.now() * 1000, this.lastTsMicros + 1);
    this.lastTsMicros = micros;
    return `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  }

  /** The channel a chat.* `channel` argument names: an id, a #name, or a person's id (their DM with the app). */
  resolveChannel(ref: string): WorkspaceChannel | undefined {
    const byId = this.conversations.get(ref);
    if (byId) return byId;
    const name = ref.replace(/^#/, '');
    for (const c of this.conversations.values()) if (c.kind === 'channel' && c.name === name) return c;
    const user = this.users.get(ref);
    if (user && !user.isBot) return this.openDm([user.id]);
    return undefined;
  }

  /** The app's DM with one person (D…), or a group DM (G…) with several. */
  openDm(userIds: string[]): WorkspaceChannel {
    const sorted = [...new Set(userIds)].sort();
    const id =
      sorted.length === 1
        ? `D${sorted[0]!.replace(/^U/, '')}`
        : `G${sorted
            .map((u) => u.replace(/^U/, ''))
            .join('')
            .slice(0, 20)}`;
    let channel = this.conversations.get(id);
    if (!channel) {
      channel = {
        id,
        name: sorted.join(','),
        kind: sorted.length === 1 ? 'im' : 'mpim',
        members: [...sorted, BOT_USER_ID],
      };
      this.conversations.set(id, channel);
      this.changed();
    }
    return channel;
  }

  findMessage(channel: string, ts: string): StoredMessage | undefined {
    return this.messages.find((m) => m.channel === channel && m.ts === ts);
  }

  addMessage(message: StoredMessage): StoredMessage {
    this.messages.push(message);
    this.changed();
    return message;
  }

  removeMessage(message: StoredMessage): void {
    this.messages = this.messages.filter((m) => m !== message);
    this.changed();
  }

  /** Called after every mutation: wakes the page and schedules a save. */
  changed(): void {
    this.version += 1;
    for (const listener of this.listeners) listener(this.version);
    if (this.dataFile && !this.saveTimer) this.saveTimer = setTimeout(() => this.save(), 200);
  }

  get currentVersion(): number {
    return this.version;
  }

  subscribe(listener: (version: number) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  save(): void {
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = undefined;
    if (!this.dataFile) return;
    const data: Persisted = {
      messages: this.messages,
      views: [...this.views.values()],
      conversations: [...this.conversations.values()].filter((c) => c.kind !== 'channel'),
      files: [...this.files.values()].map((f) => ({ ...f, data: f.data.toString('base64') })),
      lastTsMicros: this.lastTsMicros,
    };
    mkdirSync(dirname(this.dataFile), { recursive: true });
    // Write then rename, so a crash mid-write never leaves half a file.
    writeFileSync(`${this.dataFile}.tmp`, JSON.stringify(data));
    renameSync(`${this.dataFile}.tmp`, this.dataFile);
  }

  private load(file: string): void {
    let data: Persisted;
    try {
      data = JSON.parse(readFileSync(file, 'utf8')) as Persisted;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw new Error(
        `The offline workspace data file ${file} is unreadable (${(error as Error).message}); delete it or start with --reset`,
      );
    }
    this.messages = data.messages ?? [];
    // A modal belongs to the session that opened it: after a restart none is open.
    for (const v of data.views ?? []) this.views.set(v.id, { ...v, open: v.type === 'home' });
    for (const c of data.conversations ?? []) this.conversations.set(c.id, c);
    for (const f of data.files ?? []) this.files.set(f.id, { ...f, data: Buffer.from(f.data, 'base64') });
    this.lastTsMicros = data.lastTsMicros ?? 0;
  }
}
