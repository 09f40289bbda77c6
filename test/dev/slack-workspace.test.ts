import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { App, HTTPReceiver, verifySlackRequest } from '@slack/bolt';
import { WebClient, WebAPIPlatformError, WebAPIRateLimitedError } from '@slack/web-api';
import {
  signSlackRequest,
  startSlackWorkspace,
  viewProblems,
  type SlackWorkspace,
} from '../../src/dev/slack-workspace';

const SECRET = 'test-signing-secret';
const TOKEN = 'xoxb-test-token';

describe('signSlackRequest', () => {
  it('signs so that Bolt verifies the request', () => {
    const body = 'command=%2Fkling&text=help';
    const headers = signSlackRequest(SECRET, body);
    expect(() =>
      verifySlackRequest({
        signingSecret: SECRET,
        body,
        headers: {
          'x-slack-signature': headers['x-slack-signature']!,
          'x-slack-request-timestamp': Number(headers['x-slack-request-timestamp']),
        },
      }),
    ).not.toThrow();
  });

  it('is refused by Bolt with another secret, another body or a stale timestamp', () => {
    const body = 'text=hi';
    const verify = (secret: string, b: string, ts?: number) => {
      const h = signSlackRequest(secret, body, ts);
      return () =>
        verifySlackRequest({
          signingSecret: SECRET,
          body: b,
          headers: {
            'x-slack-signature': h['x-slack-signature']!,
            'x-slack-request-timestamp': Number(h['x-slack-request-timestamp']),
          },
        });
    };
    expect(verify('other', body)).toThrow();
    expect(verify(SECRET, 'text=bye')).toThrow();
    expect(verify(SECRET, body, Math.floor(Date.now() / 1000) - 600)).toThrow();
  });
});

