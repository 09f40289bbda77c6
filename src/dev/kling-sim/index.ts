import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { builtInCatalog, type PriceCatalog } from '../../pricing';
import { SimAccount, type SimAccountOptions } from './account';
import { DEMO_KLING_KEYS } from './auth';
import { Callbacks, type DeliveredCallback } from './callbacks';
import { Faults, type FaultSpec } from './faults';
import { Media } from './media';
import { Pack } from './pack';
import { requestHandler, type RecordedRequest } from './routes';
import { Tasks, type SimulatedTask } from './tasks';

/**
 * A stand-in for Kling's legacy API on loopback, faithful where the bot's money and safety depend on it:
 * auth codes (auth.ts), body validation and the task lifecycle (tasks.ts), prices (pricing.ts), the prepaid pack
 * (pack.ts), callbacks (callbacks.ts), the account concurrency limit, injectable faults (faults.ts), result files
 * (media.ts) and the HTTP face (routes.ts). Nothing here logs: requests (Authorization included) are only kept
 * in memory for tests.
 */

export { DEMO_KLING_KEYS } from './auth';
export type { FaultSpec } from './faults';

export interface KlingSimulatorOptions {
  port?: number;
  apiKey?: string;
  accessKey?: string;
  secretKey?: string;
  /** Account limit in slots (a video or try-on task holds 1, an image task `n`); 1303 above it. */
  concurrency?: number;
  /** Units in the prepaid pack; 1102 when a request costs more than what is left. */
  balance?: number;
  timings?: { queuedMs?: number; processingMs?: number };
  /** Fraction of tasks that end failed, spread evenly (0.25 → every 4th task). */
  failRate?: number;
  catalog?: PriceCatalog;
  /** When set, callbacks carry Standard-Webhooks signature headers, as Kling sends them once a secret exists. */
  webhookSecret?: string;
  /** The server's clock, for token nbf/exp checks and timestamps. */
  now?: () => number;
  /**
   * Where result files are kept; with the same port, the links of an earlier run still answer after a restart.
   * In memory when absent.
   */
  mediaDir?: string;
  /** Packs that expire, /account/costs with a lag, and per-task billing records; `balance` defaults to their sum. */
  account?: SimAccountOptions;
}

export interface KlingSimulator {
  url: string;
  requests: RecordedRequest[];
  callbacks: DeliveredCallback[];
  tasks(): SimulatedTask[];
  /** Most tasks in submitted or processing at once (tasks, not slots: an image task with n = 4 counts once). */
  inFlightPeak(): number;
  fault(spec: FaultSpec): void;
  clearFaults(): void;
  setBalance(units: number): void;
  /**
   * What final_unit_deduction says for tasks that succeed from now on, whatever they cost ("-1", "12.5", "n/a"):
   * Kling charging above the quote, or an answer no charge can be read from. undefined: the real cost again.
   */
  setCharge(units: string | undefined): void;
  /** Ends a task now (through processing, as Kling would), whatever its timings: for tests holding tasks in flight. */
  endTask(taskId: string, outcome: 'succeed' | 'failed', message?: string): void;
  /** Units left in the pack. */
  balance(): number;
  /** The packs and billing records, when `account` was given. */
  account?: SimAccount;
  close(): Promise<void>;
}

export async function startKlingSimulator(options: KlingSimulatorOptions = {}): Promise<KlingSimulator> {
  const keys = options.apiKey || options.accessKey || options.secretKey ? options : DEMO_KLING_KEYS;
  const now = options.now ?? Date.now;
  const startedAt = now();
  const account = options.account && new SimAccount(options.account, startedAt);
  const packUnits = options.account?.packs.reduce((sum, p) => sum + p.units, 0);
  const pack = new Pack(options.balance ?? packUnits ?? 1_000_000, startedAt, account);
  const faults = new Faults();
  const media = new Media(options.mediaDir);
  const callbacks = new Callbacks(options.webhookSecret, now);
  const tasks = new Tasks(
    {
      catalog: options.catalog ?? builtInCatalog,
      concurrency: options.concurrency ?? 20,
      queuedMs: options.timings?.queuedMs ?? 10,
      processingMs: options.timings?.processingMs ?? 30,
      failRate: options.failRate ?? 0,
      now,
    },
    pack,
    media,
    callbacks,
  );
  const requests: RecordedRequest[] = [];

  const server = http.createServer(requestHandler({ keys, now, tasks, pack, faults, media, requests }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', resolve);
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tasks.baseUrl = url;

  return {
    url,
    requests,
    callbacks: callbacks.delivered,
    tasks: () => tasks.summaries(),
    inFlightPeak: () => tasks.inFlightPeak(),
    fault: (spec) => faults.add(spec),
    clearFaults: () => faults.clear(),
    setBalance: (units) => {
      pack.units = units;
    },
    setCharge: (units) => {
      pack.chargeOverride = units;
    },
    balance: () => pack.units,
    ...(account && { account }),
    endTask: (id, outcome, message) => tasks.end(id, outcome, message),
    close: async () => {
      server.closeAllConnections();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      await tasks.stop();
      await closed;
      await media.flush();
    },
  };
}
