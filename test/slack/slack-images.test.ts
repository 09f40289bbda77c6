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
    await waitFor(
      'the first video',
      async () => {
        const [job] = await rows<{ state: string }>(h.database.db, sql`select state::text from generations`);
        return job?.state === 'succeeded';
      },
      20_000,
    );
    const again = await h.command(GRACE, `generate the cat waves --image ${posted('cat-copy.png', image)}`);
    expect(textOf(again.ack)).toContain('made exactly this video');
    expect(creates()).toHaveLength(1);
  });

  it("an image that breaks one of Kling's rules is refused with the rule named, and nothing is held", async () => {
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

describe('the message shortcut Animate with Kling', () => {
  const modal = () =>
    h.slack.waitFor(() => h.slack.views(GRACE).find((v) => v.open && v.view.callback_id === 'animate'), 10_000);
  const priceOf = (view: { view: Record<string, unknown> }) => JSON.stringify((view.view.blocks as unknown[]).at(-1));
  const shortcut = (messageTs: string) =>
    h.slack.messageShortcut({ userId: GRACE, channelId: 'C0VIDEO', messageTs, callbackId: 'animate' });
  /** What Slack sends for the modal's inputs: the ones set as shown, `prompt` typed. */
  const filled = (view: { view: Record<string, unknown> }, prompt: string, duration = '5') => {
    const blocks = view.view.blocks as { block_id: string; element: { initial_option?: { value: string } } }[];
    const model = blocks.find((b) => b.block_id === 'animate_model')!.element.initial_option!.value;
    const mode = blocks.find((b) => b.block_id === 'animate_mode')?.element.initial_option?.value;
    return {
      animate_prompt: { animate_prompt: prompt },
      animate_model: { animate_model: model },
      ...(mode && { animate_mode: { animate_mode: mode } }),
      animate_duration: { animate_duration: duration },
    };
  };
  const ephemeral = (part: string) =>
    h.slack.waitFor(() => h.slack.messages('C0VIDEO').find((m) => m.ephemeralTo === GRACE && textOf(m).includes(part)));

  it("opens a modal priced as the person chooses, and queues the image's bytes", async () => {
    const image = png(720, 1280, 8192);
    const message = h.slack.postFile({ userId: GRACE, channelId: 'C0VIDEO', filename: 'dog.png', data: image });
    await shortcut(message.ts);
    const opened = await modal();
    const first = priceOf(opened);
    expect(first).toMatch(/credits/);
    // A longer video costs more: the price in the modal follows the choice.
    const values = { animate_duration: { animate_duration: '10' } };
    await h.slack.clickViewButton({
      userId: GRACE,
      viewId: opened.id,
      actionId: 'animate_duration',
      value: '10',
      values,
    });
    await h.slack.waitFor(() => priceOf(h.slack.views(GRACE).find((v) => v.id === opened.id)!) !== first, 10_000);
    const before = creates().length;
    await h.slack.submitView({ userId: GRACE, viewId: opened.id, values: filled(opened, 'the dog jumps', '10') });
    await h.slack.waitFor(() => creates().length > before, 20_000);
    const body = creates().at(-1)!.body as { image?: string; duration?: string; prompt?: string };
    expect(body).toMatchObject({ image: image.toString('base64'), duration: '10', prompt: 'the dog jumps' });
    await h.slack.waitFor(() => h.cards('C0VIDEO').find((m) => textOf(m).includes('the dog jumps')), 10_000);
  });

  it('carries a project tag to the job like --tag: a bad one is a field error, a tag budget refuses', async () => {
    const message = h.slack.postFile({ userId: GRACE, channelId: 'C0VIDEO', filename: 'owl.png', data: png(720, 720) });
    await shortcut(message.ts);
    const opened = await modal();
    const tagBlock = (opened.view.blocks as { block_id: string; optional?: boolean }[]).find(
      (b) => b.block_id === 'animate_tag',
    );
    expect(tagBlock).toMatchObject({ optional: true });
    const before = await jobs();
    const bad = await h.slack.submitView({
      userId: GRACE,
      viewId: opened.id,
      values: { ...filled(opened, 'the owl blinks'), animate_tag: { animate_tag: 'Night_Owls' } },
    });
    expect(JSON.parse(bad.body)).toEqual({
      response_action: 'errors',
      errors: {
        animate_tag: 'A tag must be lowercase letters, digits and dashes, at most 32, such as spring-launch.',
      },
    });
    expect(h.slack.views(GRACE).find((v) => v.id === opened.id)).toMatchObject({ open: true });
    expect(await jobs()).toBe(before);

    // The same modal, with a good tag: the job carries it to the ledger's hold, the card and history.
    const good = await h.slack.submitView({
      userId: GRACE,
      viewId: opened.id,
      values: { ...filled(opened, 'the owl blinks'), animate_tag: { animate_tag: 'night-owls' } },
    });
    expect(good).toEqual({ status: 200, body: '' });
    const card = await h.slack.waitFor(
      () => h.cards('C0VIDEO').find((m) => textOf(m).includes('the owl blinks')),
      10_000,
    );
    expect(textOf(card)).toContain('tag `night-owls`');
    const [job] = await rows<{ tag: string | null; hold_tag: string | null }>(
      h.database.db,
      sql`select g.tag, h.tag as hold_tag from generations g left join holds h on h.id = g.hold_id
          where g.request->>'prompt' = 'the owl blinks'`,
    );
    expect(job).toEqual({ tag: 'night-owls', hold_tag: 'night-owls' });
    const history = await h.command(GRACE, 'history');
    expect(textOf(history.ack)).toMatch(/`night-owls` · the owl blinks/);

    // The tag's budget must take it too: with none left, the shortcut's video is refused by it alone.
    await h.command('U0ADA', 'budget set tag:night-owls day 0');
    const again = h.slack.postFile({ userId: GRACE, channelId: 'C0VIDEO', filename: 'owl2.png', data: png(720, 720) });
    await shortcut(again.ts);
    const second = await h.slack.waitFor(
      () => h.slack.views(GRACE).find((v) => v.open && v.view.callback_id === 'animate' && v.id !== opened.id),
      10_000,
    );
    await h.slack.submitView({
      userId: GRACE,
      viewId: second.id,
      values: { ...filled(second, 'the owl sleeps'), animate_tag: { animate_tag: 'night-owls' } },
    });
    await ephemeral("the tag `night-owls`'s daily budget has *0* left");
    expect(
      await rows(
        h.database.db,
        sql`select 1 from generations where request->>'prompt' = 'the owl sleeps' and state <> 'refused'`,
      ),
    ).toEqual([]);
  });

  it('says so on a message without an image, and refuses an image that breaks a rule, holding nothing', async () => {
    const plain = h.slack.postFile({
      userId: GRACE,
      channelId: 'C0VIDEO',
      filename: 'notes.txt',
      data: Buffer.from('hi'),
    });
    await shortcut(plain.ts);
    await ephemeral('That message carries no image to animate.');

    const before = await jobs();
    const small = h.slack.postFile({ userId: GRACE, channelId: 'C0VIDEO', filename: 'small.png', data: png(640, 200) });
    await shortcut(small.ts);
    const opened = await modal();
    await h.slack.submitView({ userId: GRACE, viewId: opened.id, values: filled(opened, 'a bird') });
    await ephemeral('Each side of the image must be at least 300 px; this image is 640×200 px.');
    expect(await jobs()).toBe(before);
  });
});
