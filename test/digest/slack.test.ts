import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebClient } from '@slack/web-api';
import { Ledger } from '../../src/budget/index';
import { DigestService } from '../../src/digest/index';
import { digestPoster } from '../../src/slack/digest-poster';
import { People } from '../../src/slack/people';
import { createLogger } from '../../src/log';
import { startSlackWorkspace, type SlackWorkspace } from '../../src/dev/slack-workspace/index';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { Clock, job } from './fixtures';

// The digest through the Slack layer's real poster, over HTTP to the offline workspace that rejects what Slack rejects.
let database: TestDatabase;
let slack: SlackWorkspace;

beforeAll(async () => {
  database = await createTestDatabase({ max: 4 });
  slack = await startSlackWorkspace({
    signingSecret: 'test-secret',
    botToken: 'xoxb-test',
    teamId: 'TSLACK',
    channels: [
      { id: 'CALERTS', name: 'kling-alerts' },
      { id: 'CALERTS2', name: 'kling-alerts-2' },
    ],
  });
});
afterAll(async () => {
  await slack?.close();
  await database?.drop();
});

async function digestFor(teamId: string, channelId: string) {
  const clock = new Clock(new Date('2026-11-23T10:00:00Z'));
  const ledger = new Ledger(database.db, { now: clock.now, defaultTimezone: 'Europe/Berlin' });
  await ledger.ensureWorkspace(teamId);
  await ledger.setAlertsChannel(teamId, channelId, { by: 'UADMIN' });
  await job(database.db, ledger, teamId, clock, { userId: 'U0ADA', outcome: 'succeeded' });
  await job(database.db, ledger, teamId, clock, { userId: 'U0GRACE', outcome: 'failed' });
  clock.set('2026-11-24T08:00:00Z');
  const client = new WebClient('xoxb-test', { slackApiUrl: `${slack.url}/api/`, retryConfig: { retries: 0 } });
  return new DigestService(database.db, ledger, digestPoster(client, new People(client, createLogger('silent'))), {
    cron: '0 9 * * *',
    creditPriceUsd: 0.14,
    now: clock.now,
  });
}

describe('the digest in Slack', () => {
  it('posts valid blocks and uploads the chart', async () => {
    const digest = await digestFor('T1', 'CALERTS');
    await digest.tick();
    const messages = slack.messages('CALERTS');
    const post = messages.find((m) => m.text.startsWith('Kling digest for Mon 23 Nov 2026'));
    expect(post?.blocks?.length).toBeGreaterThan(5);
    // People are named, not @-mentioned: the digest would ping them every day.
    expect(JSON.stringify(post?.blocks)).toContain('1. *Ada*');
    expect(JSON.stringify(post?.blocks)).not.toContain('<@');
    const files = messages.flatMap((m) => m.files ?? []);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatchObject({ name: 'kling-digest-2026-11-23.png', mimetype: 'image/png' });
    expect(files[0]!.size).toBeGreaterThan(1000);
  });

  it('falls back to the text trend when the upload is refused for a missing scope', async () => {
    slack.injectFault({ method: 'files.getUploadURLExternal', error: 'missing_scope' });
    const digest = await digestFor('T2', 'CALERTS2');
    await digest.tick();
    const messages = slack.messages('CALERTS2');
    expect(messages).toHaveLength(1);
    expect(messages[0]!.files ?? []).toHaveLength(0);
    expect(JSON.stringify(messages[0]!.blocks)).toMatch(/Last 7 days\* [▁▂▃▄▅▆▇█]{7} /);
  });
});
