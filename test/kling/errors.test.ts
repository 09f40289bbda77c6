import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { KlingApiError, KlingTimeoutError, KlingTransportError, retryDelay, type KlingAction } from '../../src/kling';
import { client, externalId, KEYS, simulator, warm } from './support';

/** Reference §4.1 and the brief: what each code means for the bot, and the HTTP status Kling sends it with. */
const EXPECTED: [code: number, http: number, action: KlingAction][] = [
  [1000, 401, 'reauth'],
  [1001, 401, 'reauth'],
  [1002, 401, 'reauth'],
  [1003, 401, 'reauth'],
  [1004, 401, 'reauth'],
  [1100, 429, 'pause'],
  [1101, 429, 'pause'],
  [1102, 429, 'pause'],
  [1103, 403, 'fail'],
  [1200, 400, 'fail'],
  [1201, 400, 'fail'],
  [1202, 404, 'fail'],
  [1203, 404, 'fail'],
  [1300, 400, 'fail'],
  [1301, 400, 'fail'],
  [1302, 429, 'retry'],
  [1303, 429, 'retry'],
  [1304, 429, 'fail'],
  [5000, 500, 'retry'],
  [5001, 503, 'retry'],
  [5002, 504, 'retry'],
];

/** How many times a create is sent for each action, with retries: 2 and the key pair (which can be re-signed once). */
const CREATES: Record<KlingAction, number> = { retry: 3, pause: 1, fail: 1, reauth: 2 };

