import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Interactions, type BotReply } from './interactions';
import { servePage } from './page';
import { SocketMode, type EnvelopeType, type SocketEnvelope } from './socket-mode';
import { WorkspaceState, type StoredMessage, type StoredView } from './state';
import { parseArgs, WebApi, type ApiCall, type FaultSpec } from './web-api';

/**
 * An offline Slack workspace on loopback: a Slack Web API the bot talks to, Slack's side of commands,
 * clicks and modal submissions (signed as Slack signs them, or over Socket Mode), and a web page where a
 * person uses the bot.
 */

export { signSlackRequest } from './signing';
export { validateBlocks, blockProblems, viewProblems } from './blocks';
export type { StoredMessage, StoredView } from './state';

export interface SlackWorkspaceOptions {
  port?: number; // web page + Web API; 0 = any
  /** Loopback only by default. */
  host?: string;
  botUrl?: string; // where slash commands / interactions / events are POSTed (http://127.0.0.1:PORT/slack/events)
  signingSecret: string;
  botToken: string;
  /** The app-level token (xapp-…): the app is in Socket Mode, and commands, clicks and events reach it over the WebSocket it opens with this token instead of at botUrl. */
  appToken?: string;
  teamId?: string; // default T0DEMO
  users?: { id: string; name: string; isAdmin?: boolean; isOwner?: boolean }[];
  channels?: { id: string; name: string }[];
  dataFile?: string; // persist between runs (demo); none in tests
  /** How long Slack waits for an ack before it shows a timeout (default 3000 ms, as Slack). */
  ackTimeoutMs?: number;
  /** Slash commands the app declares (its manifest), suggested in the page's composer as Slack does. */
  commands?: SlashCommandInfo[];
  /** Message shortcuts the app declares (its manifest), in each message's menu on the page. */
  shortcuts?: ShortcutInfo[];
  /** The manifest's messages_tab_read_only_enabled: people read the app's Messages tab but cannot write in it. */
  messagesTabReadOnly?: boolean;
}

export interface SlashCommandInfo {
  command: string;
  description?: string;
  usageHint?: string;
}
export interface ShortcutInfo {
  name: string;
  callbackId: string;
}

export interface SlackWorkspace {
  url: string; // base; Web API at `${url}/api/` (use as SLACK_API_URL)
  /**
   * Signed exactly as Slack signs: form-encoded slash command with response_url pointing back here. Resolves with the HTTP status and the ack body;
   * in Socket Mode (as every method below) with 200 and the ack's payload, or 408 when no ack came in time.
   */
  slashCommand(input: {
    userId: string;
    channelId: string;
    text: string;
    command?: string;
  }): Promise<{ status: number; body: string }>;
  clickButton(input: {
    userId: string;
    channelId: string;
    messageTs: string;
    actionId: string;
    value?: string;
  }): Promise<{ status: number; body: string }>;
  /** A click on an element in a modal or App Home view. */
  /** `values`: what the person has entered in the view's inputs by then (a modal re-priced on a change). */
  clickViewButton(input: {
    userId: string;
    viewId: string;
    actionId: string;
    value?: string;
    values?: Record<string, Record<string, unknown>>;
  }): Promise<{ status: number; body: string }>;
  /**
   * The person changes one input of a view; the app hears of it, as in Slack, only when the input block has
   * dispatch_action (a text input on Enter, or on every character with dispatch_action_config). Undefined when not sent.
   */
  changeViewInput(input: {
    userId: string;
    viewId: string;
    blockId: string;
    value: string | string[];
    enter?: boolean;
  }): Promise<BotReply | undefined>;
  submitView(input: {
    userId: string;
    viewId: string;
    values: Record<string, Record<string, unknown>>;
  }): Promise<{ status: number; body: string }>;
  /** The person closes a modal; view_closed is sent only when the view has notify_on_close. */
  closeView(input: { userId: string; viewId: string }): Promise<BotReply | undefined>;
  openHome(userId: string): Promise<{ status: number }>;
  /** A message shortcut chosen on a message, as Slack sends it (type message_action). */
  messageShortcut(input: {
    userId: string;
    channelId: string;
    messageTs: string;
    callbackId: string;
  }): Promise<{ status: number; body: string }>;
  /** A person posts a file (an image) in a channel: their message, carrying it. */
  postFile(input: { userId: string; channelId: string; filename: string; data: Buffer; text?: string }): StoredMessage;
  messages(channelId: string): StoredMessage[]; // incl. thread replies (threadTs) and ephemerals (ephemeralTo)
  /** Web API calls in order, plus "response_url" POSTs and command "ack" bodies (token left out). */
  calls(method?: string): { method: string; args: Record<string, unknown>; ok: boolean; error?: string }[];
  views(userId?: string): StoredView[]; // modals and home tabs, latest first
  injectFault(spec: FaultSpec): void;
  /** A channel is archived (its posts answer is_archived), or the bot is removed from it (not_in_channel). */
  closeChannel(channelId: string, how: 'archive' | 'remove-bot'): void;
  /** Socket Mode: the app's open connections. */
  socketConnections(): number;
  /** Socket Mode: the envelopes sent to the app in order, each with its ack once it came. */
  envelopes(type?: EnvelopeType): SocketEnvelope[];
  waitFor<T>(predicate: () => T | undefined | false, timeoutMs?: number): Promise<T>;
  /** Where commands and interactions go, when the bot's port is known only after the workspace started. */
  setBotUrl(url: string): void;
  close(): Promise<void>;
}

export const DEFAULT_USERS = [
  { id: 'U0ADA', name: 'Ada', isAdmin: true },
  { id: 'U0GRACE', name: 'Grace' },
  { id: 'U0LINUS', name: 'Linus' },
];
export const DEFAULT_CHANNELS = [
  { id: 'C0GENERAL', name: 'general' },
  { id: 'C0VIDEO', name: 'video' },
  { id: 'C0ALERTS', name: 'kling-alerts' },
];

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

