import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, sql } from '../../src/db';
import { cardJobId, startHarness, textOf, type Harness } from './harness';

/**
 * The 2026 models end to end: /kling generate through the offline workspace, the bot and the Kling
 * simulator. kling-v3-omni and kling-video-o1 go to /v1/videos/omni-video, kling-3.0-turbo to the new-standard
 * API; each is priced from the catalog, held, and settled on what Kling says it charged.
 *
 * The bot runs on a price list whose 3.0 Turbo rate is above Kling's (1.1 instead of 0.8 per second at 720p),
 * so a turbo job settling below its hold shows the charge came from Kling's billing[], not from the estimate.
 */

let h: Harness;
const GRACE = 'U0GRACE';
const LINUS = 'U0LINUS';
const ADA = 'U0ADA';

function pricingFileWithDearTurbo(): string {
  const catalog = JSON.parse(
    readFileSync(fileURLToPath(new URL('../../src/pricing/catalog.json', import.meta.url)), 'utf8'),
  );
  const turbo = catalog.video.find((m: { model: string }) => m.model === 'kling-3.0-turbo');
  turbo.prices = [
    { mode: 'std', sound: true, perSecond: '1.1' },
    { mode: 'pro', sound: true, perSecond: '1.0' },
  ];
  const file = join(mkdtempSync(join(tmpdir(), 'kbb-models-')), 'pricing.json');
  writeFileSync(file, JSON.stringify(catalog));
  return file;
}

beforeAll(async () => {
  h = await startHarness({ env: { DEFAULT_DAILY_LIMIT: '1000', PRICING_FILE: pricingFileWithDearTurbo() } });
});
afterAll(async () => h?.close());

interface Job {
  id: string;
  state: string;
  endpoint: string;
  estimate_mc: number;
  actual_mc: number | null;
  hold_status: string | null;
  hold_mc: number | null;
  hold_actual_mc: number | null;
}

async function job(id: string): Promise<Job> {
  const [row] = await rows<Job>(
    h.database.db,
    sql`select g.id, g.state::text as state, g.endpoint, g.estimate_mc::int as estimate_mc, g.actual_mc::int as actual_mc,
               h.status::text as hold_status, h.amount_mc::int as hold_mc, h.actual_mc::int as hold_actual_mc
          from generations g left join holds h on h.id = g.hold_id where g.id = ${id}`,
  );
  return row!;
}

/** Jobs queued or run (a refusal is kept as a row in state refused). */
async function count(): Promise<number> {
  const [row] = await rows<{ n: number }>(
    h.database.db,
    sql`select count(*)::int as n from generations where state <> 'refused'`,
  );
  return row!.n;
}

/** Runs a generate and waits for its card to say Done; returns the job id. */
async function generated(userId: string, text: string, prompt: string): Promise<string> {
  const reply = await h.command(userId, text);
  expect(reply.ack, textOf(reply.ack)).toBeUndefined();
  const posted = await h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => textOf(m).includes(prompt)), 10_000);
  const id = String(cardJobId(posted));
  await h.slack.waitFor(
    () => h.cards('C0VIDEO').find((m) => cardJobId(m) === id && textOf(m).includes('Done')),
    15_000,
  );
  return id;
}

/** The create Kling received for a job (its external_task_id is the job id). */
function createFor(id: string) {
  const found = h.kling.requests.find((r) => {
    const body = r.body as { external_task_id?: string; options?: { external_task_id?: string } } | undefined;
    return r.method === 'POST' && (body?.external_task_id === id || body?.options?.external_task_id === id);
  });
  expect(found, `a create for ${id}`).toBeDefined();
  return found!;
}

