import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { WebClient } from '@slack/web-api';
import { startSlackWorkspace, type SlackWorkspace } from '../../src/dev/slack-workspace';
import { encodeTyped } from '../../src/dev/slack-workspace/page';
import { WorkspaceState } from '../../src/dev/slack-workspace/state';

const SECRET = 'test-signing-secret';
const TOKEN = 'xoxb-test-token';
const SRC = new URL('../../src/', import.meta.url).pathname;

/** A bot that records what Slack sent and answers with the next scripted ack (after an optional delay). */
function scriptedBot() {
  const received: { contentType: string; body: Record<string, unknown> }[] = [];
  const acks: { body?: unknown; delayMs?: number }[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      const contentType = String(req.headers['content-type']);
      const form = contentType.startsWith('application/x-www-form-urlencoded')
        ? Object.fromEntries(new URLSearchParams(raw))
        : undefined;
      const body = form ? (form.payload ? JSON.parse(form.payload) : form) : JSON.parse(raw);
      received.push({ contentType, body });
      const ack = acks.shift() ?? {};
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(ack.body === undefined ? '' : JSON.stringify(ack.body));
      }, ack.delayMs ?? 0);
    });
  });
  return { server, received, acks };
}

const modal = (title: string, extra: Record<string, unknown> = {}) => ({
  type: 'modal',
  callback_id: 'cb',
  title: { type: 'plain_text', text: title },
  submit: { type: 'plain_text', text: 'Go' },
  blocks: [
    {
      type: 'input',
      block_id: 'name',
      label: { type: 'plain_text', text: 'Name' },
      element: { type: 'plain_text_input', action_id: 'v' },
    },
  ],
  ...extra,
});

