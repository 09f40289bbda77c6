import {
  auditTrail,
  type BudgetInput,
  type ChangeAuthor,
  type Forecast,
  type RequestScope,
  type Usage,
} from '../budget';
import { resolveReportPeriod, type ReportPeriod } from '../budget/periods';
import type { Generation } from '../generations';
import type { RequestPorts } from './video';

/**
 * Reading and setting budgets. Every use case here that may be a workspace's first command creates it
 * (with its default budget, and the configured alerts channel) before reading or writing its budgets.
 */

export type WithForecast = Usage & { forecast?: Forecast };

/** The budgets that apply to a person in a channel, with where each is heading. */
export async function budgetsFor(ports: RequestPorts, scope: RequestScope): Promise<WithForecast[]> {
  await ports.workspaces.settings(scope.teamId);
  const usages = await ports.ledger.usageFor(scope);
  const forecasts = await ports.ledger.forecasts(usages);
  return usages.map((u, i) => ({ ...u, forecast: forecasts[i] }));
}

/** The budgets that apply to a request (with its project tag, if any), as they stand (an estimate's answer). */
export async function usageFor(ports: RequestPorts, scope: RequestScope & { tag?: string }): Promise<Usage[]> {
  await ports.workspaces.settings(scope.teamId);
  return ports.ledger.usageFor(scope);
}

/** A person's home: their budgets, the workspace's first `shown` budgets, and their recent jobs. */
export async function homeOf(
  ports: RequestPorts,
  teamId: string,
  userId: string,
  counts: { shown: number; jobs: number },
): Promise<{ mine: WithForecast[]; budgets: WithForecast[]; moreBudgets: number; jobs: Generation[] }> {
  await ports.workspaces.settings(teamId);
  const [mine, refs, jobs] = await Promise.all([
    // No channel: the budgets that follow the person everywhere (theirs and the workspace's).
    ports.ledger.usageFor({ teamId, channelId: '', userId }),
    ports.ledger.budgets(teamId),
    ports.queue.history(teamId, userId, counts.jobs),
  ]);
  const budgets = await ports.ledger.usages(refs.slice(0, counts.shown).map((b) => b.id));
  // One pace query for both lists, which mostly overlap.
  const listed = new Set(budgets.map((u) => u.budget.id));
  const all = [...budgets, ...mine.filter((u) => !listed.has(u.budget.id))];
  const forecasts = await ports.ledger.forecasts(all);
  const forecastOf = new Map(all.map((u, i) => [u.budget.id, forecasts[i]]));
  const withForecast = (u: Usage): WithForecast => ({ ...u, forecast: forecastOf.get(u.budget.id) });
  return {
    mine: mine.map(withForecast),
    budgets: budgets.map(withForecast),
    moreBudgets: refs.length - budgets.length,
    jobs,
  };
}

/** Sets (creates or changes) a budget; returns how its current period stands (a new budget counts the period's spending so far). */
export async function setBudget(ports: RequestPorts, input: BudgetInput): Promise<Usage> {
  await ports.workspaces.settings(input.teamId);
  const ref = await ports.ledger.setBudget(input);
  return ports.ledger.usage(ref.id);
}

/** Where the workspace's budget alerts go. */
export async function setAlertsChannel(
  ports: RequestPorts,
  teamId: string,
  channelId: string,
  author: ChangeAuthor,
): Promise<void> {
  await ports.workspaces.settings(teamId);
  await ports.ledger.setAlertsChannel(teamId, channelId, author);
}

/** The workspace's timezone from its next period boundary on; returns when that is. */
export async function setTimezone(ports: RequestPorts, teamId: string, timezone: string, author: ChangeAuthor) {
  await ports.workspaces.settings(teamId);
  return ports.ledger.setTimezone(teamId, timezone, author);
}

/** The budgets that applied to a person in a channel in an earlier (or the current) day, week or month. */
export async function budgetsIn(ports: RequestPorts, scope: RequestScope, period: ReportPeriod, now: Date) {
  const { timezone } = await ports.ledger.ensureWorkspace(scope.teamId);
  const span = resolveReportPeriod(period, now, timezone);
  // Each budget's period containing the asked one's start: that day's, week's or month's usage.
  return { label: span.label, usages: await ports.ledger.usageFor(scope, span.start) };
}

/** The price above which a person confirms first; null: nobody is asked. Shows at once on this replica. */
export async function setConfirmThreshold(
  ports: RequestPorts,
  teamId: string,
  thresholdMc: BudgetInput['limitMc'] | null,
  author: ChangeAuthor,
) {
  await ports.ledger.setConfirmThreshold(teamId, thresholdMc, author);
  ports.workspaces.forget(teamId);
}

/** The workspace's timezone (a batch's off-peak hours are in it). */
export async function timezoneOf(ports: RequestPorts, teamId: string): Promise<string> {
  await ports.workspaces.settings(teamId);
  return (await ports.ledger.ensureWorkspace(teamId)).timezone;
}

/** Who changed which budget in a period, newest first, at most `shown` of `total`. */
export async function auditOf(ports: RequestPorts, teamId: string, period: ReportPeriod, shown: number, now: Date) {
  const { timezone } = await ports.ledger.ensureWorkspace(teamId);
  const span = resolveReportPeriod(period, now, timezone);
  return { ...(await auditTrail(ports.db, teamId, span, shown)), label: span.label };
}
