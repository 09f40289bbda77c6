import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { KlingApiError, KlingClient } from '../../src/kling';
import { client, externalId, KEYS, settle, simulator } from './support';

describe('KlingClient against the simulator over HTTP', () => {
  it('creates a text2video task with the body exactly as given, signs a JWT, and queries it by task_id and by external_task_id', async () => {
    const sim = await simulator();
    const kling = client(sim);
    const id = externalId();
    const body = {
      model_name: 'kling-v2-6',
      prompt: 'a fox running through snow',
      mode: 'pro',
      duration: '10',
      sound: 'on',
      aspect_ratio: '16:9',
      external_task_id: id,
    };

    const created = await kling.create('text2video', body);

    expect(created).toMatchObject({ status: 'submitted', externalTaskId: id, videos: [], images: [] });
    const post = sim.requests.find((r) => r.method === 'POST')!;
    expect(post.path).toBe('/v1/videos/text2video');
    expect(post.body).toEqual(body);
    expect(post.headers['content-type']).toBe('application/json');
    const [scheme, token] = post.headers.authorization!.split(' ');
    expect(scheme).toBe('Bearer');
    const claims = JSON.parse(Buffer.from(token!.split('.')[1]!, 'base64url').toString());
    expect(claims.iss).toBe(KEYS.accessKey);
    expect(claims.exp - claims.nbf).toBe(1805);

    const done = await settle(kling, 'text2video', created.taskId);
    expect(done.status).toBe('succeed');
    expect(done.finalUnitDeduction).toBe('10');
    expect(done.videos).toHaveLength(1);
    expect(done.videos[0]!.duration).toBe('10');
    const media = await fetch(done.videos[0]!.url);
    expect(media.status).toBe(200);
    expect(media.headers.get('content-type')).toBe('video/mp4');

    const byExternal = await kling.query('text2video', { externalTaskId: id });
    expect(byExternal).toEqual(done);
    expect(sim.requests.at(-1)!.path).toBe(`/v1/videos/text2video?external_task_id=${id}`);
  });

  it('creates and queries image2video, video-extend, images/generations and kolors-virtual-try-on', async () => {
    const sim = await simulator();
    const kling = client(sim);

    const i2v = await kling.create('image2video', {
      model_name: 'kling-v1-6',
      image: 'https://example.com/start.png',
      prompt: 'waves',
      mode: 'std',
      duration: '5',
      external_task_id: externalId(),
    });
    const source = await settle(kling, 'image2video', i2v.taskId);
    expect(source.status).toBe('succeed');
    expect(sim.requests.find((r) => r.method === 'POST')!.path).toBe('/v1/videos/image2video');

    const extend = await kling.create('video-extend', {
      video_id: source.videos[0]!.id,
      prompt: 'the waves calm down',
      external_task_id: externalId(),
    });
    const extended = await settle(kling, 'video-extend', extend.taskId);
    expect(extended.status).toBe('succeed');
    expect(extended.videos[0]!.duration).toBe('10'); // the whole video: 5 s source + 5 s extension
    expect(Number(extended.finalUnitDeduction)).toBeGreaterThan(0);

    const images = await kling.create('images/generations', {
      prompt: 'a red kite',
      n: 2,
      aspect_ratio: '1:1',
      external_task_id: externalId(),
    });
    const imagesDone = await settle(kling, 'images/generations', images.taskId);
    expect(imagesDone.images.map((i) => i.index)).toEqual([0, 1]);
    expect((await fetch(imagesDone.images[1]!.url)).status).toBe(200);

    const tryOn = await kling.create('kolors-virtual-try-on', {
      model_name: 'kolors-virtual-try-on-v1',
      human_image: 'https://example.com/h.png',
      cloth_image: 'https://example.com/c.png',
      external_task_id: externalId(),
    });
    const tryOnDone = await settle(kling, 'kolors-virtual-try-on', tryOn.taskId);
    expect(tryOnDone.images).toHaveLength(1);

    const paths = sim.requests.filter((r) => r.method === 'POST').map((r) => r.path);
    expect(paths).toEqual([
      '/v1/videos/image2video',
      '/v1/videos/video-extend',
      '/v1/images/generations',
      '/v1/images/kolors-virtual-try-on',
    ]);
  });

  it('adds the configured callback_url unless the body names one', async () => {
    const sim = await simulator();
    const kling = client(sim, { callbackUrl: 'http://127.0.0.1:9/kling/callback' });
    await kling.create('text2video', { prompt: 'one', external_task_id: externalId() });
    await kling.create('text2video', {
      prompt: 'two',
      callback_url: 'http://127.0.0.1:9/other',
      external_task_id: externalId(),
    });
    const bodies = sim.requests
      .filter((r) => r.method === 'POST')
      .map((r) => (r.body as { callback_url?: string }).callback_url);
    expect(bodies).toEqual(['http://127.0.0.1:9/kling/callback', 'http://127.0.0.1:9/other']);
  });

  it('sends the API key as the bearer token when configured with one', async () => {
    const sim = await simulator();
    const kling = client(sim, { auth: { apiKey: KEYS.apiKey } });
    const task = await kling.create('text2video', { prompt: 'p', external_task_id: externalId() });
    expect(task.status).toBe('submitted');
    expect(sim.requests[0]!.headers.authorization).toBe(`Bearer ${KEYS.apiKey}`);
  });

  it('reports an unknown task as KlingApiError 1203 that is not retried', async () => {
    const sim = await simulator();
    const kling = client(sim);
    const error = await kling.query('text2video', { externalTaskId: 'never-created' }).catch((e) => e);
    expect(error).toBeInstanceOf(KlingApiError);
    expect(error).toMatchObject({ code: 1203, httpStatus: 404, action: 'fail' });
    expect(sim.requests).toHaveLength(1);
  });

  it('reads the resource packs from /account/costs (double wrapper) with the time window it was given', async () => {
    const sim = await simulator({ balance: 100 });
    const kling = client(sim);
    const task = await kling.create('text2video', {
      model_name: 'kling-v2-5-turbo',
      prompt: 'p',
      mode: 'pro',
      duration: '5',
      external_task_id: externalId(),
    });
    await settle(kling, 'text2video', task.taskId);

    const packs = await kling.accountCosts({ startTime: 1_700_000_000_000, endTime: 1_800_000_000_000 });

    expect(packs).toEqual([
      {
        id: 'sim-pack-1',
        name: 'Video Generation - simulator pack',
        total: 100,
        remaining: 97.5,
        status: 'online',
        expiresAt: expect.any(Number),
      },
    ]);
    expect(sim.requests.at(-1)!.path).toBe('/account/costs?start_time=1700000000000&end_time=1800000000000');
  });

  it('reads every page of the per-task deductions from /account/billing/package, within the window', async () => {
    const sim = await simulator({
      account: { packs: [{ id: 'p1', units: 1000, expiresAt: Date.now() + 86_400_000 }] },
    });
    const kling = client(sim);
    for (let i = 0; i < 3; i++) sim.account!.recordCharge({ taskId: `t${i}`, units: 1.5 }, 1_000 + i);
    sim.account!.recordCharge({ taskId: 'late', units: 2 }, 9_000);
    const page = (body: unknown) =>
      fetch(`${sim.url}/account/billing/package`, {
        method: 'POST',
        headers: { authorization: `Bearer ${KEYS.apiKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const first = (await (await page({ start_time: 0, end_time: 5_000, limit: 2 })).json()) as { data: unknown };
    expect(first.data).toMatchObject({ has_more: true, result: { count: 2 } });

    const deductions = await kling.billingPackage({ startTime: 0, endTime: 5_000 });
    expect(deductions).toEqual(
      [0, 1, 2].map((i) => ({ taskId: `t${i}`, packId: 'p1', model: 'kling-v2-5-turbo', at: 1_000 + i, units: 1.5 })),
    );
  });

  it('refuses a create without an external_task_id before sending anything', async () => {
    const sim = await simulator();
    const kling: KlingClient = client(sim);
    await expect(kling.create('text2video', { prompt: 'p' } as never)).rejects.toThrow(/external_task_id/);
    expect(sim.requests).toHaveLength(0);
  });
});

describe('KlingClient against answers the simulator does not give', () => {
  /** A loopback server that answers every request with the given envelope (or page). */
  async function answering(envelope: unknown, status = 200): Promise<{ url: string; close: () => Promise<void> }> {
    const server = http.createServer((_req, res) =>
      res.writeHead(status).end(typeof envelope === 'string' ? envelope : JSON.stringify(envelope)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: () => new Promise((resolve) => server.close(() => resolve())),
    };
  }
  const item = (taskId: string, external: string) => ({
    task_id: taskId,
    task_status: 'processing',
    task_info: { external_task_id: external },
  });

  it('picks the task out of the list when Kling ignores the external_task_id filter', async () => {
    const server = await answering({
      code: 0,
      message: 'SUCCEED',
      request_id: 'r1',
      data: [item('t1', 'a'), item('t2', 'b')],
    });
    const kling = new KlingClient({ baseUrl: server.url, auth: { apiKey: KEYS.apiKey }, retries: 0 });
    try {
      expect((await kling.query('text2video', { externalTaskId: 'b' })).taskId).toBe('t2');
      await expect(kling.query('text2video', { externalTaskId: 'c' })).rejects.toMatchObject({
        code: 1203,
        requestId: 'r1',
      });
    } finally {
      await server.close();
    }
  });

  it('raises the inner {code, msg} of /account/costs as a KlingApiError', async () => {
    const server = await answering({
      code: 0,
      message: 'SUCCEED',
      request_id: 'r2',
      data: { code: 1201, msg: 'start_time is invalid' },
    });
    const kling = new KlingClient({ baseUrl: server.url, auth: { apiKey: KEYS.apiKey }, retries: 0 });
    try {
      await expect(kling.accountCosts()).rejects.toMatchObject({
        code: 1201,
        klingMessage: 'start_time is invalid',
        action: 'fail',
        requestId: 'r2',
      });
    } finally {
      await server.close();
    }
  });

  it('fails at once, without retrying, when something other than Kling answers 404 with a page (a wrong KLING_API_BASE_URL)', async () => {
    const server = await answering('<html>Not Found</html>', 404);
    const kling = new KlingClient({
      baseUrl: server.url,
      auth: { apiKey: KEYS.apiKey },
      retries: 3,
      retryDelayMs: 60_000,
    });
    try {
      await expect(kling.accountCosts()).rejects.toMatchObject({
        name: 'KlingTransportError',
        httpStatus: 404,
        action: 'fail',
        message: expect.stringContaining('HTTP 404'),
      });
    } finally {
      await server.close();
    }
  });

  it('treats a success envelope without a readable task as a retryable transport error', async () => {
    const server = await answering({
      code: 0,
      message: 'SUCCEED',
      request_id: 'r3',
      data: { task_id: 't', task_status: 'finished' },
    });
    const kling = new KlingClient({ baseUrl: server.url, auth: { apiKey: KEYS.apiKey }, retries: 0 });
    try {
      await expect(kling.query('text2video', { taskId: 't' })).rejects.toMatchObject({
        name: 'KlingTransportError',
        action: 'retry',
        message: expect.stringContaining('task_status'),
      });
    } finally {
      await server.close();
    }
  });
});
