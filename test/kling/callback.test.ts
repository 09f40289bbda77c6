import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KlingCallbackError, parseCallback, signWebhook } from '../../src/kling';
import { client, externalId, settle, simulator, waitFor } from './support';

const flat = {
  task_id: 'CjhiG2dMcUwAAAAAA',
  task_status: 'failed',
  task_status_msg: 'Failure to pass the risk control system',
  created_at: 1722769557708,
  updated_at: 1722769557999,
  final_unit_deduction: '0',
  task_info: { external_task_id: 'gen-42' },
  task_result: {},
};

describe('parseCallback', () => {
  it('reads the flat legacy body; the failure reason is task_status_msg', () => {
    expect(parseCallback(JSON.stringify(flat), {})).toEqual({
      taskId: 'CjhiG2dMcUwAAAAAA',
      externalTaskId: 'gen-42',
      status: 'failed',
      statusMessage: 'Failure to pass the risk control system',
      videos: [],
      images: [],
      finalUnitDeduction: '0',
      createdAt: 1722769557708,
      updatedAt: 1722769557999,
    });
  });

  it('also reads the body wrapped in the {code, message, data} envelope', () => {
    const succeeded = {
      ...flat,
      task_status: 'succeed',
      task_status_msg: '',
      final_unit_deduction: '2.5',
      task_result: { videos: [{ id: 'v1', url: 'https://cdn/v1.mp4', duration: '5.1' }] },
    };
    const task = parseCallback(JSON.stringify({ code: 0, message: 'SUCCEED', request_id: 'r', data: succeeded }), {});
    expect(task).toMatchObject({
      status: 'succeed',
      statusMessage: undefined,
      finalUnitDeduction: '2.5',
      videos: [{ id: 'v1', url: 'https://cdn/v1.mp4', duration: '5.1' }],
    });
  });

  it('refuses a body that is not JSON or not a task', () => {
    expect(() => parseCallback('not json', {})).toThrow(
      expect.objectContaining({ name: 'KlingCallbackError', reason: 'body' }),
    );
    expect(() => parseCallback(JSON.stringify({ task_id: 'x', task_status: 'done' }), {})).toThrow(/task_status/);
  });
});

describe('webhook signatures (Standard Webhooks)', () => {
  it("reproduces Kling's published test vector", () => {
    const body =
      '{"id":"1234567890","status":"succeeded","message":"","create_time":1781080778802,"update_time":1781080794151}';
    expect(signWebhook('whsec_dGVzdHNlY3JldHRlc3RzZWNyZXR0ZXN0c2VjcmV0MTI=', '9876543210', 1781080794, body)).toBe(
      'v1,UsKlJP00XoQyOn410NM9xv34sP+Gl0jnOO9Lcpr7NJ4=',
    );
  });

  it('verifies the Standard Webhooks test vector, including with a second (rotated) signature in the header', () => {
    const headers = {
      'Webhook-Id': 'msg_p5jXN8AQM9LWM0D4loKWxJek',
      'Webhook-Timestamp': '1614265330',
      'Webhook-Signature': 'v1,bm9wZQ== v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    };
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const body = '{"test": 2432232314}';
    // The vector's body is not a task, so the signature passes and the body check is what fails.
    expect(() => parseCallback(body, headers, secret, { nowMs: 1614265330_000 })).toThrow(/not a task/);
    expect(() =>
      parseCallback(body, { ...headers, 'Webhook-Signature': 'v1,bm9wZQ==' }, secret, { nowMs: 1614265330_000 }),
    ).toThrow(/signature does not match/);
  });

  const secret = `whsec_${Buffer.from('a-webhook-secret-for-tests').toString('base64')}`;
  const body = JSON.stringify(flat);
  const signed = (at: number, payload = body) => ({
    'webhook-id': 'msg_1',
    'webhook-timestamp': String(at),
    'webhook-signature': signWebhook(secret, 'msg_1', at, payload),
  });
  const now = 1_780_000_000;

  it('accepts a fresh, correctly signed body', () => {
    expect(parseCallback(body, signed(now - 60), secret, { nowMs: now * 1000 }).taskId).toBe(flat.task_id);
  });

  it.each([
    ['a missing signature', () => ({})],
    ['a timestamp older than 5 minutes', () => signed(now - 301)],
    ['a timestamp more than 5 minutes ahead', () => signed(now + 301)],
    ['a body changed after signing', () => signed(now, body.replace('failed', 'succeed'))],
    [
      'a signature made with another secret',
      () => ({ ...signed(now), 'webhook-signature': signWebhook('whsec_b3RoZXI=', 'msg_1', now, body) }),
    ],
  ])('rejects %s', (_name, headers) => {
    expect(() => parseCallback(body, headers(), secret, { nowMs: now * 1000 })).toThrow(KlingCallbackError);
    expect(() => parseCallback(body, headers(), secret, { nowMs: now * 1000 })).toThrow(
      expect.objectContaining({ reason: 'signature' }),
    );
  });
});

describe('simulator callbacks', () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
  });

  it('POSTs the flat task body on every status change, signed, and the client parses and verifies it', async () => {
    const received: { body: string; headers: http.IncomingHttpHeaders }[] = [];
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ body, headers: req.headers });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const callbackUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/kling/callback`;
    const secret = `whsec_${Buffer.from('sim-webhook-secret').toString('base64')}`;
    const sim = await simulator({ webhookSecret: secret });
    const kling = client(sim, { callbackUrl });

    const task = await kling.create('text2video', {
      model_name: 'kling-v2-5-turbo',
      prompt: 'p',
      duration: '5',
      external_task_id: externalId(),
    });
    await settle(kling, 'text2video', task.taskId);
    await waitFor(() => received.length === 3, 'three callbacks');

    const tasks = received.map((r) => parseCallback(r.body, r.headers, secret));
    expect(tasks.map((t) => t.status)).toEqual(['submitted', 'processing', 'succeed']);
    expect(tasks[2]).toMatchObject({
      taskId: task.taskId,
      externalTaskId: task.externalTaskId,
      finalUnitDeduction: '1.5',
      videos: [expect.objectContaining({ duration: '5' })],
    });
    expect(JSON.parse(received[0]!.body)).not.toHaveProperty('code'); // flat, not enveloped
    expect(() =>
      parseCallback(received[2]!.body, received[2]!.headers, `whsec_${Buffer.from('wrong').toString('base64')}`),
    ).toThrow(/signature/);
    await waitFor(() => sim.callbacks.every((c) => c.httpStatus !== undefined), 'the simulator to see our answers');
    expect(sim.callbacks.map((c) => c.httpStatus)).toEqual([200, 200, 200]);
  });
});
