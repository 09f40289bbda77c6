// A bot replica in its own process, for the two-replica kill -9 test (replicas.test.ts): the real bot from its
// environment, with test timings. It prints "ready <port>" and runs until it is killed, or until the test lets
// go of its stdin (so a killed test leaves no orphan behind).
import { createBot } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';

process.stdin.on('close', () => process.exit(1));
process.stdin.resume();
const bot = await createBot(loadConfig(), {
  logger: createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
  worker: { pollMs: 50, pollMaxMs: 200, retryMs: 50, retryMaxMs: 200, leaseMs: 2_000 },
  alertRetryMs: 300,
  alertLeaseMs: 2_000,
  cards: { sweepMs: 200, graceMs: 1_000, leaseMs: 3_000 },
  digestSchedule: false,
  ackTimeoutMs: 60_000,
  ackWithinMs: 60_000,
});
await bot.start();
process.stdout.write(`ready ${bot.port}\n`);
