import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { ShortcutInfo, SlashCommandInfo } from './index';
import type { Interactions } from './interactions';
import { BOT_USER_ID, type WorkspaceState } from './state';

/**
 * The web page at `/` and the small JSON API behind it (`/ui/*`). The page sees the workspace as one
 * person: their ephemerals only, their modals, their App Home. Updates arrive as server-sent events.
 */

const PAGE_DIR = new URL('./page/', import.meta.url);
const ASSETS: Record<string, { file: string; type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/style.css': { file: 'style.css', type: 'text/css; charset=utf-8' },
};
/**
 * Slack's emoji shortcodes (:incoming_envelope: → 📨), from emoji-datasource: the iamcal emoji data whose short
 * names Slack uses. Served as a script the page loads before app.js, so the first render already has them.
 */
let emojiScript: Promise<string> | undefined;
function loadEmojiScript(): Promise<string> {
  const file = createRequire(import.meta.url).resolve('emoji-datasource/emoji.json');
  emojiScript ??= readFile(file, 'utf8').then((text) => {
    const map: Record<string, string> = {};
    for (const emoji of JSON.parse(text) as { unified: string; short_names: string[] }[]) {
      const char = String.fromCodePoint(...emoji.unified.split('-').map((hex) => parseInt(hex, 16)));
      for (const name of emoji.short_names) map[name] = char;
    }
    return `window.SLACK_EMOJI = ${JSON.stringify(map)};\n`;
  });
  return emojiScript;
}

/** The page shows the latest messages of each conversation. */
const PAGE_HISTORY = 300;

function json(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
  return true;
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : {};
}

/**
 * What Slack's client sends for typed text when the command escapes (manifest should_escape: true):
 * &, < and > as entities, and a known #channel, @person or URL as <#C…|name>, <@U…|name>, <url>.
 */
export function encodeTyped(state: WorkspaceState, text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/(^|\s)#([\w-]+)/g, (whole, before: string, name: string) => {
      const channel = [...state.conversations.values()].find(
        (c) => c.kind === 'channel' && c.name === name.toLowerCase(),
      );
      return channel ? `${before}<#${channel.id}|${channel.name}>` : whole;
    })
    .replace(/(^|\s)@([\w.-]+)/g, (whole, before: string, name: string) => {
      const user = [...state.users.values()].find((u) => !u.isBot && u.name.toLowerCase() === name.toLowerCase());
      return user ? `${before}<@${user.id}|${user.name.toLowerCase()}>` : whole;
    })
    .replace(/(^|\s)(https?:\/\/[^\s]+)/g, '$1<$2>');
}

/** What the app's manifest declares that the page shows. */
export interface PageApp {
  commands: SlashCommandInfo[];
  messagesTabReadOnly: boolean;
  /** Message shortcuts the app declares: offered in each message's menu. */
  shortcuts: ShortcutInfo[];
}

/** What Slack shows instead of a composer in a read-only Messages tab. */
const READ_ONLY = 'Sending messages to this app has been turned off.';

/** Everything one person sees. */
function snapshot(state: WorkspaceState, userId: string, { commands, messagesTabReadOnly, shortcuts }: PageApp) {
  const me = state.users.get(userId);
  // Every person has a DM with the app (its Messages tab), as in Slack.
  if (me && !me.isBot) state.openDm([userId]);
  const people = [...state.users.values()].filter((u) => !u.isBot);
  const conversations = [...state.conversations.values()].filter((c) => c.members.includes(userId));
  const messages: Record<string, unknown[]> = {};
  for (const c of conversations) {
    const visible = state.messages.filter((m) => m.channel === c.id && (!m.ephemeralTo || m.ephemeralTo === userId));
    messages[c.id] = visible.slice(-PAGE_HISTORY);
  }
  const stack = state.stacks.get(userId) ?? [];
  const modal = stack.length ? state.views.get(stack[stack.length - 1]!) : undefined;
  const home = [...state.views.values()].find((v) => v.type === 'home' && v.userId === userId);
  return {
    version: state.currentVersion,
    me: me && { id: me.id, name: me.name, isAdmin: me.isAdmin },
    users: [...state.users.values()].map((u) => ({ id: u.id, name: u.name, isAdmin: u.isAdmin, isBot: u.isBot })),
    people: people.map((u) => u.id),
    botUserId: BOT_USER_ID,
    commands,
    shortcuts,
    messagesTabReadOnly,
    conversations: conversations.map((c) => ({ id: c.id, name: c.name, kind: c.kind })),
    messages,
    modal: modal && { id: modal.id, view: modal.view, errors: modal.errors ?? {}, depth: stack.length },
    home: home && { id: home.id, view: home.view },
  };
}