describe('the Web API', () => {
  let ws: SlackWorkspace;
  const client = (token = TOKEN) =>
    new WebClient(token, { slackApiUrl: `${ws.url}/api/`, retryConfig: { retries: 0 } });

  beforeAll(async () => {
    ws = await startSlackWorkspace({ signingSecret: SECRET, botToken: TOKEN });
  });
  afterAll(() => ws.close());

  it('rejects a wrong token with invalid_auth and a missing one with not_authed', async () => {
    await expect(client('xoxb-wrong').auth.test()).rejects.toMatchObject({
      data: { ok: false, error: 'invalid_auth' },
    });
    const res = await fetch(`${ws.url}/api/auth.test`, { method: 'POST' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: false, error: 'not_authed' });
    expect(await client().auth.test()).toMatchObject({ ok: true, team_id: 'T0DEMO', user_id: 'U0KLINGBOT' });
  });

  it('posts, threads, updates and deletes messages', async () => {
    const web = client();
    const card = await web.chat.postMessage({
      channel: 'C0VIDEO',
      text: 'queued',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*queued*' } }],
    });
    expect(card).toMatchObject({ ok: true, channel: 'C0VIDEO' });
    const reply = await web.chat.postMessage({ channel: 'C0VIDEO', thread_ts: card.ts!, text: 'the video' });
    await web.chat.update({
      channel: 'C0VIDEO',
      ts: card.ts!,
      text: 'done',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '*done*' } }],
    });
    const stored = ws.messages('C0VIDEO');
    expect(stored.find((m) => m.ts === reply.ts)?.threadTs).toBe(card.ts);
    expect(stored.find((m) => m.ts === card.ts)).toMatchObject({
      text: 'done',
      blocks: [{ text: { text: '*done*' } }],
    });
    await web.chat.delete({ channel: 'C0VIDEO', ts: reply.ts! });
    expect(ws.messages('C0VIDEO').some((m) => m.ts === reply.ts)).toBe(false);
    await expect(web.chat.update({ channel: 'C0VIDEO', ts: '1.000001', text: 'x' })).rejects.toMatchObject({
      data: { error: 'message_not_found' },
    });
  });

  it('answers channel_not_found and invalid_blocks with the reason', async () => {
    await expect(client().chat.postMessage({ channel: 'C0NOPE', text: 'hi' })).rejects.toMatchObject({
      data: { error: 'channel_not_found' },
    });
    const error = await client()
      .chat.postMessage({
        channel: 'C0GENERAL',
        text: 'x',
        blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }],
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebAPIPlatformError);
    expect((error as WebAPIPlatformError).data).toMatchObject({
      error: 'invalid_blocks',
      response_metadata: {
        messages: ['[ERROR] must be no more than 150 characters [json-pointer:/blocks/0/text/text]'],
      },
    });
    expect(ws.calls('chat.postMessage').at(-1)).toMatchObject({ ok: false, error: 'invalid_blocks' });
  });

  it('accepts JSON bodies with a Bearer token, as Slack does', async () => {
    const res = await fetch(`${ws.url}/api/chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ channel: 'C0GENERAL', text: 'json body', blocks: [{ type: 'divider' }] }),
    });
    expect(await res.json()).toMatchObject({ ok: true, channel: 'C0GENERAL' });
    expect(ws.messages('C0GENERAL').at(-1)).toMatchObject({ text: 'json body', blocks: [{ type: 'divider' }] });
  });

  it('answers an injected rate limit with HTTP 429 and Retry-After, then recovers', async () => {
    ws.injectFault({ method: 'chat.postMessage', httpStatus: 429, retryAfterSec: 7 });
    const raw = await fetch(`${ws.url}/api/chat.postMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
      body: 'channel=C0GENERAL&text=a',
    });
    expect(raw.status).toBe(429);
    expect(raw.headers.get('retry-after')).toBe('7');

    ws.injectFault({ method: 'chat.postMessage', httpStatus: 429, retryAfterSec: 3 });
    const web = new WebClient(TOKEN, {
      slackApiUrl: `${ws.url}/api/`,
      rejectRateLimitedCalls: true,
      retryConfig: { retries: 0 },
    });
    const error = await web.chat.postMessage({ channel: 'C0GENERAL', text: 'b' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebAPIRateLimitedError);
    expect((error as WebAPIRateLimitedError).retryAfter).toBe(3);
    expect(await web.chat.postMessage({ channel: 'C0GENERAL', text: 'c' })).toMatchObject({ ok: true });
  });

  it('keeps message metadata and returns it from conversations.history and replies only when asked', async () => {
    const web = client();
    const metadata = { event_type: 'kling_job_card', event_payload: { job_id: 'kbb_1' } };
    const card = await web.chat.postMessage({ channel: 'C0GENERAL', text: 'card', metadata });
    const reply = await web.chat.postMessage({ channel: 'C0GENERAL', thread_ts: card.ts!, text: 'video', metadata });
    const later = await web.chat.postMessage({ channel: 'C0GENERAL', text: 'later' });

    const since = { channel: 'C0GENERAL', oldest: String(Number(card.ts) - 0.000001) };
    const history = await web.conversations.history({ ...since, include_all_metadata: true });
    // Newest first, without the thread's replies.
    expect(history.messages!.map((m) => [m.ts, m.metadata])).toEqual([
      [later.ts, undefined],
      [card.ts, metadata],
    ]);
    const plain = await web.conversations.history(since);
    expect(plain.messages!.some((m) => m.metadata)).toBe(false);
    const paged = await web.conversations.history({ ...since, limit: 1 });
    expect(paged).toMatchObject({ has_more: true, messages: [{ ts: later.ts }] });
    const next = await web.conversations.history({ ...since, limit: 1, cursor: paged.response_metadata!.next_cursor! });
    expect(next).toMatchObject({ has_more: false, messages: [{ ts: card.ts }] });

    const thread = await web.conversations.replies({ channel: 'C0GENERAL', ts: card.ts!, include_all_metadata: true });
    expect(thread.messages!.map((m) => [m.ts, m.metadata])).toEqual([
      [card.ts, metadata],
      [reply.ts, metadata],
    ]);
    await expect(web.conversations.replies({ channel: 'C0GENERAL', ts: '1.000001' })).rejects.toMatchObject({
      data: { error: 'thread_not_found' },
    });
  });

  it('can lose the answer of a call that took effect', async () => {
    ws.injectFault({ method: 'chat.postMessage', httpStatus: 500, afterEffect: true });
    const before = ws.messages('C0GENERAL').length;
    await expect(client().chat.postMessage({ channel: 'C0GENERAL', text: 'landed' })).rejects.toMatchObject({
      code: 'slack_webapi_http_error',
    });
    expect(
      ws
        .messages('C0GENERAL')
        .slice(before)
        .map((m) => m.text),
    ).toEqual(['landed']);
  });

  it('injects platform errors a given number of times', async () => {
    ws.injectFault({ method: 'chat.update', error: 'ratelimited', times: 2 });
    const web = client();
    const { ts } = await web.chat.postMessage({ channel: 'C0GENERAL', text: 'x' });
    await expect(web.chat.update({ channel: 'C0GENERAL', ts: ts!, text: 'y' })).rejects.toMatchObject({
      data: { error: 'ratelimited' },
    });
    await expect(web.chat.update({ channel: 'C0GENERAL', ts: ts!, text: 'y' })).rejects.toMatchObject({
      data: { error: 'ratelimited' },
    });
    await expect(web.chat.update({ channel: 'C0GENERAL', ts: ts!, text: 'y' })).resolves.toMatchObject({ ok: true });
  });

  it('tells admins apart in users.info and opens DMs', async () => {
    const web = client();
    expect((await web.users.info({ user: 'U0ADA' })).user).toMatchObject({ is_admin: true, real_name: 'Ada' });
    expect((await web.users.info({ user: 'U0GRACE' })).user).toMatchObject({ is_admin: false, is_owner: false });
    await expect(web.users.info({ user: 'U0NOBODY' })).rejects.toMatchObject({ data: { error: 'user_not_found' } });
    const dm = await web.conversations.open({ users: 'U0GRACE' });
    await web.chat.postMessage({ channel: dm.channel!.id!, text: 'hello Grace' });
    expect(ws.messages(dm.channel!.id!).at(-1)?.text).toBe('hello Grace');
    expect((await web.conversations.info({ channel: dm.channel!.id! })).channel).toMatchObject({
      is_im: true,
      user: 'U0GRACE',
    });
  });

  it('takes a file through files.uploadV2', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]);
    const result = await client().filesUploadV2({
      channel_id: 'C0ALERTS',
      file: png,
      filename: 'chart.png',
      title: 'Last 7 days',
      initial_comment: 'Digest chart',
    });
    expect(result.ok).toBe(true);
    const message = ws.messages('C0ALERTS').at(-1)!;
    expect(message).toMatchObject({
      text: 'Digest chart',
      files: [{ name: 'chart.png', title: 'Last 7 days', mimetype: 'image/png', size: png.length }],
    });
    const served = await fetch(message.files![0]!.url, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(Buffer.from(await served.arrayBuffer())).toEqual(png);
    // As Slack: without the bot's token, its sign-in page instead of the file.
    const anonymous = await fetch(message.files![0]!.url);
    expect(anonymous.headers.get('content-type')).toMatch(/^text\/html/);
  });

  it('publishes a home view and updates it with the same id', async () => {
    const web = client();
    const first = await web.views.publish({
      user_id: 'U0LINUS',
      view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'one' } }] },
    });
    const second = await web.views.publish({
      user_id: 'U0LINUS',
      view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'two' } }] },
    });
    expect(second.view!.id).toBe(first.view!.id);
    expect(ws.views('U0LINUS')[0]).toMatchObject({ type: 'home', view: { blocks: [{ text: { text: 'two' } }] } });
    await expect(
      web.views.publish({
        user_id: 'U0LINUS',
        view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '' } }] },
      }),
    ).rejects.toMatchObject({
      data: { error: 'invalid_arguments' },
    });
  });
});