describe("Slack's side of interactions", () => {
  const bot = scriptedBot();
  let ws: SlackWorkspace;
  let web: WebClient;

  beforeAll(async () => {
    await new Promise<void>((r) => bot.server.listen(0, '127.0.0.1', r));
    ws = await startSlackWorkspace({
      signingSecret: SECRET,
      botToken: TOKEN,
      botUrl: `http://127.0.0.1:${(bot.server.address() as AddressInfo).port}/`,
      ackTimeoutMs: 1_500,
    });
    web = new WebClient(TOKEN, { slackApiUrl: `${ws.url}/api/`, retryConfig: { retries: 0 } });
  });
  afterAll(async () => {
    await ws.close();
    await new Promise((r) => bot.server.close(r));
  });
  beforeEach(() => {
    bot.received.length = 0;
    bot.acks.length = 0;
  });

  /** Opens a modal for Ada through a real trigger_id from a slash command. */
  async function openModal(view: Record<string, unknown>) {
    await ws.slashCommand({ userId: 'U0ADA', channelId: 'C0GENERAL', text: 'open' });
    const triggerId = bot.received.at(-1)!.body.trigger_id as string;
    const opened = await web.views.open({ trigger_id: triggerId, view: view as never });
    return opened.view!.id!;
  }

  it('sends a slash command form-encoded with the fields Slack sends', async () => {
    await ws.slashCommand({ userId: 'U0GRACE', channelId: 'C0VIDEO', text: 'generate a fox' });
    const { contentType, body } = bot.received[0]!;
    expect(contentType).toBe('application/x-www-form-urlencoded');
    expect(body).toMatchObject({
      command: '/kling',
      text: 'generate a fox',
      user_id: 'U0GRACE',
      user_name: 'grace',
      channel_id: 'C0VIDEO',
      channel_name: 'video',
      team_id: 'T0DEMO',
      api_app_id: expect.any(String),
    });
    expect(body.response_url).toMatch(new RegExp(`^${ws.url}/response/`));
    expect(body.trigger_id).toMatch(/^\d+\.\w+$/);
  });

  it('applies response_action update, push and clear to the modal stack', async () => {
    const viewId = await openModal(modal('First'));

    bot.acks.push({ body: { response_action: 'update', view: modal('Updated') } });
    await ws.submitView({ userId: 'U0ADA', viewId, values: { name: { v: 'a' } } });
    expect(ws.views('U0ADA').find((v) => v.id === viewId)).toMatchObject({
      open: true,
      view: { title: { text: 'Updated' } },
    });

    bot.acks.push({ body: { response_action: 'push', view: modal('Pushed') } });
    await ws.submitView({ userId: 'U0ADA', viewId, values: { name: { v: 'b' } } });
    const pushed = ws.views('U0ADA').find((v) => v.view.title && (v.view.title as { text: string }).text === 'Pushed')!;
    expect(pushed).toMatchObject({ open: true, view: { root_view_id: viewId, previous_view_id: viewId } });

    bot.acks.push({ body: { response_action: 'clear' } });
    await ws.submitView({ userId: 'U0ADA', viewId: pushed.id, values: { name: { v: 'c' } } });
    expect(ws.views('U0ADA').filter((v) => v.type === 'modal' && v.open)).toEqual([]);
    await expect(web.views.update({ view_id: viewId, view: modal('Too late') as never })).rejects.toMatchObject({
      data: { error: 'not_found' },
    });
  });

  it('sends the state values in the shapes Slack uses, and refuses an empty required input', async () => {
    const view = modal('Shapes', {
      blocks: [
        {
          type: 'input',
          block_id: 'prompt',
          label: { type: 'plain_text', text: 'Prompt' },
          element: { type: 'plain_text_input', action_id: 'p', multiline: true },
        },
        {
          type: 'input',
          block_id: 'mode',
          label: { type: 'plain_text', text: 'Mode' },
          element: {
            type: 'static_select',
            action_id: 'm',
            options: ['std', 'pro'].map((v) => ({ text: { type: 'plain_text', text: v }, value: v })),
          },
        },
        {
          type: 'input',
          block_id: 'opts',
          optional: true,
          label: { type: 'plain_text', text: 'Options' },
          element: {
            type: 'checkboxes',
            action_id: 'o',
            options: ['audio', 'offpeak'].map((v) => ({ text: { type: 'plain_text', text: v }, value: v })),
          },
        },
      ],
    });
    const viewId = await openModal(view);
    await expect(
      ws.submitView({ userId: 'U0ADA', viewId, values: { prompt: { p: '' }, mode: { m: 'pro' } } }),
    ).rejects.toThrow(/required input prompt/);

    bot.acks.push({});
    await ws.submitView({
      userId: 'U0ADA',
      viewId,
      values: { prompt: { p: 'a fox\na cat' }, mode: { m: 'pro' }, opts: { o: ['audio'] } },
    });
    const payload = bot.received.at(-1)!.body as {
      type: string;
      view: { id: string; callback_id: string; state: { values: Record<string, unknown> } };
    };
    expect(payload.type).toBe('view_submission');
    expect(payload.view).toMatchObject({ id: viewId, callback_id: 'cb' });
    expect(payload.view.state.values).toEqual({
      prompt: { p: { type: 'plain_text_input', value: 'a fox\na cat' } },
      mode: {
        m: { type: 'static_select', selected_option: { text: { type: 'plain_text', text: 'pro' }, value: 'pro' } },
      },
      opts: {
        o: { type: 'checkboxes', selected_options: [{ text: { type: 'plain_text', text: 'audio' }, value: 'audio' }] },
      },
    });
  });

  it('tells the app about a closed modal only when it asked (notify_on_close)', async () => {
    const quiet = await openModal(modal('Quiet'));
    const sentBefore = bot.received.length;
    expect(await ws.closeView({ userId: 'U0ADA', viewId: quiet })).toBeUndefined();
    expect(bot.received.length).toBe(sentBefore);

    const noisy = await openModal(modal('Noisy', { notify_on_close: true }));
    await ws.closeView({ userId: 'U0ADA', viewId: noisy });
    expect(bot.received.at(-1)!.body).toMatchObject({ type: 'view_closed', view: { id: noisy } });
  });

  it('leaves the message out of a click on an ephemeral message, as Slack does', async () => {
    const { message_ts } = await web.chat.postEphemeral({
      channel: 'C0VIDEO',
      user: 'U0GRACE',
      text: 'Over budget',
      blocks: [
        {
          type: 'actions',
          block_id: 'b',
          elements: [
            {
              type: 'button',
              action_id: 'approve',
              text: { type: 'plain_text', text: 'Ask an admin' },
              value: 'req-1',
            },
          ],
        },
      ],
    });
    await expect(
      ws.clickButton({ userId: 'U0LINUS', channelId: 'C0VIDEO', messageTs: message_ts!, actionId: 'approve' }),
    ).rejects.toThrow(/No message/);
    await ws.clickButton({ userId: 'U0GRACE', channelId: 'C0VIDEO', messageTs: message_ts!, actionId: 'approve' });
    const payload = bot.received.at(-1)!.body;
    expect(payload).toMatchObject({
      type: 'block_actions',
      container: { type: 'message', is_ephemeral: true, message_ts },
      actions: [{ action_id: 'approve', value: 'req-1', block_id: 'b' }],
    });
    expect(payload.message).toBeUndefined();
  });

  it("deletes or replaces the clicked message through the click's response_url", async () => {
    const post = (url: string, body: unknown) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const blocks = [
      {
        type: 'actions',
        block_id: 'b',
        elements: [{ type: 'button', action_id: 'go', text: { type: 'plain_text', text: 'Go' } }],
      },
    ];
    const first = await web.chat.postMessage({ channel: 'C0VIDEO', text: 'card one', blocks });
    await ws.clickButton({ userId: 'U0GRACE', channelId: 'C0VIDEO', messageTs: first.ts!, actionId: 'go' });
    expect(
      (await post(bot.received.at(-1)!.body.response_url as string, { replace_original: true, text: 'replaced' }))
        .status,
    ).toBe(200);
    expect(ws.messages('C0VIDEO').find((m) => m.ts === first.ts)).toMatchObject({
      text: 'replaced',
      blocks: undefined,
    });

    const second = await web.chat.postMessage({ channel: 'C0VIDEO', text: 'card two', blocks });
    await ws.clickButton({ userId: 'U0GRACE', channelId: 'C0VIDEO', messageTs: second.ts!, actionId: 'go' });
    const count = ws.messages('C0VIDEO').length;
    await post(bot.received.at(-1)!.body.response_url as string, { delete_original: true });
    expect(ws.messages('C0VIDEO').length).toBe(count - 1);
    expect(ws.messages('C0VIDEO').some((m) => m.ts === second.ts)).toBe(false);

    // From a slash command there is no original: nothing is deleted and nothing is posted.
    await ws.slashCommand({ userId: 'U0GRACE', channelId: 'C0VIDEO', text: 'x' });
    await post(bot.received.at(-1)!.body.response_url as string, { delete_original: true });
    expect(ws.messages('C0VIDEO').length).toBe(count - 1);
  });

  it('reports owners as admins in users.info, as Slack does', async () => {
    const owned = await startSlackWorkspace({
      signingSecret: SECRET,
      botToken: TOKEN,
      users: [{ id: 'U0OWNER', name: 'Olive', isOwner: true }],
    });
    try {
      const info = await new WebClient(TOKEN, { slackApiUrl: `${owned.url}/api/` }).users.info({ user: 'U0OWNER' });
      expect(info.user).toMatchObject({ is_owner: true, is_admin: true });
    } finally {
      await owned.close();
    }
  });

  it('serves the page, and its API sends typed commands escaped and shows each person only their ephemerals', async () => {
    const page = await fetch(`${ws.url}/`);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(await page.text()).toContain('<script src="/app.js">');

    bot.acks.push({ body: { text: 'only for Grace' } });
    const sent = await fetch(`${ws.url}/ui/command`, {
      method: 'POST',
      body: JSON.stringify({ user: 'U0GRACE', channel: 'C0GENERAL', text: '/kling budget set #video day 5' }),
    });
    expect(await sent.json()).toEqual({ status: 200 });
    expect(bot.received.at(-1)!.body).toMatchObject({
      command: '/kling',
      text: 'budget set <#C0VIDEO|video> day 5',
      user_id: 'U0GRACE',
    });

    const seenBy = async (user: string) => {
      const state = (await (await fetch(`${ws.url}/ui/state?user=${user}`)).json()) as {
        messages: Record<string, { text: string }[]>;
      };
      return state.messages.C0GENERAL!.map((m) => m.text);
    };
    expect(await seenBy('U0GRACE')).toContain('only for Grace');
    expect(await seenBy('U0LINUS')).not.toContain('only for Grace');
  });

  it("serves Slack's whole emoji map before app.js, covering every shortcode the bot writes", async () => {
    const html = await (await fetch(`${ws.url}/`)).text();
    expect(html.indexOf('<script src="/emoji.js">')).toBeGreaterThan(-1);
    expect(html.indexOf('<script src="/emoji.js">')).toBeLessThan(html.indexOf('<script src="/app.js">'));
    const sandbox = { window: {} as { SLACK_EMOJI?: Record<string, string> } };
    runInNewContext(await (await fetch(`${ws.url}/emoji.js`)).text(), sandbox);
    const emoji = sandbox.window.SLACK_EMOJI!;
    expect(emoji).toMatchObject({ incoming_envelope: '📨', double_vertical_bar: '⏸️', '+1': '👍', thumbsup: '👍' });
    expect(Object.keys(emoji).length).toBeGreaterThan(1800);
    const used = new Set<string>();
    for (const file of readdirSync(SRC, { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file.startsWith('dev/')) continue;
      // A shortcode has a letter in it: "09:15:00" in a comment is a time, not :15:.
      for (const [, name] of readFileSync(join(SRC, file), 'utf8').matchAll(/:([a-z0-9_+-]*[a-z][a-z0-9_+-]*):/g))
        used.add(name!);
    }
    expect(used.size).toBeGreaterThan(10);
    expect([...used].filter((name) => !emoji[name])).toEqual([]);
  });

  it('keeps a read-only Messages tab read-only, as the manifest asks', async () => {
    const botUrl = `http://127.0.0.1:${(bot.server.address() as AddressInfo).port}/`;
    const readOnly = await startSlackWorkspace({
      signingSecret: SECRET,
      botToken: TOKEN,
      botUrl,
      messagesTabReadOnly: true,
    });
    try {
      const state = (await (await fetch(`${readOnly.url}/ui/state?user=U0GRACE`)).json()) as Record<string, unknown>;
      expect(state.messagesTabReadOnly).toBe(true);
      const send = (path: string, channel: string, text: string) =>
        fetch(`${readOnly.url}${path}`, { method: 'POST', body: JSON.stringify({ user: 'U0GRACE', channel, text }) });
      for (const [path, text] of [
        ['/ui/message', 'hello'],
        ['/ui/command', '/kling help'],
      ] as const) {
        const refused = await send(path, 'D0GRACE', text);
        expect(refused.status).toBe(400);
        expect(await refused.json()).toEqual({ error: 'Sending messages to this app has been turned off.' });
      }
      expect(bot.received).toEqual([]);
      expect((await send('/ui/command', 'C0GENERAL', '/kling help')).status).toBe(200);
      expect(bot.received.at(-1)!.body).toMatchObject({ command: '/kling', channel_id: 'C0GENERAL' });
    } finally {
      await readOnly.close();
    }
    const state = (await (await fetch(`${ws.url}/ui/state?user=U0GRACE`)).json()) as Record<string, unknown>;
    expect(state.messagesTabReadOnly).toBe(false);
  });

  it('sends app_home_opened as a JSON event_callback', async () => {
    await ws.openHome('U0LINUS');
    const { contentType, body } = bot.received.at(-1)!;
    expect(contentType).toBe('application/json');
    expect(body).toMatchObject({
      type: 'event_callback',
      team_id: 'T0DEMO',
      event: { type: 'app_home_opened', user: 'U0LINUS', tab: 'home' },
    });
  });

  it('shows a timeout instead of a late ack', async () => {
    bot.acks.push({ body: { text: 'too late' }, delayMs: 2_500 });
    const reply = await ws.slashCommand({ userId: 'U0GRACE', channelId: 'C0GENERAL', text: 'slow' });
    expect(reply.status).toBe(200);
    const shown = ws.messages('C0GENERAL').filter((m) => m.ephemeralTo === 'U0GRACE');
    expect(shown.at(-1)).toMatchObject({ user: 'USLACKBOT', text: '/kling failed with the error "operation_timeout"' });
    expect(shown.some((m) => m.text === 'too late')).toBe(false);
  });
});

describe('keeping data between runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'slack-workspace-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('restores messages and home views from dataFile, with no modal left open', async () => {
    const dataFile = join(dir, 'workspace.json');
    const first = await startSlackWorkspace({ signingSecret: SECRET, botToken: TOKEN, dataFile });
    const web = new WebClient(TOKEN, { slackApiUrl: `${first.url}/api/`, retryConfig: { retries: 0 } });
    const { ts } = await web.chat.postMessage({ channel: 'C0VIDEO', text: 'kept' });
    await web.views.publish({ user_id: 'U0ADA', view: { type: 'home', blocks: [{ type: 'divider' }] } });
    await first.close();

    const second = await startSlackWorkspace({ signingSecret: SECRET, botToken: TOKEN, dataFile });
    try {
      expect(second.messages('C0VIDEO')).toMatchObject([{ ts, text: 'kept' }]);
      expect(second.views('U0ADA')).toMatchObject([{ type: 'home', open: true }]);
      const again = new WebClient(TOKEN, { slackApiUrl: `${second.url}/api/`, retryConfig: { retries: 0 } });
      const next = await again.chat.postMessage({ channel: 'C0VIDEO', text: 'later' });
      expect(Number(next.ts)).toBeGreaterThan(Number(ts));
    } finally {
      await second.close();
    }
  });
});

describe('encodeTyped', () => {
  const state = new WorkspaceState('T0DEMO', [{ id: 'U0ADA', name: 'Ada' }], [{ id: 'C0VIDEO', name: 'video' }]);

  it('escapes what a person types and links known channels, people and URLs, as Slack does for an escaping command', () => {
    expect(encodeTyped(state, 'budget set #video day 5')).toBe('budget set <#C0VIDEO|video> day 5');
    expect(encodeTyped(state, 'budget set @ada week 2')).toBe('budget set <@U0ADA|ada> week 2');
    expect(encodeTyped(state, 'generate a <b> & c --image https://x.test/a.png')).toBe(
      'generate a &lt;b&gt; &amp; c --image <https://x.test/a.png>',
    );
    expect(encodeTyped(state, 'ping #nowhere @nobody <!channel>')).toBe('ping #nowhere @nobody &lt;!channel&gt;');
  });
});
