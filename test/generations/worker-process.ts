// A worker in its own process, for the kill -9 test (crash.test.ts), which bundles it with esbuild first. It
// loads everything, says "loaded", and waits for its worker id on stdin, so the test can keep a warm standby;
// then it runs until it is killed.
import { createInterface } from 'node:readline';
import { Ledger } from '../../src/budget';
import { openDatabase } from '../../src/db';
import { Worker } from '../../src/generations';
import { KlingClient } from '../../src/kling';
import { FAST, SIM_KEY } from './timings';

const { DATABASE_URL, KLING_URL } = process.env;
process.stdout.write('loaded\n');
const lines = createInterface({ input: process.stdin });
// The test holds our stdin: when it goes away (even killed itself), so do we, leaving no orphan behind.
lines.on('close', () => process.exit(1));
const workerId = await new Promise<string>((resolve) => lines.once('line', resolve));
const database = await openDatabase({ url: DATABASE_URL!, max: 4, migrate: false });
const kling = new KlingClient({ baseUrl: KLING_URL!, auth: { apiKey: SIM_KEY }, retries: 0, timeoutMs: 1_000 });
const worker = new Worker(database.db, new Ledger(database.db), kling, {
  ...FAST,
  maxConcurrency: 3,
  taskTimeoutMinutes: 10,
  workerId,
});
await worker.start();
process.stdout.write('ready\n');
