import { createServer, type AddressInfo } from 'node:net';
import { WebClient } from '@slack/web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { createBot } from '../../src/app';
import { ConfigError, loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, startHarness, textOf, type Harness } from './harness';

/**
 * The real bot in Socket Mode (SLACK_APP_TOKEN): it opens its WebSocket through the offline workspace's
 * apps.connections.open, takes commands, clicks and events as envelopes, acks them over the socket, and
 * still answers its own routes on PORT.
 */

let h: Harness;
let port: number;
const GRACE = 'U0GRACE';
const LINUS = 'U0LINUS';

/** A port nobody listens on, so the test can tell that PORT itself is used. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: free } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return free;
}

/** Another bot on the same workspace and database, with some variables changed. */
function otherBot(env: Record<string, string>) {
  const config = loadConfig({
    DATABASE_URL: h.database.url,
    SLACK_BOT_TOKEN: BOT_TOKEN,
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: `${h.slack.url}/api/`,
    KLING_API_KEY: 'unused',
    KLING_API_BASE_URL: h.kling.url,
    PORT: '0',
    ...env,
  });
  return createBot(config, { logger: createLogger('silent'), digestSchedule: false });
}

beforeAll(async () => {
  port = await freePort();
  h = await startHarness({ socketMode: true, env: { PORT: String(port) } });
});
afterAll(async () => h?.close());