describe('talking to a real Bolt app', () => {
  let ws: SlackWorkspace;
  let app: App;
  let server: Server;
  const seen: Record<string, unknown>[] = [];

  beforeAll(async () => {
    ws = await startSlackWorkspace({ signingSecret: SECRET, botToken: TOKEN });
    const receiver = new HTTPReceiver({ signingSecret: SECRET, processBeforeResponse: true });
    app = new App({
      receiver,
      token: TOKEN,
      clientOptions: { slackApiUrl: `${ws.url}/api/`, retryConfig: { retries: 0 } },
    });
    app.command('/kling', async ({ command, ack, respond, client }) => {
      seen.push(command as unknown as Record<string, unknown>);
      if (command.text === 'modal') {
        await ack();
        await client.views.open({
          trigger_id: command.trigger_id,
          view: {
            type: 'modal',
            callback_id: 'budget',
            title: { type: 'plain_text', text: 'Set a budget' },
            submit: { type: 'plain_text', text: 'Save' },
            blocks: [
              {
                type: 'input',
                block_id: 'limit',
                label: { type: 'plain_text', text: 'Credits' },
                element: { type: 'plain_text_input', action_id: 'value' },
              },
              {
                type: 'input',
                block_id: 'period',
                label: { type: 'plain_text', text: 'Period' },
                element: {
                  type: 'static_select',
                  action_id: 'choice',
                  options: ['day', 'week'].map((p) => ({ text: { type: 'plain_text', text: p }, value: p })),
                },
              },
            ],
          },
        });
        return;
      }
      if (command.text === 'live') {
        await ack();
        const text = (id: string, dispatch?: boolean, on?: ('on_enter_pressed' | 'on_character_entered')[]) => ({
          type: 'input' as const,
          block_id: id,
          ...(dispatch && { dispatch_action: true }),
          label: { type: 'plain_text' as const, text: id },
          element: {
            type: 'plain_text_input' as const,
            action_id: id,
            ...(on && { dispatch_action_config: { trigger_actions_on: on } }),
          },
        });
        await client.views.open({
          trigger_id: command.trigger_id,
          view: {
            type: 'modal',
            callback_id: 'live',
            title: { type: 'plain_text', text: 'Live' },
            submit: { type: 'plain_text', text: 'Save' },
            blocks: [
              text('note'),
              text('count', true),
              text('search', true, ['on_character_entered']),
              {
                type: 'input',
                block_id: 'period',
                dispatch_action: true,
                label: { type: 'plain_text', text: 'Period' },
                element: {
                  type: 'static_select',
                  action_id: 'period',
                  options: ['day', 'week'].map((p) => ({ text: { type: 'plain_text', text: p }, value: p })),
                },
              },
            ],
          },
        });
        return;
      }
      if (command.text === 'card') {
        await ack();
        await client.chat.postMessage({
          channel: command.channel_id,
          text: 'job card',
          blocks: [
            {
              type: 'actions',
              block_id: 'card',
              elements: [
                { type: 'button', action_id: 'cancel', text: { type: 'plain_text', text: 'Cancel' }, value: 'job-1' },
              ],
            },
          ],
        });
        return;
      }
      await ack({ text: `You said ${command.text}` });
      await respond({ response_type: 'in_channel', text: 'Posted for everyone' });
    });
    app.action('cancel', async ({ ack, body, action, respond }) => {
      await ack();
      seen.push({ body, action });
      await respond({ replace_original: true, text: 'cancelled' });
    });
    app.action(/^(count|search|period)$/, async ({ ack, body, action }) => {
      await ack();
      seen.push({ body, action });
    });
    app.view('budget', async ({ ack, view, body }) => {
      const limit = view.state.values.limit!.value!.value;
      seen.push({ body, limit, period: view.state.values.period!.choice!.selected_option?.value });
      if (limit === 'lots') await ack({ response_action: 'errors', errors: { limit: 'Credits must be a number' } });
      else await ack();
    });
    app.event('app_home_opened', async ({ event, client }) => {
      await client.views.publish({
        user_id: event.user,
        view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: `Hello <@${event.user}>` } }] },
      });
    });
    server = (await app.start(0)) as Server;
    ws.setBotUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`);
  });
  afterAll(async () => {
    await app.stop();
    await ws.close();
  });

  it('delivers a slash command Bolt accepts, shows the ack ephemerally and the response in the channel', async () => {
    const reply = await ws.slashCommand({ userId: 'U0GRACE', channelId: 'C0GENERAL', text: 'hello <world>' });
    expect(reply.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({
      command: '/kling',
      text: 'hello <world>',
      user_id: 'U0GRACE',
      channel_id: 'C0GENERAL',
      team_id: 'T0DEMO',
    });
    const messages = ws.messages('C0GENERAL');
    expect(messages.find((m) => m.text === 'You said hello <world>')).toMatchObject({
      ephemeralTo: 'U0GRACE',
      via: 'ack',
    });
    expect(messages.find((m) => m.text === 'Posted for everyone')).toMatchObject({ via: 'response_url' });
    expect(messages.find((m) => m.text === 'Posted for everyone')?.ephemeralTo).toBeUndefined();
  });

  it('sends a button click Bolt routes by action_id, and response_url replaces the original', async () => {
    await ws.slashCommand({ userId: 'U0ADA', channelId: 'C0VIDEO', text: 'card' });
    const card = await ws.waitFor(() => ws.messages('C0VIDEO').find((m) => m.text === 'job card'));
    const reply = await ws.clickButton({
      userId: 'U0ADA',
      channelId: 'C0VIDEO',
      messageTs: card.ts,
      actionId: 'cancel',
    });
    expect(reply.status).toBe(200);
    const { body, action } = seen.at(-1) as { body: Record<string, unknown>; action: Record<string, unknown> };
    expect(action).toMatchObject({ action_id: 'cancel', block_id: 'card', value: 'job-1', type: 'button' });
    expect(body).toMatchObject({
      type: 'block_actions',
      user: { id: 'U0ADA' },
      channel: { id: 'C0VIDEO' },
      container: { type: 'message', message_ts: card.ts },
      message: { ts: card.ts },
    });
    expect(ws.messages('C0VIDEO').find((m) => m.ts === card.ts)?.text).toBe('cancelled');
  });

  it('opens a modal from the trigger_id and submits it with state.values', async () => {
    await ws.slashCommand({ userId: 'U0ADA', channelId: 'C0GENERAL', text: 'modal' });
    const modal = ws.views('U0ADA').find((v) => v.type === 'modal' && v.open)!;
    expect(modal.view).toMatchObject({ callback_id: 'budget', title: { text: 'Set a budget' } });

    await ws.submitView({
      userId: 'U0ADA',
      viewId: modal.id,
      values: { limit: { value: 'lots' }, period: { choice: 'week' } },
    });
    expect(ws.views('U0ADA').find((v) => v.id === modal.id)).toMatchObject({
      open: true,
      errors: { limit: 'Credits must be a number' },
    });

    await ws.submitView({
      userId: 'U0ADA',
      viewId: modal.id,
      values: { limit: { value: '250' }, period: { choice: 'day' } },
    });
    expect(seen.at(-1)).toMatchObject({
      limit: '250',
      period: 'day',
      body: { type: 'view_submission', user: { id: 'U0ADA' } },
    });
    expect(ws.views('U0ADA').find((v) => v.id === modal.id)?.open).toBe(false);
  });

  it('tells the app of a change to an input only with dispatch_action: text on Enter or on every character', async () => {
    await ws.slashCommand({ userId: 'U0ADA', channelId: 'C0GENERAL', text: 'live' });
    const modal = ws.views('U0ADA').find((v) => v.type === 'modal' && v.open && v.view.callback_id === 'live')!;
    const change = (blockId: string, value: string, enter?: boolean) =>
      ws.changeViewInput({ userId: 'U0ADA', viewId: modal.id, blockId, value, enter });
    const heard = seen.length;
    expect(await change('note', 'kept, not sent')).toBeUndefined();
    expect(await change('count', '12')).toBeUndefined(); // a text input's default: Enter
    expect(await change('count', '12', true)).toMatchObject({ status: 200 });
    expect(await change('search', 'fo')).toMatchObject({ status: 200 });
    expect(await change('period', 'week')).toMatchObject({ status: 200 });
    const sent = seen.slice(heard) as { body: Record<string, unknown>; action: Record<string, unknown> }[];
    expect(sent.map((s) => s.action)).toMatchObject([
      { type: 'plain_text_input', action_id: 'count', block_id: 'count', value: '12' },
      { type: 'plain_text_input', action_id: 'search', value: 'fo' },
      { type: 'static_select', action_id: 'period', selected_option: { value: 'week' } },
    ]);
    // Each payload carries the view as it stood: what was entered so far, and the hash views.update must name.
    expect(sent.at(-1)!.body).toMatchObject({
      type: 'block_actions',
      container: { type: 'view', view_id: modal.id },
      view: {
        id: modal.id,
        hash: modal.view.hash,
        state: {
          values: {
            note: { note: { type: 'plain_text_input', value: 'kept, not sent' } },
            search: { search: { value: 'fo' } },
            period: { period: { selected_option: { value: 'week' } } },
          },
        },
      },
    });
    const stamps = sent.map((s) => Number(s.action.action_ts));
    expect(stamps).toEqual([...stamps].sort((a, b) => a - b));
    expect(new Set(stamps).size).toBe(stamps.length);
  });

  it('refuses a dispatch_action_config Slack would refuse', () => {
    const view = (on: unknown) => ({
      type: 'modal',
      title: { type: 'plain_text', text: 'x' },
      submit: { type: 'plain_text', text: 'Save' },
      blocks: [
        {
          type: 'input',
          dispatch_action: true,
          label: { type: 'plain_text', text: 'x' },
          element: { type: 'plain_text_input', action_id: 'x', dispatch_action_config: { trigger_actions_on: on } },
        },
      ],
    });
    expect(viewProblems(view(['on_character_entered']), 'modal')).toEqual([]);
    expect(viewProblems(view([]), 'modal')).toHaveLength(1);
    expect(viewProblems(view(['on_blur']), 'modal')).toHaveLength(1);
  });

  it('refuses a trigger_id used twice, or one it never issued', async () => {
    const web = new WebClient(TOKEN, { slackApiUrl: `${ws.url}/api/`, retryConfig: { retries: 0 } });
    const view = { type: 'modal' as const, title: { type: 'plain_text' as const, text: 'x' }, blocks: [] };
    const used = seen.find((s) => s.text === 'modal')!.trigger_id as string;
    await expect(web.views.open({ trigger_id: used, view })).rejects.toMatchObject({
      data: { error: 'expired_trigger_id' },
    });
    await expect(web.views.open({ trigger_id: 'made-up', view })).rejects.toMatchObject({
      data: { error: 'invalid_trigger_id' },
    });
  });

  it('sends app_home_opened as an event and shows the published home', async () => {
    const { status } = await ws.openHome('U0LINUS');
    expect(status).toBe(200);
    const home = await ws.waitFor(() => ws.views('U0LINUS').find((v) => v.type === 'home'));
    expect(home.view).toMatchObject({ blocks: [{ text: { text: 'Hello <@U0LINUS>' } }] });
  });

  it('shows a dispatch failure when the bot refuses the signature', async () => {
    const forged = await startSlackWorkspace({
      signingSecret: 'not-the-secret',
      botToken: TOKEN,
      botUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/slack/events`,
    });
    try {
      const reply = await forged.slashCommand({ userId: 'U0GRACE', channelId: 'C0GENERAL', text: 'hello' });
      expect(reply.status).toBe(401);
      expect(forged.messages('C0GENERAL').at(-1)).toMatchObject({
        user: 'USLACKBOT',
        ephemeralTo: 'U0GRACE',
        text: '/kling failed with the error "dispatch_failed"',
      });
    } finally {
      await forged.close();
    }
  });
});

