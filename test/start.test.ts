import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './support/db';

const root = new URL('..', import.meta.url).pathname;
const SIGNING_SECRET = '8f742231b10e8888abcd99eeeeee85a5';

/** Runs the bot's entry point as `npm start` does, with only the given environment, until it exits. */
function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'node_modules/tsx/dist/cli.mjs'), 'src/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 110_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

// A child process compiles and loads the whole bot: slow on a loaded machine, so these tests get longer.
describe('npm start', { timeout: 120_000 }, () => {
  let database: TestDatabase | undefined;
  afterAll(async () => {
    await database?.drop();
  });

  it('names every bad or missing variable in one short block and exits non-zero', async () => {
    const env = { SLACK_BOT_TOKEN: 'xoxp-1234-user-secret', ALERT_CHANNEL_ID: 'kling-alerts' };
    const { code, stderr } = await start(env);
    expect(code).toBe(1);
    const lines = stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('Configuration error: 4 variables need fixing');
    expect(lines.slice(1).map((line) => line.trim().split(' ')[0])).toEqual([
      'SLACK_BOT_TOKEN',
      'SLACK_SIGNING_SECRET',
      'ALERT_CHANNEL_ID',
      'KLING_API_KEY',
    ]);
    expect(stderr).not.toContain('user-secret');
    expect(stderr).not.toContain(' at ');
  });

  it('says in one line that Slack cannot be reached', async () => {
    database = await createTestDatabase({ max: 1 });
    const slackApiUrl = `http://127.0.0.1:${await closedPort()}/api/`;
    const { code, stderr } = await start({
      SLACK_BOT_TOKEN: 'xoxb-1234-5678-bot-secret',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: slackApiUrl,
      KLING_API_KEY: 'kling-secret',
      DATABASE_URL: database.url,
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    expect(code).toBe(1);
    const line = `Cannot reach Slack at ${slackApiUrl} (ECONNREFUSED): check the network, or SLACK_API_URL`;
    expect(stderr.trimEnd()).toBe(line);
  });

  const env = {
    SLACK_BOT_TOKEN: 'xoxb-1234-5678-bot-secret',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    KLING_API_KEY: 'kling-secret',
    PORT: '0',
    LOG_LEVEL: 'silent',
  };

  it('says in one line that the database cannot be reached, never its password', async () => {
    const port = await closedPort();
    const { code, stderr } = await start({
      ...env,
      DATABASE_URL: `postgres://kling:pg-pass-4471@127.0.0.1:${port}/kling`,
    });
    expect(code).toBe(1);
    const line = `Cannot reach the database at 127.0.0.1:${port} (ECONNREFUSED): check DATABASE_URL, or that Postgres is running there`;
    expect(stderr.trimEnd()).toBe(line);
    expect(stderr).not.toContain('pg-pass-4471');
  });

  it('says in one line that DATABASE_URL is not a URL, without echoing it', async () => {
    // A password with an unencoded slash: the driver's own error would quote the whole URL.
    const { code, stderr } = await start({
      ...env,
      DATABASE_URL: 'postgres://kling:pg/pass-4471@127.0.0.1:5432/kling',
    });
    expect(code).toBe(1);
    expect(stderr.trimEnd()).toBe(
      'DATABASE_URL is not a valid URL: percent-encode special characters in the password (/ as %2F, @ as %40)',
    );
    expect(stderr).not.toContain('pass-4471');
  });

  it('says in one line that the embedded database cannot be opened where DATA_DIR points', async () => {
    // A folder inside a regular file can never be made, whoever runs the test.
    const dataDir = path.join(root, 'package.json', 'data');
    const { code, stderr } = await start({ ...env, DATA_DIR: dataDir });
    expect(code).toBe(1);
    const [line, ...more] = stderr.trimEnd().split('\n');
    expect(more).toEqual([]);
    expect(line).toMatch(
      /^Cannot open the embedded database in .+ \(ENOTDIR: ENOTDIR: not a directory, mkdir '.+'\): set DATA_DIR to a folder the bot can write, or DATABASE_URL to a Postgres$/,
    );
  });

  it('says in one line that the database refused the bot, never its password', async () => {
    database ??= await createTestDatabase({ max: 1 });
    const url = new URL(database.url);
    url.password = 'pg-pass-4471';
    url.pathname = '/kling_no_such_database';
    const { code, stderr } = await start({ ...env, DATABASE_URL: url.toString() });
    expect(code).toBe(1);
    const line =
      `The database at ${url.hostname}:${url.port || 5432} refused the bot ` +
      '(3D000: database "kling_no_such_database" does not exist): check DATABASE_URL';
    expect(stderr.trimEnd()).toBe(line);
    expect(stderr).not.toContain('pg-pass-4471');
  });
});
