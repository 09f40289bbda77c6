import type { App, RespondFn } from '@slack/bolt';
import type { WebClient } from '@slack/web-api';
import type { KlingAccount } from '../account';
import type { Config } from '../config';
import type { Ledger, RequestScope } from '../budget';
import type { Clock } from '../clock';
import type { DigestService } from '../digest';
import type { Exporter } from '../export';
import type { GenerationQueue, Worker } from '../generations';
import type { BotMetrics } from '../http/metrics';
import type { Logger } from '../log';
import type { PriceCatalog } from '../pricing';
import type { Requests } from '../requests';
import type { AcksFirst } from './acks-first';
import type { BatchForms } from './batch-forms';
import type { Admins } from './admins';
import type { People } from './people';
import type { SlackImages } from './images';
import type { Message } from './blocks/kit';
import type { Command } from './commands/parse';
import type { JobCards } from './job-cards';
import type { Notifier } from './notifier';
import type { PendingRequests } from './pending';

/** What the listeners delegate to; built once in src/app.ts. */
export interface SlackDeps {
  config: Config;
  catalog: PriceCatalog;
  ledger: Ledger;
  queue: GenerationQueue;
  worker: Pick<Worker, 'wake' | 'resume'>;
  digest: Pick<DigestService, 'postNow' | 'preview'>;
  exporter: Exporter;
  /** The Kling account's packs and alert settings (admins). */
  account: Pick<KlingAccount, 'status' | 'setAlertDays' | 'setReconcileTolerance'>;
  cards: JobCards;
  notifier: Notifier;
  admins: Admins;
  people: People;
  pending: PendingRequests;
  /** Images people keep in Slack, fetched with the bot's token for image-to-video. */
  images: SlackImages;
  /** Which channel each open /kling batch form belongs to. */
  batchForms: BatchForms;
  /** The use cases: what a person asks for, free of Slack. */
  requests: Requests;
  metrics: BotMetrics;
  logger: Logger;
  /** The clock every dated answer reads (an off-peak start, a report period, a job card). */
  now: Clock;
  /** Commands awaiting their ack; the work after an ack waits for them. */
  acksFirst: AcksFirst;
  /** A command slower than this answers "working on it" and follows up on its response_url (Slack allows 3 s). */
  ackWithinMs: number;
}

/** One parsed /kling command, with what its handler needs to answer it. */
export interface CommandContext<K extends Command['kind'] = Command['kind']> {
  command: Command & { kind: K };
  /** The command text as Slack sent it (buttons re-run it). */
  text: string;
  scope: RequestScope;
  /** Opens a modal (views.open), once, within 3 s of the command. */
  triggerId: string;
  /** performance.now() by which the ack must be sent to be sure Slack gets it within its 3 s. */
  ackDeadline: number;
  /** Acknowledges within Slack's 3 s; a message is shown only to the person who typed the command. */
  ack(message?: Message): Promise<void>;
  respond: RespondFn;
  client: WebClient;
}

export type CommandHandlers = { [K in Command['kind']]?: (ctx: CommandContext<K>, deps: SlackDeps) => Promise<void> };

/** A feature: the /kling subcommands it answers and the Bolt listeners (buttons, views, events) it adds. */
export interface Feature {
  commands?: CommandHandlers;
  register?(app: App, deps: SlackDeps): void;
}