describe('response_url', () => {
  let ws: SlackWorkspace;
  let responseUrl = '';
  let bot: Server;

  beforeAll(async () => {
    const { createServer } = await import('node:http');
    // A bare "bot" that keeps the response_url and acks with nothing.
    bot = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        responseUrl = new URLSearchParams(body).get('response_url') ?? '';
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => bot.listen(0, '127.0.0.1', r));
    ws = await startSlackWorkspace({
      signingSecret: SECRET,
      botToken: TOKEN,
      botUrl: `http://127.0.0.1:${(bot.address() as AddressInfo).port}/`,
    });
  });
  afterAll(async () => {
    await ws.close();
    await new Promise((r) => bot.close(r));
  });

  const post = (body: unknown) =>
    fetch(responseUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('posts ephemeral by default and in the channel when asked, up to 5 times', async () => {
    await ws.slashCommand({ userId: 'U0GRACE', channelId: 'C0VIDEO', text: 'status' });
    expect(responseUrl).toMatch(new RegExp(`^${ws.url}/response/`));
    expect((await post({ text: 'just you' })).status).toBe(200);
    expect((await post({ text: 'everyone', response_type: 'in_channel' })).status).toBe(200);
    const messages = ws.messages('C0VIDEO');
    expect(messages.find((m) => m.text === 'just you')?.ephemeralTo).toBe('U0GRACE');
    expect(messages.find((m) => m.text === 'everyone')?.ephemeralTo).toBeUndefined();
    for (let i = 0; i < 3; i++) expect((await post({ text: `more ${i}` })).status).toBe(200);
    const sixth = await post({ text: 'too many' });
    expect(sixth.status).toBe(404);
    expect(await sixth.json()).toEqual({ ok: false, error: 'used_url' });
  });

  it('refuses invalid blocks with 400 and the reason', async () => {
    await ws.slashCommand({ userId: 'U0GRACE', channelId: 'C0VIDEO', text: 'status' });
    const res = await post({ text: 'x', blocks: [{ type: 'image', image_url: 'https://x/y.png' }] });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({
      error: 'invalid_blocks',
      response_metadata: { messages: ['[ERROR] must provide a string [json-pointer:/blocks/0/alt_text]'] },
    });
    expect(ws.calls('response_url').at(-1)).toMatchObject({ ok: false, error: 'invalid_blocks' });
  });

  it('answers an unknown url with 404', async () => {
    const res = await fetch(`${ws.url}/response/nothing`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"x"}',
    });
    expect(res.status).toBe(404);
  });
});
