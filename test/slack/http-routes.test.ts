import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db';
import { createMetrics } from '../../src/http/metrics';
import { httpRoutes, type RouteDeps } from '../../src/http/routes';
import { signWebhook } from '../../src/kling';
import { createLogger } from '../../src/log';
import { createTestDatabase, type TestDatabase } from '../support/db';

/** The bot's own routes over real loopback HTTP: health, and Kling's callback. */

const SECRET = Buffer.from('kling-webhook-test-secret').toString('base64');
let server: Server | undefined;
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase({ max: 1 });
});
afterAll(async () => database?.drop());
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(
  deps: Partial<RouteDeps> & Pick<RouteDeps, 'database'>,
): Promise<{ url: string; woken: (string | undefined)[][] }> {
  const woken: (string | undefined)[][] = [];
  const routes = httpRoutes({
    metrics: createMetrics(database.db),
    wake: (...args) => woken.push(args),
    logger: createLogger('silent'),
    ...deps,
  });
  server = createServer((req, res) => {
    const route = routes.find((r) => r.path === req.url && r.method === req.method);
    if (route) route.handler(req as never, res);
    else res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, woken };
}

describe('GET /healthz', () => {
  it('is 200 while the database answers and 503 when it does not', async () => {
    let up = true;
    const { url } = await serve({
      database: {
        ping: async () => {
          if (!up) throw new Error('connection refused');
        },
      },
    });
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    up = false;
    const down = await fetch(`${url}/healthz`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ ok: false, error: 'database unreachable' });
  });

  it('answers 503 within a second when the database takes connections but stays silent, probing once', async () => {
    // A Postgres that takes the TCP connection and then stays silent: the driver's query would wait for 30 s.
    const sockets: Socket[] = [];
    const silent = createNetServer((socket) => void sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const stalled = await openDatabase({ url: `postgres://nobody@127.0.0.1:${port}/none`, max: 4, migrate: false });
    try {
      const { url } = await serve({ database: stalled });
      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 5 }, () => fetch(`${url}/healthz`)));
      expect(Date.now() - started).toBeLessThan(3_000);
      expect(answers.map((a) => a.status)).toEqual([503, 503, 503, 503, 503]);
      expect(await answers[0]!.json()).toEqual({ ok: false, error: 'database unreachable' });
      // Five checks, one probe: a single connection attempt reached the silent server.
      expect(sockets).toHaveLength(1);
    } finally {
      // Not awaited: the driver would give its hung query 5 s to finish.
      void stalled.close().catch(() => {});
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });
});

describe('POST /kling/callback', () => {
  const body = JSON.stringify({
    task_id: 't1',
    task_status: 'succeed',
    task_info: { external_task_id: 'kbb_1' },
    task_result: { videos: [{ id: 'v', url: 'https://x/v.mp4', duration: '5' }] },
  });

  it('wakes the worker for the task a signed callback names', async () => {
    const { url, woken } = await serve({ database: { ping: async () => {} }, webhookSecret: SECRET });
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(`${url}/kling/callback`, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        'webhook-id': 'msg_1',
        'webhook-timestamp': String(ts),
        'webhook-signature': signWebhook(SECRET, 'msg_1', ts, body),
      },
    });
    expect(res.status).toBe(200);
    expect(woken).toEqual([['kbb_1', 'succeed']]);
  });

  it('wakes nothing for a task that is not one of ours (no external_task_id)', async () => {
    const { url, woken } = await serve({ database: { ping: async () => {} } });
    const res = await fetch(`${url}/kling/callback`, {
      method: 'POST',
      body: JSON.stringify({ task_id: 't2', task_status: 'succeed' }),
    });
    expect(res.status).toBe(200);
    expect(woken).toEqual([]);
  });

  it('logs a flood of refused callbacks as one short line, without a stack', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(line) });
    const { url, woken } = await serve({ database: { ping: async () => {} }, webhookSecret: SECRET, logger });
    const forged = {
      'webhook-id': 'msg_1',
      'webhook-timestamp': String(Math.floor(Date.now() / 1000)),
      'webhook-signature': 'v1,bm9wZQ==',
    };
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 200 }, (_, i) =>
        fetch(`${url}/kling/callback`, {
          method: 'POST',
          body: i % 2 ? body : 'not json',
          headers: i % 2 ? forged : {},
        }).then((r) => r.status),
      ),
    );
    expect(new Set(answers)).toEqual(new Set([401]));
    expect(woken).toEqual([]);
    // One line per 10 s at most, however long the flood took on a loaded machine.
    expect(lines.length).toBeLessThanOrEqual(1 + Math.floor((Date.now() - started) / 10_000));
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 40,
      msg: 'Kling callback refused',
      reason: expect.stringMatching(/signature/),
    });
    expect(line.err).toBeUndefined();
    expect(lines[0]!.length).toBeLessThan(300);
  });

  it('refuses a forged callback with 401 and wakes nothing', async () => {
    const { url, woken } = await serve({ database: { ping: async () => {} }, webhookSecret: SECRET });
    const ts = Math.floor(Date.now() / 1000);
    const res = await fetch(`${url}/kling/callback`, {
      method: 'POST',
      body,
      headers: {
        'webhook-id': 'msg_1',
        'webhook-timestamp': String(ts),
        'webhook-signature': signWebhook(Buffer.from('other').toString('base64'), 'msg_1', ts, body),
      },
    });
    expect(res.status).toBe(401);
    expect(woken).toEqual([]);
  });

  it('answers 400 to a body that is not a Kling task, and wakes nothing', async () => {
    const { url, woken } = await serve({ database: { ping: async () => {} } });
    const res = await fetch(`${url}/kling/callback`, { method: 'POST', body: '{"hello":"world"}' });
    expect(res.status).toBe(400);
    expect(woken).toEqual([]);
  });
});
