import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { KlingApiError } from '../../src/kling';
import { client, externalId, settle, simulator, waitFor } from './support';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
// biome-ignore lint/suspicious/noExplicitAny: the test reads whatever shape the simulator answered with.
const json = (response: Response) => response.json() as Promise<any>;

/** A GET on a fresh connection: the pooled one may still point at the server that just closed. */
function get(url: string): Promise<{ status: number; type?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body: Buffer.concat(chunks) }),
        );
      })
      .on('error', reject);
  });
}

/**
 * An MP4's top-level boxes, which must tile the whole file, and whether its movie holds an H.264 video track:
 * what a player needs before it can play anything.
 */
function mp4Boxes(bytes: Buffer): { names: string[]; video: boolean } {
  const names: string[] = [];
  let at = 0;
  while (at < bytes.length) {
    const size = bytes.readUInt32BE(at);
    if (size < 8 || at + size > bytes.length) throw new Error(`not an MP4: a box of ${size} bytes at ${at}`);
    names.push(bytes.toString('latin1', at + 4, at + 8));
    at += size;
  }
  return { names, video: bytes.includes('avc1') && bytes.includes('vide') };
}

describe('Kling simulator', () => {
  it('validates bodies like Kling: 1201 naming the field, prompt over 2500, unknown model', async () => {
    const sim = await simulator();
    const kling = client(sim);
    const refuse = (endpoint: Parameters<typeof kling.create>[0], body: Record<string, unknown>) =>
      kling
        .create(endpoint, { ...body, external_task_id: externalId() })
        .catch((e: KlingApiError) => [e.code, e.httpStatus, e.klingMessage]);

    expect(await refuse('text2video', {})).toEqual([1201, 400, 'prompt is required']);
    expect(await refuse('text2video', { prompt: 'x'.repeat(2501) })).toEqual([
      1201,
      400,
      'prompt size must be between 0 and 2500',
    ]);
    expect(await refuse('text2video', { prompt: 'p', negative_prompt: 'x'.repeat(2501) })).toEqual([
      1201,
      400,
      'negative_prompt size must be between 0 and 2500',
    ]);
    expect(await refuse('text2video', { prompt: 'p', duration: 5 })).toEqual([1201, 400, 'duration must be a string']);
    expect(await refuse('text2video', { prompt: 'p', model_name: 'kling-v9' })).toEqual([
      1203,
      404,
      expect.stringContaining('kling-v9'),
    ]);
    expect(await refuse('image2video', { prompt: 'p' })).toEqual([1201, 400, 'image or image_tail is required']);
    expect(await refuse('video-extend', { video_id: 'nope' })).toEqual([
      1201,
      400,
      expect.stringContaining('video_id'),
    ]);
    expect(await refuse('kolors-virtual-try-on', { human_image: 'h' })).toEqual([1201, 400, 'cloth_image is required']);
    expect(await refuse('images/generations', { prompt: 'p', n: 10 })).toEqual([
      1201,
      400,
      expect.stringContaining('n must'),
    ]);
    const unsupported = await refuse('text2video', { prompt: 'p', model_name: 'kling-v2-6', mode: 'std', sound: 'on' });
    expect(unsupported).toEqual([1201, 400, expect.stringMatching(/sound|mode/)]);
    expect(await refuse('text2video', { prompt: 'x'.repeat(2500) })).toEqual(
      expect.objectContaining({ status: 'submitted' }),
    );
    // Characters as the bot counts them (code points): 2500 emoji are 5000 UTF-16 units and still fit.
    expect(await refuse('text2video', { prompt: '🦊'.repeat(2500) })).toEqual(
      expect.objectContaining({ status: 'submitted' }),
    );
    expect(await refuse('text2video', { prompt: '🦊'.repeat(2501) })).toEqual([
      1201,
      400,
      'prompt size must be between 0 and 2500',
    ]);
    expect(sim.tasks()).toHaveLength(2);
  });

  it('answers a body that is not JSON with 1200, and an unknown path with 1202', async () => {
    const sim = await simulator({ apiKey: 'k' });
    const auth = { authorization: 'Bearer k', 'content-type': 'application/json' };
    const bad = await fetch(`${sim.url}/v1/videos/text2video`, { method: 'POST', headers: auth, body: '{"prompt":' });
    expect([bad.status, (await json(bad)).code]).toEqual([400, 1200]);
    const unknown = await fetch(`${sim.url}/v1/videos/nothing-here`, { headers: auth });
    expect([unknown.status, (await json(unknown)).code]).toEqual([404, 1202]);
  });

  it('moves tasks submitted → processing → succeed, and a failed task carries its reason in task_status_msg', async () => {
    const sim = await simulator();
    const kling = client(sim, { callbackUrl: 'http://127.0.0.1:9/unreachable' }); // the sim records each status change it reports
    sim.fault({ endpoint: 'text2video', kind: 'fail-task' });
    const failing = await kling.create('text2video', { prompt: 'p', external_task_id: externalId() });
    const ok = await kling.create('text2video', { prompt: 'p', external_task_id: externalId() });
    expect([failing.status, ok.status]).toEqual(['submitted', 'submitted']);
    await waitFor(() => sim.callbacks.length === 6, 'six status changes');
    const statuses = (taskId: string) => sim.callbacks.filter((c) => c.taskId === taskId).map((c) => c.status);
    expect(statuses(failing.taskId)).toEqual(['submitted', 'processing', 'failed']);
    expect(statuses(ok.taskId)).toEqual(['submitted', 'processing', 'succeed']);

    const failed = await kling.query('text2video', { taskId: failing.taskId });
    expect(failed).toMatchObject({
      status: 'failed',
      statusMessage: expect.stringContaining('risk control'),
      finalUnitDeduction: '0',
      videos: [],
    });
    const raw = await fetch(`${sim.url}/v1/videos/text2video/${failing.taskId}`, {
      headers: { authorization: sim.requests[0]!.headers.authorization! },
    });
    expect((await json(raw)).message).toBe('SUCCEED'); // the envelope's message says nothing about the failure
    expect((await kling.query('text2video', { taskId: ok.taskId })).status).toBe('succeed');
  });

  it('serves a playable MP4 and a PNG as results, and with a media directory keeps them across a restart', async () => {
    const mediaDir = mkdtempSync(join(tmpdir(), 'kling-sim-media-'));
    try {
      const first = await simulator({ mediaDir });
      const kling = client(first);
      const made = (endpoint: 'text2video' | 'images/generations') =>
        kling
          .create(endpoint, { prompt: 'p', external_task_id: externalId() })
          .then((t) => settle(kling, endpoint, t.taskId));
      const [video, image] = [await made('text2video'), await made('images/generations')];
      const port = Number(new URL(first.url).port);
      await first.close();

      // Same directory and port, nothing in memory: the old links still answer, with the same files.
      const again = await simulator({ mediaDir, port });
      expect(again.url).toBe(first.url);
      const mp4 = await get(video.videos[0]!.url);
      expect([mp4.status, mp4.type]).toEqual([200, 'video/mp4']);
      const boxes = mp4Boxes(mp4.body);
      expect(boxes.names).toEqual(expect.arrayContaining(['ftyp', 'moov', 'mdat']));
      expect(boxes.video).toBe(true);
      const png = await get(image.images[0]!.url);
      expect([png.status, png.type]).toEqual([200, 'image/png']);
      expect(png.body.subarray(0, 8)).toEqual(Buffer.from('89504e470d0a1a0a', 'hex'));
      expect((await get(`${again.url}/media/never-made.mp4`)).status).toBe(404);
      expect((await get(`${again.url}/media/..%2F..%2Fetc%2Fpasswd`)).status).toBe(404);
    } finally {
      rmSync(mediaDir, { recursive: true, force: true });
    }
  });

  it('refuses a content-policy violation at create with 1301 and makes no task', async () => {
    const sim = await simulator();
    sim.fault({ endpoint: 'text2video', kind: 'policy' });
    await expect(
      client(sim).create('text2video', { prompt: 'p', external_task_id: externalId() }),
    ).rejects.toMatchObject({ code: 1301, httpStatus: 400, action: 'fail' });
    expect(sim.tasks()).toHaveLength(0);
  });

  it('fails the given fraction of tasks, evenly', async () => {
    const sim = await simulator({ failRate: 0.25 });
    const kling = client(sim);
    const created = [];
    for (let i = 0; i < 8; i++)
      created.push(await kling.create('text2video', { prompt: `p${i}`, external_task_id: externalId() }));
    const ended = await Promise.all(created.map((t) => settle(kling, 'text2video', t.taskId)));
    expect(ended.filter((t) => t.status === 'failed')).toHaveLength(2);
  });

  it('draws on the prepaid pack only for tasks that succeed, and answers 1102 (HTTP 429) once it cannot pay', async () => {
    const sim = await simulator({ balance: 4 });
    const kling = client(sim);
    const body = { model_name: 'kling-v2-5-turbo', mode: 'std', duration: '5', prompt: 'p' }; // 1.5 units
    sim.fault({ endpoint: 'text2video', kind: 'fail-task' });
    const failed = await kling.create('text2video', { ...body, external_task_id: externalId() });
    expect((await settle(kling, 'text2video', failed.taskId)).status).toBe('failed');
    expect(sim.balance()).toBe(4);
    for (let i = 0; i < 2; i++)
      await settle(
        kling,
        'text2video',
        (await kling.create('text2video', { ...body, external_task_id: externalId() })).taskId,
      );
    expect(sim.balance()).toBe(1);

    const refused = await kling.create('text2video', { ...body, external_task_id: externalId() }).catch((e) => e);
    expect(refused).toMatchObject({ code: 1102, httpStatus: 429, action: 'pause' });
    expect((await kling.accountCosts())[0]).toMatchObject({ remaining: 1, total: 4 });
    sim.setBalance(10);
    expect((await kling.create('text2video', { ...body, external_task_id: externalId() })).status).toBe('submitted');
  });

  it('holds a concurrency slot from submitted until the task ends, failed included; 1303 above the limit', async () => {
    const sim = await simulator({ concurrency: 2, timings: { queuedMs: 60_000, processingMs: 60_000 } }); // tasks stay until ended below
    const kling = client(sim, { retries: 0 });
    const a = await kling.create('text2video', { prompt: 'a', external_task_id: externalId() });
    await kling.create('text2video', { prompt: 'b', external_task_id: externalId() });
    await expect(kling.create('text2video', { prompt: 'c', external_task_id: externalId() })).rejects.toMatchObject({
      code: 1303,
      action: 'retry',
      klingMessage: 'parallel task over resource pack limit',
    });
    await expect(
      kling.create('images/generations', { prompt: 'i', n: 1, external_task_id: externalId() }),
    ).rejects.toMatchObject({ code: 1303 });

    sim.endTask(a.taskId, 'failed', 'Image pixel is invalid');
    expect(await kling.query('text2video', { taskId: a.taskId })).toMatchObject({
      status: 'failed',
      statusMessage: 'Image pixel is invalid',
    });
    expect((await kling.create('text2video', { prompt: 'd', external_task_id: externalId() })).status).toBe(
      'submitted',
    );
    await expect(kling.create('text2video', { prompt: 'e', external_task_id: externalId() })).rejects.toMatchObject({
      code: 1303,
    });
    expect(sim.inFlightPeak()).toBe(2);
  });

  it('counts an image task as n slots', async () => {
    const sim = await simulator({ concurrency: 3, timings: { queuedMs: 60_000 } });
    const kling = client(sim, { retries: 0 });
    await expect(
      kling.create('images/generations', { prompt: 'i', n: 4, external_task_id: externalId() }),
    ).rejects.toMatchObject({ code: 1303 });
    const three = await kling.create('images/generations', { prompt: 'i', n: 3, external_task_id: externalId() });
    await expect(
      kling.create('kolors-virtual-try-on', { human_image: 'h', cloth_image: 'c', external_task_id: externalId() }),
    ).rejects.toMatchObject({ code: 1303 });
    expect(sim.inFlightPeak()).toBe(1); // one task, three slots
    sim.endTask(three.taskId, 'succeed');
    expect((await kling.query('images/generations', { taskId: three.taskId })).images).toHaveLength(3);
    await kling.create('kolors-virtual-try-on', { human_image: 'h', cloth_image: 'c', external_task_id: externalId() });
  });

  it('lists tasks newest first and records every request with its headers', async () => {
    const sim = await simulator();
    const kling = client(sim);
    const first = await kling.create('text2video', { prompt: 'first', external_task_id: externalId() });
    const second = await kling.create('text2video', { prompt: 'second', external_task_id: externalId() });
    const response = await fetch(`${sim.url}/v1/videos/text2video?pageNum=1&pageSize=1`, {
      headers: { authorization: sim.requests[0]!.headers.authorization! },
    });
    expect((await json(response)).data.map((t: { task_id: string }) => t.task_id)).toEqual([second.taskId]);
    expect(sim.requests.map((r) => r.method)).toEqual(['POST', 'POST', 'GET']);
    expect(sim.requests[1]).toMatchObject({
      path: '/v1/videos/text2video',
      body: expect.objectContaining({ prompt: 'second' }),
      headers: expect.objectContaining({ authorization: expect.stringMatching(/^Bearer /) }),
    });
    expect(first.taskId).not.toBe(second.taskId);
  });

  it('accepts the external id in the path as well as in the query string', async () => {
    const sim = await simulator();
    const kling = client(sim);
    const id = externalId();
    const task = await kling.create('text2video', { prompt: 'p', external_task_id: id });
    const response = await fetch(`${sim.url}/v1/videos/text2video/${id}`, {
      headers: { authorization: sim.requests[0]!.headers.authorization! },
    });
    expect((await json(response)).data.task_id).toBe(task.taskId);
  });
});