describe('every Kling code becomes a typed error with its action', () => {
  it.each(EXPECTED)('code %i (HTTP %i) → %s', async (code, http, action) => {
    const sim = await simulator();
    sim.fault({ endpoint: 'text2video', method: 'POST', kind: 'code', code, times: Infinity });
    const kling = client(sim);

    const error = await kling.create('text2video', { prompt: 'p', external_task_id: externalId() }).catch((e) => e);

    expect(error).toBeInstanceOf(KlingApiError);
    expect(error).toMatchObject({ code, httpStatus: http, action, requestId: expect.any(String) });
    expect(error.klingMessage.length).toBeGreaterThan(0);
    expect(error.message).toContain(String(code));
    const posts = sim.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(CREATES[action]);
    // A 5xxx may have made the task: each retry is preceded by a lookup of the external id.
    const lookups = sim.requests.filter((r) => r.method === 'GET');
    expect(lookups).toHaveLength(code >= 5000 ? 2 : 0);
    expect(sim.tasks()).toHaveLength(0);
  });

  it('backs off exponentially from the first step up to the cap, plus up to half again of jitter', () => {
    expect([0, 1, 2, 3].map((r) => retryDelay(r, 1_000, 5_000, () => 0))).toEqual([1_000, 2_000, 4_000, 5_000]);
    expect([0, 1, 2, 3].map((r) => retryDelay(r, 1_000, 5_000, () => 0.999))).toEqual([1_500, 2_999, 5_998, 7_498]);
  });

  it('retries a retryable code and succeeds when Kling recovers, with one task', async () => {
    const sim = await simulator();
    sim.fault({ endpoint: 'text2video', method: 'POST', kind: 'code', code: 1303, times: 2 });
    const task = await client(sim).create('text2video', { prompt: 'p', external_task_id: externalId() });
    expect(task.status).toBe('submitted');
    expect(sim.requests.filter((r) => r.method === 'POST')).toHaveLength(3);
    expect(sim.tasks()).toHaveLength(1);
  });

  it('does not retry a refusal on queries either, and retries a 5001 on a query', async () => {
    const sim = await simulator();
    const kling = client(sim);
    const task = await kling.create('text2video', { prompt: 'p', external_task_id: externalId() });
    sim.fault({ endpoint: 'text2video', method: 'GET', kind: 'code', code: 5001, times: 1 });
    expect((await kling.query('text2video', { taskId: task.taskId })).taskId).toBe(task.taskId);
    expect(sim.requests.filter((r) => r.method === 'GET')).toHaveLength(2);
    sim.fault({ endpoint: 'text2video', method: 'GET', kind: 'code', code: 1103, times: Infinity });
    await expect(kling.query('text2video', { taskId: task.taskId })).rejects.toMatchObject({
      code: 1103,
      action: 'fail',
    });
    expect(sim.requests.filter((r) => r.method === 'GET')).toHaveLength(3);
  });

  it('turns a gateway 5xx page, a malformed body and a dropped connection into retryable transport errors', async () => {
    const sim = await simulator();
    const kling = client(sim, { retries: 0 });
    sim.fault({ endpoint: 'account/costs', kind: 'http5xx', code: 503 });
    await expect(kling.accountCosts()).rejects.toMatchObject({
      name: 'KlingTransportError',
      action: 'retry',
      httpStatus: 503,
    });
    sim.fault({ endpoint: 'account/costs', kind: 'malformed' });
    await expect(kling.accountCosts()).rejects.toThrow(/not JSON/);
    sim.fault({ endpoint: 'account/costs', kind: 'drop' });
    const dropped = await kling.accountCosts().catch((e) => e);
    expect(dropped).toBeInstanceOf(KlingTransportError);
    expect(dropped).not.toBeInstanceOf(KlingTimeoutError);
    // and with retries they are retried until an answer comes
    sim.fault({ endpoint: 'account/costs', kind: 'drop' });
    sim.fault({ endpoint: 'account/costs', kind: 'http5xx' });
    expect(await client(sim).accountCosts()).toHaveLength(1);
  });

  it('times out a hanging or slow call with KlingTimeoutError (action retry)', async () => {
    const sim = await simulator();
    const kling = client(sim, { timeoutMs: 1_500, retries: 0 });
    await warm(sim, kling);
    sim.fault({ endpoint: 'account/costs', kind: 'hang' });
    await expect(kling.accountCosts()).rejects.toBeInstanceOf(KlingTimeoutError);
    sim.fault({ endpoint: 'account/costs', kind: 'slow', delayMs: 6_000 });
    const slow = await kling.accountCosts().catch((e) => e);
    expect(slow).toBeInstanceOf(KlingTimeoutError);
    expect(slow.action).toBe('retry');
  });

  it('never puts a key, the secret or a token in an error message or a log line', async () => {
    const lines: string[] = [];
    const logger = pino(
      { level: 'trace' },
      new Writable({ write: (chunk, _enc, done) => (lines.push(String(chunk)), done()) }),
    );
    const sim = await simulator();
    const pair = client(sim, { logger, timeoutMs: 100 });
    const keyed = client(sim, { logger, timeoutMs: 100, auth: { apiKey: KEYS.apiKey } });
    const wrong = client(sim, { logger, auth: { apiKey: `${KEYS.apiKey}-wrong` } });
    const errors: unknown[] = [];
    const attempt = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (e) => errors.push(e),
      );

    await attempt(pair.create('text2video', { prompt: 'ok', external_task_id: externalId() }));
    for (const kind of ['hang', 'drop', 'malformed', 'http5xx'] as const) {
      sim.fault({ kind, times: 3 });
      await attempt(pair.accountCosts());
      sim.fault({ kind, times: 3 });
      await attempt(keyed.accountCosts());
    }
    sim.fault({ kind: 'code', code: 1004, times: Infinity });
    await attempt(pair.accountCosts());
    sim.clearFaults();
    await attempt(wrong.accountCosts());
    await attempt(pair.create('text2video', { prompt: 'x'.repeat(3000), external_task_id: externalId() }));

    expect(errors.length).toBeGreaterThanOrEqual(10);
    const sentTokens = sim.requests.map((r) => r.headers.authorization!.slice('Bearer '.length));
    expect(sentTokens.some((t) => t.startsWith('eyJ'))).toBe(true); // the test sees real tokens on the wire…
    const text = [
      ...errors.map((e) => `${(e as Error).message} ${JSON.stringify(e)} ${(e as Error).stack}`),
      ...lines,
    ].join('\n');
    expect(lines.length).toBeGreaterThan(0);
    for (const secret of [KEYS.secretKey, KEYS.apiKey, ...new Set(sentTokens)]) expect(text).not.toContain(secret); // …and nowhere else
  });
});
