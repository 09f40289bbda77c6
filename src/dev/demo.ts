import { readFileSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createBot, type Bot } from '../app';
import { loadConfig } from '../config';
import { startKlingSimulator, type KlingSimulator } from './kling-sim';
import {
  DEFAULT_CHANNELS,
  DEFAULT_USERS,
  startSlackWorkspace,
  type SlackWorkspace,
  type SlackWorkspaceOptions,
  type SlashCommandInfo,
} from './slack-workspace';

/**
 * `npm run demo`: the whole bot on one machine with nothing to sign up for — the embedded database
 * (PGlite under ./data), the Kling simulator, the bot in HTTP mode, and an offline Slack workspace with
 * its web page. The same stack serves the browser test through startDemo().
 */

export interface DemoOptions {
  /** The page and the Slack Web API (default 3000; 0 = any). */
  port?: number;
  /** The bot's HTTP port (default 3001; 0 = any). */
  botPort?: number;
  /**
   * The Kling simulator's port (default the page's port + 2; any when that is 0). Fixed, because the video links
   * kept in the workspace and the database name it: with its files on disk they still answer after a restart.
   */
  klingPort?: number;
  /** Everything kept between runs: the database and the workspace's messages (default ./data). */
  dataDir?: string;
  /** Wipe dataDir first. */
  reset?: boolean;
  /** How long the simulated Kling takes; slow enough by default to watch a job card move. */
  klingTimings?: { queuedMs?: number; processingMs?: number };
  /** How often the worker polls Kling (default 1 s). */
  pollMs?: number;
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

export interface Demo {
  url: string;
  workspace: SlackWorkspace;
  kling: KlingSimulator;
  bot: Bot;
  close(): Promise<void>;
}

/** Demo credentials: they only ever travel between processes on this machine. */
// Shaped like Slack's (32 hex characters), which the configuration checks.
const DEMO_SIGNING_SECRET = '0000000000000000000000000000de70';
const DEMO_BOT_TOKEN = 'xoxb-demo-offline-token';
const DEMO_KLING_KEY = 'demo-kling-key';
const DAY_MS = 24 * 3600 * 1000;
const ALERTS_CHANNEL = DEFAULT_CHANNELS.find((c) => c.name === 'kling-alerts')!.id;

/**
 * What manifest.yml declares that the offline workspace mirrors: the slash commands with their usage hints, for the
 * composer's suggestions, and whether the app's Messages tab is read-only.
 */
function fromManifest(): Pick<SlackWorkspaceOptions, 'commands' | 'messagesTabReadOnly' | 'shortcuts'> {
  let text: string;
  try {
    text = readFileSync(new URL('../../manifest.yml', import.meta.url), 'utf8');
  } catch {
    return {};
  }
  const commands: SlashCommandInfo[] = [];
  const unquote = (v: string) => v.trim().replace(/^(["'])(.*)\1$/, '$2');
  for (const line of text.split('\n')) {
    const command = /^\s*-\s*command:\s*(\S+)/.exec(line);
    if (command) commands.push({ command: command[1]! });
    const field = /^\s+(description|usage_hint):\s*(.+)$/.exec(line);
    const current = commands.at(-1);
    if (field && current) current[field[1] === 'usage_hint' ? 'usageHint' : 'description'] = unquote(field[2]!);
  }
  // Each message shortcut: its name, then its callback_id, in the shortcuts list.
  const shortcuts = [...text.matchAll(/-\s*name:\s*(.+)\n\s+type:\s*message\n\s+callback_id:\s*(\S+)/g)].map(
    ([, name, callbackId]) => ({ name: unquote(name!), callbackId: callbackId! }),
  );
  return { commands, shortcuts, messagesTabReadOnly: /^\s*messages_tab_read_only_enabled:\s*true\s*$/m.test(text) };
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const dataDir = resolve(options.dataDir ?? './data');
  if (options.reset) rmSync(dataDir, { recursive: true, force: true });

  const started: { close(): Promise<void> }[] = [];
  const closeAll = async () => {
    for (const part of started.reverse()) await part.close().catch(() => undefined);
  };
  try {
    const port = options.port ?? 3000;
    const kling = await startKlingSimulator({
      apiKey: DEMO_KLING_KEY,
      port: options.klingPort ?? (port === 0 ? 0 : port + 2),
      mediaDir: `${dataDir}/kling-media`,
      timings: options.klingTimings ?? { queuedMs: 2_000, processingMs: 6_000 },
      // An account with packs, so /kling account, its alerts and the daily reconciliation have something to read.
      account: {
        packs: [
          { id: 'demo-trial', name: 'Trial pack', units: 100, expiresAt: Date.now() + 10 * DAY_MS },
          { id: 'demo-standard', name: 'Standard pack', units: 3_000, expiresAt: Date.now() + 90 * DAY_MS },
        ],
      },
    });
    started.push(kling);
    const workspace = await startSlackWorkspace({
      port,
      signingSecret: DEMO_SIGNING_SECRET,
      botToken: DEMO_BOT_TOKEN,
      users: DEFAULT_USERS,
      channels: DEFAULT_CHANNELS,
      dataFile: `${dataDir}/slack-workspace.json`,
      ...fromManifest(),
    });
    started.push(workspace);

    // Only what the demo needs: a developer's own DATABASE_URL or Slack tokens must not leak in.
    const config = loadConfig({
      SLACK_BOT_TOKEN: DEMO_BOT_TOKEN,
      SLACK_SIGNING_SECRET: DEMO_SIGNING_SECRET,
      SLACK_API_URL: `${workspace.url}/api/`,
      KLING_API_KEY: DEMO_KLING_KEY,
      KLING_API_BASE_URL: kling.url,
      DATA_DIR: `${dataDir}/pglite`,
      PORT: String(options.botPort ?? 3001),
      ALERT_CHANNEL_ID: ALERTS_CHANNEL,
      LOG_LEVEL: options.logLevel ?? 'warn',
    });
    const pollMs = options.pollMs ?? 1_000;
    const bot = await createBot(config, {
      worker: {
        maxConcurrency: config.KLING_MAX_CONCURRENCY,
        taskTimeoutMinutes: config.KLING_TASK_TIMEOUT_MINUTES,
        pollMs,
        pollMaxMs: pollMs * 3,
      },
    });
    await bot.start();
    started.push({ close: () => bot.stop() });
    workspace.setBotUrl(`http://127.0.0.1:${bot.port}/slack/events`);

    const url = workspace.url.replace('127.0.0.1', 'localhost');
    return { url, workspace, kling, bot, close: closeAll };
  } catch (error) {
    await closeAll();
    throw error;
  }
}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
}

async function main(args: string[]): Promise<void> {
  if (args.includes('--help')) {
    console.log(
      "npm run demo [-- --reset] [-- --port 3000] [-- --verbose]\n  --reset    start from an empty workspace and database (wipes ./data)\n  --port N   serve the page on port N (the bot takes N+1, the Kling simulator N+2)\n  --verbose  show the bot's logs",
    );
    return;
  }
  const port = Number(flag(args, '--port') ?? 3000);
  console.log('  Starting… (the very first start creates the database and takes about half a minute)');
  const demo = await startDemo({
    port,
    botPort: port + 1,
    klingPort: port + 2,
    reset: args.includes('--reset'),
    logLevel: args.includes('--verbose') ? 'info' : 'warn',
  }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE')
      console.error(
        `Port ${port}, ${port + 1} or ${port + 2} is already in use; try npm run demo -- --port ${port + 10}`,
      );
    else {
      console.error(`The demo could not start: ${error.message.split('\n')[0]}`);
      console.error('If ./data was made by an older version of the bot, npm run demo -- --reset starts fresh.');
    }
    process.exit(1);
  });

  const users = DEFAULT_USERS.map((u) => (u.isAdmin ? `${u.name} (admin)` : u.name)).join(', ');
  console.log(
    [
      '',
      '  Kling budget bot — offline demo',
      '',
      `  Open ${demo.url} in your browser.`,
      '',
      `  People: ${users} — switch at the top right.`,
      `  Channels: ${DEFAULT_CHANNELS.map((c) => `#${c.name}`).join(', ')} (budget alerts go to #kling-alerts).`,
      '  Try: /kling generate a fox running through snow   ·   /kling budget   ·   /kling help',
      '',
      `  Data is kept in ./data between runs; npm run demo -- --reset starts fresh. Ctrl-C stops.`,
      '',
    ].join('\n'),
  );

  let stopping = false;
  const stop = async () => {
    if (stopping) process.exit(1); // a second Ctrl-C does not wait
    stopping = true;
    console.log('\n  Stopping…');
    await demo.close();
    console.log('  Stopped. Your data is in ./data.');
    process.exit(0);
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main(process.argv.slice(2));
}