describe('Socket Mode', () => {
  it('connects over the socket with the app-level token and takes no Slack requests over HTTP', async () => {
    expect(h.slack.socketConnections()).toBe(1);
    expect(h.slack.calls('apps.connections.open')).toEqual([{ method: 'apps.connections.open', args: {}, ok: true }]);
    // In HTTP mode this is where Slack posts; in Socket Mode nothing answers there.
    const res = await fetch(`${h.botUrl}/slack/events`, { method: 'POST', body: 'command=%2Fkling&text=help' });
    expect(res.status).toBe(404);
  });

  it('acks /kling help over the socket with the usage as the ack payload', async () => {
    const reply = await h.command(GRACE, 'help');
    expect(reply.status).toBe(200);
    expect(textOf(reply.ack)).toContain('/kling generate &lt;prompt&gt;');
    const envelope = h.slack.envelopes('slash_commands').at(-1)!;
    expect(envelope).toMatchObject({
      payload: { command: '/kling', text: 'help', user_id: GRACE, channel_id: 'C0VIDEO' },
      accepts_response_payload: true,
    });
    expect(textOf(envelope.ack?.payload as { blocks?: unknown[] })).toContain('/kling generate &lt;prompt&gt;');
    // Slack shows the ack's message to the person who typed the command.
    expect(textOf(h.slack.messages('C0VIDEO').findLast((m) => m.ephemeralTo === GRACE && m.via === 'ack'))).toContain(
      '/kling generate &lt;prompt&gt;',
    );
  });

  it('acks /kling generate over the socket and the job card reaches Done through the Web API', async () => {
    const reply = await h.command(GRACE, 'generate a fox');
    expect(reply).toEqual({ status: 200, ack: undefined });
    expect(h.slack.envelopes('slash_commands').at(-1)).toMatchObject({
      payload: { text: 'generate a fox' },
      ack: { payload: {} },
    });
    const done = await h.slack.waitFor(
      () => h.cards('C0VIDEO').find((m) => textOf(m).includes('a fox') && textOf(m).includes('Done')),
      15_000,
    );
    expect(h.slack.calls('chat.update').some((c) => c.ok && c.args.ts === done.ts)).toBe(true);
    const video = await h.slack.waitFor(() => h.slack.messages('C0VIDEO').find((m) => m.threadTs === done.ts));
    expect(textOf(video)).toContain('Your video');
    expect(video.files?.map((f) => f.name)).toEqual([expect.stringMatching(/^kling-.+\.mp4$/)]);
  });

  it('delivers a button click over the socket', async () => {
    // The same prompt again: the bot offers the earlier video, with a button to make a new one anyway.
    const again = await h.command(LINUS, 'generate a fox');
    expect(textOf(again.ack)).toContain('Reusing it costs nothing');
    const offer = h.slack.messages('C0VIDEO').findLast((m) => m.ephemeralTo === LINUS)!;
    const cards = h.cards('C0VIDEO').length;
    const click = await h.slack.clickButton({
      userId: LINUS,
      channelId: 'C0VIDEO',
      messageTs: offer.ts,
      actionId: 'generate_anyway',
    });
    expect(click.status).toBe(200);
    expect(h.slack.envelopes('interactive').at(-1)).toMatchObject({
      payload: { type: 'block_actions', actions: [{ action_id: 'generate_anyway' }] },
      ack: {},
    });
    // Done before the next tests start other bots, whose workers would otherwise take the job.
    await h.slack.waitFor(
      () => h.cards('C0VIDEO').length > cards && h.cards('C0VIDEO').every((m) => textOf(m).includes('Done')),
      15_000,
    );
  });

  it('answers GET /healthz on PORT, and reports the port PORT=0 found', async () => {
    expect(h.bot.port).toBe(port);
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ ok: true });
    const bot = await otherBot({ SLACK_APP_TOKEN: APP_TOKEN });
    try {
      await bot.start();
      expect(bot.port).toBeGreaterThan(0);
      expect((await fetch(`http://127.0.0.1:${bot.port}/healthz`)).status).toBe(200);
    } finally {
      await bot.stop();
    }
  });

  it.each([
    ['SLACK_APP_TOKEN', 'xapp-not-this-one', 'use an app-level token with the connections:write scope'],
    ['SLACK_BOT_TOKEN', 'xoxb-not-this-one', 'use the bot token (xoxb-…) from OAuth & Permissions'],
  ])(
    'stops start-up with an error naming %s, never its value, when Slack refuses it',
    async (variable, token, advice) => {
      const bot = await otherBot({ SLACK_APP_TOKEN: APP_TOKEN, [variable]: token });
      try {
        const error = await bot.start().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(ConfigError);
        expect((error as Error).message).toBe(
          `Configuration error: ${variable} was refused by Slack (invalid_auth): ${advice}`,
        );
        expect((error as Error).message).not.toContain('not-this-one');
      } finally {
        await bot.stop();
      }
      if (variable === 'SLACK_APP_TOKEN')
        expect(h.slack.calls('apps.connections.open').at(-1)).toMatchObject({ ok: false, error: 'invalid_auth' });
      expect(h.slack.socketConnections()).toBe(1); // only the harness's own bot is connected
    },
  );

  it('fails start-up, rather than the process, when PORT is taken', async () => {
    const bot = await otherBot({ SLACK_APP_TOKEN: APP_TOKEN, PORT: String(port) });
    try {
      await expect(bot.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await bot.stop();
    }
    // Its socket is closed again; the first bot's is the one left.
    expect(h.slack.socketConnections()).toBe(1);
    expect(textOf((await h.command(GRACE, 'help')).ack)).toContain('/kling generate');
  });

  it('opens connections only for the app-level token, and each URL only once', async () => {
    const web = (token: string) =>
      new WebClient(token, { slackApiUrl: `${h.slack.url}/api/`, retryConfig: { retries: 0 } });
    await expect(web(BOT_TOKEN).apps.connections.open()).rejects.toMatchObject({
      data: { error: 'not_allowed_token_type' },
    });
    await expect(web(APP_TOKEN).chat.postMessage({ channel: 'C0VIDEO', text: 'hi' })).rejects.toMatchObject({
      data: { error: 'not_allowed_token_type' },
    });
    const { url } = await web(APP_TOKEN).apps.connections.open();
    const socket = new WebSocket(url!);
    const hello = await new Promise((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)))));
    expect(hello).toMatchObject({ type: 'hello', num_connections: 2, connection_info: { app_id: 'A0KLINGAPP' } });
    const again = new WebSocket(url!);
    const refused = await new Promise((resolve) =>
      again.once('unexpected-response', (_req, res) => resolve(res.statusCode)),
    );
    expect(refused).toBe(401);
    socket.close();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(h.slack.socketConnections()).toBe(1);
  });
});
