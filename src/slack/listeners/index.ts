import type { App } from '@slack/bolt';
import type { CommandHandlers, Feature, SlackDeps } from '../deps';
import { account } from './account';
import { approvals } from './approvals';
import { auditCommand } from './audit';
import { animate } from './animate';
import { batch } from './batch';
import { budget } from './budget';
import { digest } from './digest';
import { exportFile } from './export';
import { generate } from './generate';
import { help } from './help';
import { home } from './home';
import { jobs } from './jobs';
import { queue } from './queue';
import { registerSlashCommand } from './slash';

/** Every feature of the app. A new one (batch, App Home, approvals) is a file here and a line in this list. */
const features: Feature[] = [
  generate,
  jobs,
  budget,
  digest,
  help,
  queue,
  approvals,
  batch,
  animate,
  home,
  exportFile,
  auditCommand,
  account,
];

export function registerListeners(app: App, deps: SlackDeps, list: Feature[] = features): void {
  const handlers: CommandHandlers = Object.assign({}, ...list.map((f) => f.commands ?? {}));
  registerSlashCommand(app, deps, handlers);
  for (const feature of list) feature.register?.(app, deps);
}
