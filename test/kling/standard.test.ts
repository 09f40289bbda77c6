import { describe, expect, it } from 'vitest';
import { KlingApiError, parseCallback, signKlingToken } from '../../src/kling';
import { standardToKlingTask } from '../../src/kling/standard';
import { client, externalId, KEYS, settle, simulator, warm } from './support';

/** Kling's new-standard API (3.0 Turbo) behind the same KlingTask the legacy API gives the worker. */

const TURBO = 'text-to-video/kling-3.0-turbo' as const;
const body = {
  prompt: 'a street band',
  settings: { resolution: '720p', duration: 5, audio: 'native', multi_shot: false },
};
const byApiKey = { auth: { apiKey: KEYS.apiKey } };

describe('the new-standard API', () => {
  it('creates with options, queries /tasks, and reads status, video and charge from outputs[] and billing[]', async () => {
    const sim = await simulator();
    const kling = client(sim, byApiKey);
    const id = externalId();
    const created = await kling.create(TURBO, { ...body, external_task_id: id });
    expect(created).toMatchObject({ status: 'submitted', externalTaskId: id });
    expect(sim.requests[0]).toMatchObject({
      method: 'POST',
      path: `/${TURBO}`,
      body: { ...body, options: { external_task_id: id } },
    });
    const done = await settle(kling, TURBO, created.taskId);
    expect(done).toMatchObject({
      status: 'succeed',
      finalUnitDeduction: '4',
      videos: [{ url: expect.stringMatching(/\.mp4$/), duration: '5' }],
    });
    expect(sim.requests.at(-1)!.path).toBe(`/tasks?task_ids=${created.taskId}`);
    expect(await kling.query(TURBO, { externalTaskId: id })).toMatchObject({
      taskId: created.taskId,
      status: 'succeed',
    });
    await expect(kling.query(TURBO, { taskId: 'nope' })).rejects.toMatchObject({ code: 1203 });
  });

  it('a failed task is failed with its reason and costs nothing', async () => {
    const sim = await simulator();
    sim.fault({ endpoint: TURBO, kind: 'fail-task' });
    const kling = client(sim, byApiKey);
    const created = await kling.create(TURBO, { ...body, external_task_id: externalId() });
    const done = await settle(kling, TURBO, created.taskId);
    expect(done).toMatchObject({ status: 'failed', finalUnitDeduction: '0', videos: [] });
    expect(done.statusMessage).toMatch(/risk control/);
  });

  it('a create Kling accepted but did not answer is found by external_task_ids, never posted twice', async () => {
    const sim = await simulator();
    sim.fault({ endpoint: TURBO, kind: 'accept-then-timeout' });
    const kling = client(sim, { ...byApiKey, timeoutMs: 1_500 });
    await warm(sim, kling);
    const id = externalId();
    const task = await kling.create(TURBO, { ...body, external_task_id: id });
    expect(sim.tasks()).toHaveLength(1);
    expect(sim.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(sim.requests.at(-1)!.path).toBe(`/tasks?external_task_ids=${id}`);
    expect(task.externalTaskId).toBe(id);
  });

  it('with a key pair, refuses before sending anything: the new standard takes an API key only', async () => {
    const sim = await simulator();
    const error = await client(sim)
      .create(TURBO, { ...body, external_task_id: externalId() })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KlingApiError);
    expect(error).toMatchObject({ code: 1103, action: 'fail' });
    expect(sim.requests).toHaveLength(0);
    // And the simulator, like Kling, refuses a signed token there.
    const token = signKlingToken(KEYS.accessKey, KEYS.secretKey, Math.floor(Date.now() / 1000));
    const signed = await fetch(`${sim.url}/tasks?task_ids=x`, { headers: { authorization: `Bearer ${token}` } });
    expect(await signed.json()).toMatchObject({ code: 1000 });
  });

  it('adds up the pack lines of billing[], and leaves the charge unknown when Kling was paid in cash', () => {
    const task = (billing: unknown[]) =>
      standardToKlingTask({ id: 't', status: 'succeeded', billing } as Parameters<typeof standardToKlingTask>[0]);
    expect(
      task([
        { charge_type: 'unit', amount: '2.5' },
        { charge_type: 'unit', amount: '1.25' },
      ]).finalUnitDeduction,
    ).toBe('3.75');
    expect(task([{ charge_type: 'cash', amount: '0.56', currency: 'USD' }]).finalUnitDeduction).toBeUndefined();
    expect(task([]).finalUnitDeduction).toBeUndefined();
  });

  it('reads a new-standard callback as the same task', () => {
    const raw = JSON.stringify({
      id: 't1',
      status: 'succeeded',
      message: '',
      create_time: 1,
      update_time: 2,
      external_id: 'kbb_1',
      outputs: [{ type: 'video', id: 'v1', url: 'https://cdn/v1.mp4', duration: '5.04' }],
      billing: [{ charge_type: 'unit', amount: '4.032', package_type: 'video' }],
    });
    expect(parseCallback(raw, {})).toMatchObject({
      taskId: 't1',
      externalTaskId: 'kbb_1',
      status: 'succeed',
      finalUnitDeduction: '4.032',
      videos: [{ id: 'v1', url: 'https://cdn/v1.mp4', duration: '5.04' }],
    });
  });
});
