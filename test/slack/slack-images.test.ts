import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rows, sql } from '../../src/db';
import { waitFor } from '../generations/support';
import { png } from '../support/images';
import { startHarness, textOf, type Harness } from './harness';

/** `/kling generate … --image <Slack file link>`: the bot fetches the file with its token and sends Kling its bytes. */

let h: Harness;
const GRACE = 'U0GRACE';

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => h?.close());

/** Grace posts an image in #video; its link, as Slack gives it. */
function posted(filename: string, data: Buffer): string {
  const message = h.slack.postFile({ userId: GRACE, channelId: 'C0VIDEO', filename, data });
  return message.files![0]!.url;
}

const creates = () => h.kling.requests.filter((r) => r.method === 'POST' && r.path.includes('image2video'));
const jobs = async () =>
  (await rows<{ n: number }>(h.database.db, sql`select count(*)::int as n from generations`))[0]!.n;

describe('an image kept in Slack', () => {
  it('goes to Kling as its bytes in base64, never as the private Slack URL', async () => {
    const image = png(1280, 720, 4096);
    const link = posted('cat.png', image);
    // Without the bot's token Slack answers with its sign-in page, so the bot must have used it.
    expect((await fetch(link)).headers.get('content-type')).toMatch(/^text\/html/);
    await h.command(GRACE, `generate the cat waves --image ${link}`);
    await h.slack.waitFor(() => creates().length > 0, 20_000);
    const [create] = creates();
    expect((create!.body as { image?: string }).image).toBe(image.toString('base64'));
    expect(JSON.stringify(h.kling.requests.map((r) => r.body))).not.toContain(h.slack.url);
    expect(h.slack.calls('files.info').map((c) => c.args.file)).toEqual([link.split('/')[4]]);
  });

  it('the same picture posted again is the same request: the duplicate check keys on its content', async () => {
    const image = png(1280, 720, 4096);
    await waitFor('the first video', async () => {
      const [job] = await rows<{ state: string }>(h.database.db, sql`select state::text from generations`);
      return job?.state === 'succeeded';
    }, 20_000);
    const again = await h.command(GRACE, `generate the cat waves --image ${posted('cat-copy.png', image)}`);
    expect(textOf(again.ack)).toContain('made exactly this video');
    expect(creates()).toHaveLength(1);
  });

  it('an image that breaks one of Kling\'s rules is refused with the rule named, and nothing is held', async () => {
    const before = await jobs();
    const small = await h.command(GRACE, `generate a tiny cat --image ${posted('tiny.png', png(200, 200))}`);
    expect(textOf(small.ack)).toContain('Each side of the image must be at least 300 px; this image is 200×200 px.');
    const wide = await h.command(GRACE, `generate a wide cat --image ${posted('wide.png', png(1600, 400))}`);
    expect(textOf(wide.ack)).toContain("The image's aspect ratio must be between 1:2.5 and 2.5:1");
    const gif = await h.command(GRACE, `generate a gif cat --image ${posted('cat.gif', Buffer.from('GIF89a....'))}`);
    expect(textOf(gif.ack)).toContain('Kling takes JPG or PNG images');
    const huge = posted('big.png', png(2000, 2000, 11 * 2 ** 20));
    const big = await h.command(GRACE, `generate a big cat --image ${huge}`);
    expect(textOf(big.ack)).toContain('Kling takes images of at most 10 MB; this one is 11.0 MB.');
    expect(await jobs()).toBe(before);
    expect(creates()).toHaveLength(1);
  });

  it('a file the bot cannot see is refused in words', async () => {
    const gone = await h.command(GRACE, `generate a cat --image ${h.slack.url}/files/F0NOSUCH1/cat.png`);
    expect(textOf(gone.ack)).toContain('The bot cannot see that file');
  });
});
