import jwt from 'jsonwebtoken';
import { describe, expect, it } from 'vitest';
import { KlingApiError, signKlingToken } from '../../src/kling';
import { client, externalId, KEYS, simulator } from './support';

const claimsOf = (authorization: string) =>
  jwt.decode(authorization.slice('Bearer '.length)) as { iss: string; exp: number; nbf: number };

describe('the simulator checks auth as Kling does (401 + 1000–1004)', () => {
  const nowSec = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => Record<string, string>, number][] = [
    ['no Authorization header', () => ({}), 1001],
    ['an empty Authorization header', () => ({ authorization: ' ' }), 1001],
    ['a header without the Bearer scheme', () => ({ authorization: `Token ${KEYS.apiKey}` }), 1002],
    [
      'a JWT signed with another secret',
      () => ({ authorization: `Bearer ${signKlingToken(KEYS.accessKey, 'not-the-secret', nowSec())}` }),
      1002,
    ],
    [
      'a JWT for another access key',
      () => ({ authorization: `Bearer ${signKlingToken('someone-else', KEYS.secretKey, nowSec())}` }),
      1000,
    ],
    [
      'a JWT that is not yet valid',
      () => ({ authorization: `Bearer ${signKlingToken(KEYS.accessKey, KEYS.secretKey, nowSec() + 600)}` }),
      1003,
    ],
    [
      'an expired JWT',
      () => ({ authorization: `Bearer ${signKlingToken(KEYS.accessKey, KEYS.secretKey, nowSec() - 3600)}` }),
      1004,
    ],
    ['a wrong API key', () => ({ authorization: 'Bearer not-the-key' }), 1000],
    [
      'an unsigned JWT (alg none)',
      () => ({
        authorization: `Bearer ${jwt.sign({ iss: KEYS.accessKey, exp: nowSec() + 1800, nbf: nowSec() - 5 }, '', { algorithm: 'none', noTimestamp: true })}`,
      }),
      1002,
    ],
  ];

  it.each(cases)('refuses %s', async (_name, headers, code) => {
    const sim = await simulator();
    const response = await fetch(`${sim.url}/v1/videos/text2video/x`, { headers: headers() });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code, request_id: expect.any(String) });
  });

  it('accepts a fresh JWT and the API key', async () => {
    const sim = await simulator();
    for (const token of [signKlingToken(KEYS.accessKey, KEYS.secretKey, nowSec()), KEYS.apiKey]) {
      const response = await fetch(`${sim.url}/v1/videos/text2video`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ code: 0, data: [] });
    }
  });
});

describe('the client token', () => {
  it('is reused while fresh and re-signed shortly before it expires', async () => {
    let t = Date.UTC(2026, 10, 25, 12, 0, 0);
    const sim = await simulator({ now: () => t });
    const kling = client(sim, { now: () => t });

    await kling.accountCosts();
    t += 600_000; // 10 min: still fresh
    await kling.accountCosts();
    t += 1_000_000; // 26.7 min after signing: within the refresh margin
    await kling.accountCosts();

    const [first, second, third] = sim.requests.map((r) => r.headers.authorization!);
    expect(second).toBe(first);
    expect(third).not.toBe(first);
    const start = Date.UTC(2026, 10, 25, 12, 0, 0) / 1000;
    expect(claimsOf(first!)).toEqual({ iss: KEYS.accessKey, exp: start + 1800, nbf: start - 5 });
    expect(claimsOf(third!)).toEqual({ iss: KEYS.accessKey, exp: start + 1600 + 1800, nbf: start + 1600 - 5 });
  });

  it('is re-signed once when Kling says 1004, and the call then succeeds', async () => {
    let clientNow = Date.UTC(2026, 10, 25, 12, 0, 0);
    let serverNow = clientNow;
    const sim = await simulator({ now: () => serverNow });
    const kling = client(sim, { now: () => clientNow });
    await kling.accountCosts();

    clientNow += 1_000_000; // our clock: the cached token has 13 minutes left
    serverNow += 1_801_000; // Kling's clock runs ahead: to it the token has expired
    const task = await kling.create('text2video', { prompt: 'p', external_task_id: externalId() });

    expect(task.status).toBe('submitted');
    const posts = sim.requests.filter((r) => r.method === 'POST');
    expect(posts).toHaveLength(2);
    expect(posts[0]!.headers.authorization).toBe(sim.requests[0]!.headers.authorization);
    expect(claimsOf(posts[1]!.headers.authorization!).exp).toBe(clientNow / 1000 + 1800);
    expect(sim.tasks()).toHaveLength(1);
  });

  it('gives up after one refresh when Kling keeps refusing, with action reauth', async () => {
    const sim = await simulator();
    sim.fault({ kind: 'code', code: 1004, times: Infinity });
    const error = await client(sim)
      .accountCosts()
      .catch((e) => e);
    expect(error).toBeInstanceOf(KlingApiError);
    expect(error).toMatchObject({ code: 1004, action: 'reauth' });
    expect(sim.requests).toHaveLength(2);
  });

  it('is not refreshed when it is an API key: one request, then reauth', async () => {
    const sim = await simulator();
    const error = await client(sim, { auth: { apiKey: 'revoked-key' } })
      .accountCosts()
      .catch((e) => e);
    expect(error).toMatchObject({ code: 1000, action: 'reauth', httpStatus: 401 });
    expect(sim.requests).toHaveLength(1);
  });
});
