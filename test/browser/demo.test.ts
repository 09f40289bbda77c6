import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { startDemo, type Demo } from '../../src/dev/demo';
import { png } from '../support/images';

/**
 * The demo as a newcomer sees it: the whole stack in-process, driven through the web page in the
 * machine's Chromium. Screenshots land in test/artifacts/ for a person to look at.
 */

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../artifacts/', import.meta.url).pathname;
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`Skipping the browser test: ${CHROMIUM} is missing (apt-get install -y chromium).`);

describe.skipIf(!hasChromium)('the demo in a browser', () => {
  let demo: Demo;
  let browser: BrowserContext;
  let page: Page;
  let dataDir: string;
  let profileDir: string;

  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  const openChannel = (name: string) => page.click(`#channel-list button[data-channel="${name}"]`);
  const switchTo = async (userId: string) => {
    await page.selectOption('#user-select', userId);
    await expect.poll(() => page.inputValue('#user-select')).toBe(userId);
  };
  /** A wait that, when it times out, also says how far the job got: at Kling, and in the workspace's own record. */
  const explained = async (wait: Promise<unknown>) => {
    try {
      await wait;
    } catch (error) {
      const tasks = demo.kling.tasks().map((t) => `${t.externalTaskId ?? t.taskId} ${t.status}`);
      const video = demo.workspace
        .messages('C0VIDEO')
        .map((m) => `${m.threadTs ? '  reply' : 'message'} ${m.ts}: ${m.text.slice(0, 80)}`);
      throw new Error(
        `${(error as Error).message}\nKling tasks: ${tasks.join(', ') || 'none'}\n#video holds:\n${video.join('\n')}`,
      );
    }
  };
  const type = async (text: string) => {
    await page.fill('#composer-input', text);
    await page.press('#composer-input', 'Enter');
  };

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'kling-demo-'));
    profileDir = mkdtempSync(join(tmpdir(), 'kling-chromium-'));
    demo = await startDemo({
      port: 0,
      botPort: 0,
      dataDir,
      klingTimings: { queuedMs: 600, processingMs: 2_500 },
      pollMs: 250,
      logLevel: 'warn',
    });
    // A fresh profile directory each run, so nothing from an earlier run (localStorage) leaks in.
    browser = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1360, height: 860 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());
    // Generous: CI shares two cores with the rest of the suite, and a video takes a few worker polls.
    page.setDefaultTimeout(60_000);
  }, 180_000); // the first start creates and migrates the embedded database

  afterAll(async () => {
    await browser?.close();
    await demo?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profileDir, { recursive: true, force: true });
  });

  it('generates a video, sets a budget as the admin, runs into it and shows the alert', async () => {
    await page.goto(`${demo.url}/?user=U0GRACE`);
    await openChannel('video');
    await expect.poll(() => page.textContent('#conversation-title')).toBe('# video');

    // Grace asks for a video; the job card appears in the channel and moves to done.
    await type('/kling generate a fox running through snow at dusk');
    const card = page.locator('#messages .message', { hasText: 'a fox running through snow at dusk' }).first();
    await card.waitFor();
    await shot('01-job-card');
    // While it runs the card's time moves on the page by itself, as Slack's {ago} token does: no update needed.
    const started = card.locator('.live-date').first();
    const first = await started.textContent({ timeout: 5_000 });
    expect(first).toMatch(/\d+ seconds? ago/);
    await expect
      .poll(() => started.textContent({ timeout: 1_000 }).catch(() => first), { timeout: 5_000 })
      .not.toBe(first);
    await explained(card.locator('.replies').waitFor());
    expect(await card.textContent()).toMatch(/Done/);
    // The card names the job by its short id, and any prefix of it finds the job.
    const shortId = /job #([0-9A-F]{4,})/.exec((await card.textContent())!)![1]!;
    expect(await card.textContent()).not.toContain('kbb_');
    await type(`/kling status ${shortId.slice(0, 4).toLowerCase()}`);
    await page.locator('#messages .message.ephemeral', { hasText: `job #${shortId}` }).waitFor();
    await shot('01b-status-by-short-id');

    // The video is in the card's thread.
    await card.locator('.replies').click();
    const video = page.locator('#thread-messages video.file-video').first();
    await video.waitFor();
    // Uploaded into Slack: it plays from the workspace's copy, not Kling's.
    const src = await video.getAttribute('src');
    expect(src).toMatch(new RegExp(`^${demo.workspace.url}/files/.+\\.mp4$`));
    // The copy is a clip the browser can play: it decodes a frame of it, with its size and a length above 0.
    // (A script string: this project's TypeScript has no DOM types.)
    const played = await page.evaluate(`new Promise((resolve, reject) => {
      const player = document.createElement('video');
      player.muted = true;
      player.src = ${JSON.stringify(src)};
      player.onloadeddata = () => resolve({ width: player.videoWidth, height: player.videoHeight, seconds: player.duration });
      player.onerror = () => reject(new Error('cannot play the clip: ' + (player.error?.message ?? 'unknown error')));
    })`);
    expect(played).toEqual({ width: 160, height: 90, seconds: 2 });
    await shot('02-video-in-thread');
    await page.click('#thread-close');

    // Ada (an admin, per users.info) lowers the workspace's daily budget from the App Home, through its modal.
    await switchTo('U0ADA');
    await page.click('#app-list button[data-app="kling"]');
    await page.locator('#home button[data-action-id="home_budget_edit"]').first().click();
    const modal = page.locator('#modal');
    await modal.locator('.b-input').first().waitFor();
    await modal.locator('.b-input input[type="text"]').first().fill('2');
    await shot('03-admin-edits-budget');
    await modal.locator('button[data-submit]').click();
    await page.locator('#modal-backdrop').waitFor({ state: 'hidden' });
    await expect.poll(() => page.textContent('#home'), { timeout: 60_000 }).toMatch(/of 2\b/);
    await shot('04-app-home');

    // Grace runs into it: an ephemeral refusal only she sees.
    await switchTo('U0GRACE');
    await openChannel('video');
    await type('/kling generate a cat surfing a wave');
    const refusal = page.locator('#messages .message.ephemeral', { hasText: 'Not queued' });
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain('Only visible to you');
    await shot('05-over-budget');

    // The alerts channel says what was refused and what is left (not "exhausted": 0.5 is left), with an unread
    // badge before it is opened.
    await page.locator('#channel-list button[data-channel="kling-alerts"] .badge').waitFor();
    await openChannel('kling-alerts');
    const alert = page.locator('#messages .message', { hasText: 'refused a 1.5-credit request' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain('0.5 of 2 credits left');
    expect(await alert.textContent()).toContain('@Grace');
    expect(await page.locator('#messages').textContent()).not.toContain('exhausted');
    await shot('06-alert');

    // Linus never saw Grace's refusal.
    await switchTo('U0LINUS');
    await openChannel('video');
    await page.locator('#messages .message', { hasText: 'a fox running through snow at dusk' }).waitFor();
    expect(await page.locator('#messages .message', { hasText: 'Not queued' }).count()).toBe(0);
  }, 240_000);

  it('answers an admin command in the channel and opens and closes the batch modal', async () => {
    await switchTo('U0ADA');
    await openChannel('video');
    await type('/kling budget set workspace day 20');
    await page.locator('#messages .message.ephemeral', { hasText: 'daily budget is now 20 credits' }).waitFor();

    // The digest preview says which day it shows; today so far has the video made above.
    await type('/kling digest preview');
    await page.locator('#messages .message.ephemeral', { hasText: 'Preview of yesterday' }).waitFor();
    await type('/kling digest preview today');
    const today = page.locator('#messages .message.ephemeral', { hasText: 'Preview of today so far' });
    await today.waitFor();
    expect(await today.textContent()).toMatch(/Spent 1\.5 credits/);
    await shot('06b-digest-preview-today');

    // manifest.yml makes the app's Messages tab read-only: Slack shows its messages and no composer there.
    await page.click('#app-list button[data-app="kling"]');
    await page.click('#app-tabs .tab[data-tab="messages"]');
    await page.locator('#read-only', { hasText: 'Sending messages to this app has been turned off.' }).waitFor();
    expect(await page.isVisible('#composer-input')).toBe(false);

    await openChannel('video');
    await type('/kling batch');
    const modal = page.locator('#modal');
    await modal.locator('textarea').waitFor();
    // The total follows the typing (dispatch_action on every character); what was typed stays through the update.
    await modal.locator('textarea').pressSequentially('a fox\na cat', { delay: 20 });
    await modal.locator('.b-section[data-block-id="batch_total"]', { hasText: '2 videos: 3 credits' }).waitFor();
    expect(await modal.locator('textarea').inputValue()).toBe('a fox\na cat');
    await modal.locator('select[data-action-id="batch_duration"]').selectOption('10');
    await modal.locator('.b-section[data-block-id="batch_total"]', { hasText: '2 videos: 6 credits' }).waitFor();
    expect(await modal.locator('textarea').inputValue()).toBe('a fox\na cat');
    await shot('07-batch-modal');
    await modal.locator('.icon-button[aria-label="Close"]').click();
    await page.locator('#modal-backdrop').waitFor({ state: 'hidden' });
    expect(demo.workspace.views('U0ADA').filter((v) => v.type === 'modal' && v.open)).toEqual([]);
  });

  it('animates an image Grace posts, through the message shortcut Animate with Kling', async () => {
    await switchTo('U0GRACE');
    await openChannel('video');
    const image = png(1280, 720, 4096);
    await page.setInputFiles('#composer-file', { name: 'harbour.png', mimeType: 'image/png', buffer: image });
    const posted = page.locator('#messages .message', { has: page.locator('.file-image') }).last();
    await posted.waitFor();
    await posted.hover();
    await posted.locator('.more-actions .more').click();
    await posted.locator('.more-menu button[data-callback-id="animate"]').click();
    const modal = page.locator('#modal');
    await modal.locator('textarea').first().waitFor();
    await expect.poll(() => modal.textContent()).toMatch(/credits/);
    await modal.locator('textarea').first().fill('boats rock in the harbour');
    await shot('08-animate-modal');
    await modal.locator('button[data-submit]').click();
    await page.locator('#modal-backdrop').waitFor({ state: 'hidden' });
    await explained(page.locator('#messages .message', { hasText: 'boats rock in the harbour' }).first().waitFor());
    const sent = demo.kling.requests.filter((r) => r.path.includes('image2video') && r.method === 'POST');
    expect(sent.map((r) => (r.body as { image?: string }).image)).toContain(image.toString('base64'));
  }, 120_000);

  it('fits a phone-sized window and shows emoji, not shortcodes', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      await openChannel('video');
      const card = page.locator('#messages .message', { hasText: 'a fox running through snow at dusk' }).first();
      await card.waitFor();
      // Nothing wider than the window: the conversations sit in a strip across the top.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
      // Polled: the page redraws its messages as they change, and a box read mid-redraw is null.
      await expect
        .poll(async () => {
          const [list, at] = await Promise.all([page.locator('#channel-list').boundingBox(), card.boundingBox()]);
          return list && at ? list.y < at.y : undefined;
        })
        .toBe(true);
      expect(await page.locator('#messages').textContent()).not.toMatch(/:[a-z0-9_+-]+:/);
      await shot('09-phone-width');
    } finally {
      await page.setViewportSize({ width: 1360, height: 860 });
    }
  });
});