export async function servePage(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  state: WorkspaceState,
  interactions: Interactions,
  appInfo: PageApp,
): Promise<boolean> {
  const path = url.pathname;
  const asset = ASSETS[path];
  if (req.method === 'GET' && asset) {
    res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-cache' });
    res.end(await readFile(new URL(asset.file, PAGE_DIR)));
    return true;
  }
  if (req.method === 'GET' && path === '/emoji.js') {
    res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'max-age=86400' });
    res.end(await loadEmojiScript());
    return true;
  }
  if (req.method === 'GET' && path === '/ui/state')
    return json(res, 200, snapshot(state, url.searchParams.get('user') ?? '', appInfo));
  if (req.method === 'GET' && path === '/ui/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`data: ${state.currentVersion}\n\n`);
    // Several changes in a burst become one event, so the page refetches once.
    let pending: NodeJS.Timeout | undefined;
    const unsubscribe = state.subscribe((version) => {
      pending ??= setTimeout(() => {
        pending = undefined;
        res.write(`data: ${version}\n\n`);
      }, 50);
    });
    req.on('close', () => {
      if (pending) clearTimeout(pending);
      unsubscribe();
    });
    return true;
  }
  if (req.method !== 'POST' || !path.startsWith('/ui/')) return false;

  const body = await readJson(req);
  const user = String(body.user ?? '');
  const appDm = state.conversations.get(String(body.channel))?.kind === 'im';
  if ((path === '/ui/command' || path === '/ui/message') && appDm && appInfo.messagesTabReadOnly) {
    return json(res, 400, { error: READ_ONLY });
  }
  try {
    switch (path) {
      case '/ui/command': {
        const match = /^(\/\S+)\s*([\s\S]*)$/.exec(String(body.text ?? '').trim());
        if (!match) return json(res, 400, { error: 'A command starts with /, e.g. /kling help' });
        const text = encodeTyped(state, match[2]!.trim());
        const reply = await interactions.slashCommand({
          userId: user,
          channelId: String(body.channel),
          command: match[1],
          text,
        });
        return json(res, 200, { status: reply.status });
      }
      case '/ui/message': {
        const text = String(body.text ?? '').trim();
        if (!text) return json(res, 400, { error: 'Nothing to send' });
        const channel = String(body.channel);
        if (!state.conversations.get(channel)?.members.includes(user))
          return json(res, 400, { error: 'Not in that conversation' });
        const threadTs = typeof body.threadTs === 'string' ? body.threadTs : undefined;
        state.addMessage({
          channel,
          ts: state.nextTs(),
          threadTs,
          user,
          text: encodeTyped(state, text),
          via: 'person',
        });
        return json(res, 200, {});
      }
      case '/ui/file': {
        // A person attaches a file (an image to animate) to a message of their own.
        const channel = String(body.channel);
        if (!state.conversations.get(channel)?.members.includes(user))
          return json(res, 400, { error: 'Not in that conversation' });
        const data = Buffer.from(String(body.data ?? ''), 'base64');
        interactions.postFile({
          userId: user,
          channelId: channel,
          filename: String(body.filename || 'image.png'),
          data,
        });
        return json(res, 200, {});
      }
      case '/ui/shortcut': {
        const input = {
          userId: user,
          channelId: String(body.channel),
          messageTs: String(body.ts),
          callbackId: String(body.callbackId),
        };
        const reply = await interactions.messageShortcut(input);
        return json(res, 200, { status: reply.status });
      }
      case '/ui/action': {
        const common = {
          userId: user,
          actionId: String(body.actionId),
          value: body.value as string | string[] | undefined,
        };
        const reply =
          typeof body.viewId === 'string'
            ? await interactions.clickViewButton({
                ...common,
                viewId: body.viewId,
                values: body.values as Record<string, Record<string, unknown>> | undefined,
              })
            : await interactions.clickButton({
                ...common,
                channelId: String(body.channel),
                messageTs: String(body.ts),
              });
        return json(res, 200, { status: reply.status });
      }
      case '/ui/submit': {
        const reply = await interactions.submitView({
          userId: user,
          viewId: String(body.viewId),
          values: (body.values ?? {}) as Record<string, Record<string, unknown>>,
        });
        return json(res, 200, { status: reply.status });
      }
      case '/ui/close':
        await interactions.closeView({ userId: user, viewId: String(body.viewId) });
        return json(res, 200, {});
      case '/ui/home': {
        const reply = await interactions.openHome(user);
        return json(res, 200, { status: reply.status });
      }
      default:
        return json(res, 404, { error: 'not_found' });
    }
  } catch (error) {
    return json(res, 502, { error: (error as Error).message });
  }
}