describe("today's models through /kling generate", () => {
  it('kling-v3-omni with --multishot goes to omni-video, held and settled at 0.8 per second (pro)', async () => {
    const id = await generated(
      GRACE,
      'generate an owl over a lake --model kling-v3-omni --mode pro --duration 8 --multishot',
      'an owl over a lake',
    );
    const create = createFor(id);
    expect(create.path).toBe('/v1/videos/omni-video');
    expect(create.body).toEqual({
      model_name: 'kling-v3-omni',
      prompt: 'an owl over a lake',
      mode: 'pro',
      duration: '8',
      sound: 'off',
      aspect_ratio: '16:9',
      multi_shot: true,
      shot_type: 'intelligence',
      external_task_id: id,
    });
    expect(await job(id)).toMatchObject({
      state: 'succeeded',
      endpoint: 'omni-video',
      estimate_mc: 6400,
      actual_mc: 6400,
      hold_status: 'committed',
    });
    const card = h.cards('C0VIDEO').find((m) => cardJobId(m) === id)!;
    expect(textOf(card)).toContain('kling-v3-omni pro · 8 s · silent · multi-shot · 16:9');
  });

  it('kling-video-o1 with a reference video is priced at the with-video rate (0.9 per second in std)', async () => {
    const id = await generated(
      GRACE,
      'generate the same dance, slower --model kling-video-o1 --duration 10 --video https://example.com/dance.mp4',
      'the same dance',
    );
    const create = createFor(id);
    expect(create.path).toBe('/v1/videos/omni-video');
    expect(create.body).toMatchObject({
      model_name: 'kling-video-o1',
      mode: 'std',
      duration: '10',
      video_list: [{ video_url: 'https://example.com/dance.mp4', refer_type: 'feature' }],
    });
    expect(create.body).not.toHaveProperty('sound');
    expect(await job(id)).toMatchObject({ state: 'succeeded', estimate_mc: 9000, actual_mc: 9000 });
  });

  it('kling-3.0-turbo goes to the new-standard API with audio, is queried on /tasks and settles on billing[]', async () => {
    const id = await generated(
      GRACE,
      'generate a street band at dusk --model kling-3.0-turbo',
      'a street band at dusk',
    );
    const create = createFor(id);
    expect(create.path).toBe('/text-to-video/kling-3.0-turbo');
    expect(create.headers.authorization).toBe('Bearer test-kling-key');
    expect(create.body).toEqual({
      prompt: 'a street band at dusk',
      settings: { resolution: '720p', duration: 5, audio: 'native', aspect_ratio: '16:9', multi_shot: false },
      options: { external_task_id: id },
    });
    expect(h.kling.requests.some((r) => r.method === 'GET' && r.path.startsWith('/tasks?task_ids='))).toBe(true);
    // Held at the bot's price list (1.1 × 5 s), committed at Kling's billing[] (0.8 × 5 s).
    expect(await job(id)).toMatchObject({
      state: 'succeeded',
      endpoint: 'text-to-video/kling-3.0-turbo',
      estimate_mc: 5500,
      actual_mc: 4000,
      hold_status: 'committed',
      hold_mc: 5500,
      hold_actual_mc: 4000,
    });
    const card = h.cards('C0VIDEO').find((m) => cardJobId(m) === id)!;
    expect(textOf(card)).toMatch(/kling-3\.0-turbo 720p · 5 s · audio · 16:9 · charged 4 credits/);
  });

  it('kling-3.0-turbo --multishot asks Kling to cut the prompt into shots', async () => {
    const id = await generated(
      GRACE,
      'generate a chase across rooftops --model kling-3.0-turbo --mode pro --duration 12 --multishot',
      'a chase across rooftops',
    );
    expect(createFor(id).body).toMatchObject({
      settings: { resolution: '1080p', duration: 12, audio: 'native', multi_shot: true, shot_type: 'intelligence' },
    });
    expect(await job(id)).toMatchObject({ estimate_mc: 12_000, actual_mc: 12_000 });
  });

  it('refuses what a model does not allow, naming what it allows, and queues nothing', async () => {
    const before = await count();
    const cases: [string, string][] = [
      [
        'generate a fox --model kling-v2-6 --multishot',
        'kling-v2-6 cannot cut a prompt into shots; drop --multishot or use kling-v3, kling-v3-omni or kling-3.0-turbo.',
      ],
      [
        'generate a fox --model kling-3.0-turbo --mode 4k',
        'kling-3.0-turbo has no 4k mode (4k is only on kling-v3 or kling-v3-omni); use --mode std or pro.',
      ],
      [
        'generate a fox --model kling-video-o1 --duration 7',
        'kling-video-o1 makes 5 or 10 s videos, not 7 s; use --duration 5 or 10.',
      ],
      [
        'generate a fox --model kling-v3 --video https://example.com/v.mp4',
        'kling-v3 cannot take a reference video; drop --video or use kling-v3-omni or kling-video-o1.',
      ],
      [
        'generate a fox --model kling-v3-omni --audio --video https://example.com/v.mp4',
        'has no price for kling-v3-omni std · 5 s · audio · with reference video',
      ],
      [
        'generate a fox --model kling-3.0-turbo --image https://example.com/a.png',
        'kling-3.0-turbo does not do image to video',
      ],
    ];
    for (const [text, message] of cases) expect(textOf((await h.command(GRACE, text)).ack)).toContain(message);
    expect(await count()).toBe(before);
  });

  it('refuses a new model over budget, with the cheaper options that fit, and holds nothing', async () => {
    await h.command(ADA, 'budget set <@U0LINUS|linus> day 5');
    const before = await count();
    const refused = await h.command(
      LINUS,
      'generate a glacier calving --model kling-v3-omni --mode pro --duration 10 --video https://example.com/ice.mp4',
    );
    const text = textOf(refused.ack);
    expect(text).toMatch(/Not queued: this needs \*12 credits .*\* but <@U0LINUS>'s daily budget has \*5\* left/);
    expect(text).toMatch(/\*.+\* would cost [\d.]+ credits \(\$[\d.]+\) and fits/);
    expect(await count()).toBe(before);
    const [held] = await rows<{ n: number }>(
      h.database.db,
      sql`select count(*)::int as n from holds where status = 'open'`,
    );
    expect(held!.n).toBe(0);
  });

  it('estimate prices each new model from the catalog; help lists them with what they allow', async () => {
    const omni = textOf((await h.command(GRACE, 'estimate a kite --model kling-v3-omni --duration 10 --audio')).ack);
    expect(omni).toContain('*kling-v3-omni std · 10 s · audio · 16:9* costs *8 credits ($1.12)*');
    const turbo = textOf(
      (await h.command(GRACE, 'estimate a kite --model kling-3.0-turbo --mode pro --duration 15')).ack,
    );
    expect(turbo).toContain('*kling-3.0-turbo 1080p · 15 s · audio · 16:9* costs *15 credits ($2.10)*');
    const help = textOf((await h.command(GRACE, 'help')).ack);
    expect(help).toContain('[--video URL] [--multishot]');
    expect(help).toContain('`kling-3.0-turbo` std/pro · 3–15 s · always with audio · --multishot · no --image');
    expect(help).toContain('`kling-video-o1` std/pro · 5 or 10 s · --video');
  });
});
