import { describe, expect, it } from 'vitest';
import { KlingTimeoutError } from '../../src/kling';
import { client, externalId, settle, simulator, warm } from './support';

/** Long enough for an answered call on a loaded machine, short enough for a test. */
const TIMEOUT_MS = 1_500;

describe('a create that Kling accepted but did not answer makes exactly one task', () => {
  it('accept-then-timeout: the client times out, finds the task by external_task_id, and never posts again', async () => {
    const sim = await simulator();
    sim.fault({ endpoint: 'text2video', kind: 'accept-then-timeout' });
    const kling = client(sim, { timeoutMs: TIMEOUT_MS });
    await warm(sim, kling);
    const id = externalId();

    const task = await kling.create('text2video', { prompt: 'p', external_task_id: id });

    expect(task.externalTaskId).toBe(id);
    expect(sim.tasks()).toHaveLength(1);
    expect(sim.tasks()[0]!.taskId).toBe(task.taskId);
    expect(sim.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(sim.requests.at(-1)!.path).toBe(`/v1/videos/text2video?external_task_id=${id}`); // the lookup that found it
    expect((await settle(kling, 'text2video', task.taskId)).status).toBe('succeed');
  });

  it('a dropped connection after the task was made is resolved the same way', async () => {
    const sim = await simulator();
    sim.fault({ endpoint: 'image2video', method: 'POST', kind: 'drop' });
    const task = await client(sim).create('image2video', {
      image: 'https://example.com/i.png',
      external_task_id: externalId(),
    });
    expect(sim.tasks()).toEqual([expect.objectContaining({ taskId: task.taskId })]);
    expect(sim.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('a garbled answer to a create is resolved the same way', async () => {
    const sim = await simulator();
    sim.fault({ endpoint: 'text2video', method: 'POST', kind: 'malformed' });
    const task = await client(sim).create('text2video', { prompt: 'p', external_task_id: externalId() });
    expect(sim.tasks().map((t) => t.taskId)).toEqual([task.taskId]);
    expect(sim.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
  });

  it('when the create never reached Kling, the lookup finds nothing and the create is sent again, once', async () => {
    const sim = await simulator();
    sim.fault({ endpoint: 'text2video', method: 'POST', kind: 'hang' }); // hangs before doing anything
    const id = externalId();
    const kling = client(sim, { timeoutMs: TIMEOUT_MS });
    await warm(sim, kling);
    const task = await kling.create('text2video', { prompt: 'p', external_task_id: id });
    expect(sim.tasks()).toHaveLength(1);
    expect(sim.requests.map((r) => r.method)).toEqual(['POST', 'GET', 'POST']);
    expect(task.externalTaskId).toBe(id);
  });

  it('when the lookup cannot be made either, it gives up without a second create', async () => {
    const sim = await simulator();
    sim.fault({ endpoint: 'text2video', method: 'POST', kind: 'accept-then-timeout' });
    sim.fault({ endpoint: 'text2video', method: 'GET', kind: 'hang', times: Infinity });
    const kling = client(sim, { timeoutMs: TIMEOUT_MS, retries: 3 });
    await warm(sim, kling);
    const error = await kling.create('text2video', { prompt: 'p', external_task_id: externalId() }).catch((e) => e);
    expect(error).toBeInstanceOf(KlingTimeoutError);
    expect(sim.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(sim.tasks()).toHaveLength(1);
  });

  it('the simulator refuses a second create with the same external_task_id (1201)', async () => {
    const sim = await simulator();
    const kling = client(sim);
    const id = externalId();
    await kling.create('text2video', { prompt: 'p', external_task_id: id });
    await expect(kling.create('text2video', { prompt: 'p', external_task_id: id })).rejects.toMatchObject({
      code: 1201,
      klingMessage: expect.stringContaining('external_task_id'),
    });
    expect(sim.tasks()).toHaveLength(1);
  });
});