export async function startSlackWorkspace(options: SlackWorkspaceOptions): Promise<SlackWorkspace> {
  const state = new WorkspaceState(
    options.teamId ?? 'T0DEMO',
    options.users ?? DEFAULT_USERS,
    options.channels ?? DEFAULT_CHANNELS,
    options.dataFile,
  );
  let baseUrl = '';
  let botUrl = options.botUrl;
  const socketMode = options.appToken ? new SocketMode(() => baseUrl) : undefined;
  const api = new WebApi(
    state,
    options.botToken,
    () => baseUrl,
    socketMode && { appToken: options.appToken!, open: () => socketMode.open() },
  );
  const interactions = new Interactions(state, api, {
    signingSecret: options.signingSecret,
    baseUrl: () => baseUrl,
    botUrl: () => botUrl,
    ackTimeoutMs: options.ackTimeoutMs ?? 3000,
    socketMode,
  });

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent)
        sendJson(res, 500, { ok: false, error: 'internal_error', detail: (error as Error).message });
      else res.end();
    });
  });
  if (socketMode) server.on('upgrade', (req, socket, head: Buffer) => socketMode.upgrade(req, socket, head));

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    const slackPath = ['/api/', '/upload/', '/response/'].some((prefix) => path.startsWith(prefix));
    if (slackPath && (req.method === 'POST' || req.method === 'GET')) {
      const raw = req.method === 'POST' ? await readBody(req) : Buffer.alloc(0);
      if (path.startsWith('/api/')) {
        let args: Record<string, unknown>;
        try {
          args = await parseArgs(req.headers['content-type'], raw, url.searchParams);
        } catch {
          return sendJson(res, 200, { ok: false, error: 'invalid_form_data' });
        }
        const answer = await api.handle(path.slice('/api/'.length), req.headers.authorization, args);
        return sendJson(res, answer.status, answer.body, answer.headers);
      }
      if (path.startsWith('/upload/')) {
        const ok = await api.receiveUpload(
          decodeURIComponent(path.slice('/upload/'.length)),
          req.headers['content-type'],
          raw,
        );
        res.writeHead(ok ? 200 : 404, { 'content-type': 'text/plain' });
        return void res.end(ok ? `OK - ${raw.length}` : 'file_not_found');
      }
      if (path.startsWith('/response/')) {
        let args: Record<string, unknown>;
        try {
          args = await parseArgs(req.headers['content-type'], raw, new URLSearchParams());
        } catch {
          return sendJson(res, 400, { ok: false, error: 'invalid_payload' });
        }
        const answer = interactions.handleResponseUrl(path.slice('/response/'.length), args);
        return sendJson(res, answer.status, answer.body);
      }
    }
    if (req.method === 'GET' && path.startsWith('/files/')) {
      const file = state.files.get(decodeURIComponent(path.split('/')[2] ?? ''));
      if (!file) return sendJson(res, 404, { ok: false, error: 'file_not_found' });
      // url_private wants the bot's token; a person's browser (this page, which may be on another host name)
      // is signed in, and a browser says what it loads in Sec-Fetch-Dest. Slack answers anyone else with its
      // sign-in page, not an error.
      if (!api.mayDownload(req.headers.authorization) && !req.headers['sec-fetch-dest']) {
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
        return void res.end('<!DOCTYPE html><html><head><title>Sign in | Slack</title></head><body></body></html>');
      }
      res.writeHead(200, { 'content-type': file.mimetype, 'content-length': String(file.data.length) });
      return void res.end(file.data);
    }
    const appInfo = {
      commands: options.commands ?? [],
      messagesTabReadOnly: options.messagesTabReadOnly ?? false,
      shortcuts: options.shortcuts ?? [],
    };
    if (await servePage(req, res, url, state, interactions, appInfo)) return;
    sendJson(res, 404, { ok: false, error: 'not_found' });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  baseUrl = `http://${address.address === '::1' ? '[::1]' : address.address}:${address.port}`;

  return {
    url: baseUrl,
    slashCommand: (input) => interactions.slashCommand(input),
    messageShortcut: (input) => interactions.messageShortcut(input),
    postFile: (input) => interactions.postFile(input),
    clickButton: (input) => interactions.clickButton(input),
    clickViewButton: (input) => interactions.clickViewButton(input),
    changeViewInput: (input) => interactions.changeViewInput(input),
    submitView: (input) => interactions.submitView(input),
    closeView: (input) => interactions.closeView(input),
    openHome: (userId) => interactions.openHome(userId),
    messages: (channelId) => state.messages.filter((m) => m.channel === channelId),
    calls: (method?: string): ApiCall[] => api.calls.filter((c) => !method || c.method === method),
    views: (userId) =>
      [...state.views.values()].filter((v) => !userId || v.userId === userId).sort((a, b) => b.updatedAt - a.updatedAt),
    injectFault: (spec: FaultSpec) => api.injectFault(spec),
    closeChannel: (channelId, how) => state.closeChannel(channelId, how),
    socketConnections: () => socketMode?.connections ?? 0,
    envelopes: (type) => (socketMode?.envelopes ?? []).filter((e) => !type || e.type === type),
    waitFor: async <T>(predicate: () => T | undefined | false, timeoutMs = 5000): Promise<T> => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = predicate();
        if (value !== undefined && value !== null && value !== false) return value;
        if (Date.now() > deadline) throw new Error(`waitFor: condition not met within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    setBotUrl: (url) => {
      botUrl = url;
    },
    close: async () => {
      state.save();
      socketMode?.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
