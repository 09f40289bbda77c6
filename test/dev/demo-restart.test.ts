import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startDemo, type Demo, type DemoOptions } from '../../src/dev/demo';

/** A GET on a fresh connection: a pooled one may still point at the simulator that just stopped. */
function get(url: string): Promise<{ status: number; type?: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent: false }, (res) => {
        let bytes = 0;
        res.on('data', (chunk: Buffer) => (bytes += chunk.length));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], bytes }));
      })
      .on('error', reject);
  });
}

/** The first .mp4 link in what the demo posted to #video. */
/** Kling's link to the video, as /kling history shows it once the video is uploaded into the card's thread. */
async function videoLink(demo: Demo): Promise<string | undefined> {
  await demo.workspace.waitFor(() => demo.workspace.messages('C0VIDEO').some((m) => m.files?.length), 60_000);
  const history = await demo.workspace.slashCommand({ userId: 'U0ADA', channelId: 'C0VIDEO', text: 'history' });
  return /<(https?:\/\/[^|>\s"]+\.mp4)\|video>/.exec(history.body)?.[1];
}

describe('the demo across a restart', () => {
  it('still plays an earlier video and offers it again at no cost, from the same link', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'kling-demo-restart-'));
    const options: DemoOptions = {
      port: 0,
      botPort: 0,
      dataDir,
      klingTimings: { queuedMs: 100, processingMs: 300 },
      pollMs: 100,
      logLevel: 'silent',
    };
    const prompt = 'generate a paper boat on a river';
    let demo = await startDemo(options);
    try {
      await demo.workspace.slashCommand({ userId: 'U0ADA', channelId: 'C0VIDEO', text: prompt });
      const link = (await videoLink(demo))!;
      expect(link.startsWith(`${demo.kling.url}/media/`)).toBe(true);
      const klingPort = Number(new URL(demo.kling.url).port);
      await demo.close();

      demo = await startDemo({ ...options, klingPort });
      expect(await get(link)).toMatchObject({ status: 200, type: 'video/mp4', bytes: expect.any(Number) });
      expect((await get(link)).bytes).toBeGreaterThan(1000); // the clip, not a placeholder

      const again = await demo.workspace.slashCommand({ userId: 'U0GRACE', channelId: 'C0VIDEO', text: prompt });
      const offered = /made exactly this video .*<(http[^|>]+)\|watch it>\. Reusing it costs nothing/.exec(
        again.body,
      )?.[1];
      expect(offered).toBe(link);
      expect((await get(offered!)).status).toBe(200);
    } finally {
      await demo.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 240_000);
});
