import type { ChangeAuthor, RequestScope } from '../budget';
import type { ReportPeriod } from '../budget/periods';
import type { Claim } from '../generations';
import { approve, checkRaise, deny, raiseForm, requestApproval, type Decision, type RaiseAsk } from './approvals';
import { checkBatchForm, queueBatch } from './batch';
import * as budgets from './budgets';
import { requestVideo, type RequestPorts, type VideoAsk } from './video';

export { ApprovalRequests, type ApprovalRequest } from './approval-store';
export { lacking, RAISE_MAX_DAYS, type ApproveOutcome, type RaiseForm, type RaiseProblem } from './approvals';
export { checkBatch, offPeakStart, OFF_PEAK, type BatchCheck } from './batch';
export type { RequestPorts, VideoAsk, VideoOutcome } from './video';
export { Workspaces } from './workspaces';

/**
 * The bot's use cases, free of Slack: each takes what a person asked for, already parsed and priced, and
 * answers with an outcome that the Slack layer renders. What follows in Slack (job cards, alerts) goes
 * through the ports.
 */
export class Requests {
  constructor(private readonly ports: RequestPorts) {}

  video(scope: RequestScope, ask: VideoAsk, claim?: Claim) {
    return requestVideo(this.ports, scope, ask, claim);
  }

  batch(scope: RequestScope, batch: Parameters<typeof queueBatch>[2], claim: Claim) {
    return queueBatch(this.ports, scope, batch, claim);
  }

  checkBatchForm(scope: RequestScope, form: Parameters<typeof checkBatchForm>[2]) {
    return checkBatchForm(this.ports, scope, form);
  }

  askApproval(scope: RequestScope, ask: Parameters<typeof requestApproval>[2]) {
    return requestApproval(this.ports, scope, ask);
  }

  /** `raise`: a temporary raise until a date instead of this request's shortfall for this period. */
  approve(decision: Decision, price: Parameters<typeof approve>[2], raise?: RaiseAsk) {
    return approve(this.ports, decision, price, raise);
  }

  /** What the admins' Raise… form proposes for a request. */
  checkRaise(decision: Decision, price: Parameters<typeof checkRaise>[2], raise: RaiseAsk) {
    return checkRaise(this.ports, decision, price, raise);
  }

  raiseForm(decision: Decision, price: Parameters<typeof raiseForm>[2]) {
    return raiseForm(this.ports, decision, price);
  }

  deny(decision: Decision) {
    return deny(this.ports, decision);
  }

  budgetsFor(scope: RequestScope) {
    return budgets.budgetsFor(this.ports, scope);
  }

  usageFor(scope: RequestScope & { tag?: string }) {
    return budgets.usageFor(this.ports, scope);
  }

  homeOf(teamId: string, userId: string, counts: { shown: number; jobs: number }) {
    return budgets.homeOf(this.ports, teamId, userId, counts);
  }

  setBudget(input: Parameters<typeof budgets.setBudget>[1]) {
    return budgets.setBudget(this.ports, input);
  }

  setAlertsChannel(teamId: string, channelId: string, author: ChangeAuthor) {
    return budgets.setAlertsChannel(this.ports, teamId, channelId, author);
  }

  setTimezone(teamId: string, timezone: string, author: ChangeAuthor) {
    return budgets.setTimezone(this.ports, teamId, timezone, author);
  }

  budgetsIn(scope: RequestScope, period: ReportPeriod, now: Date) {
    return budgets.budgetsIn(this.ports, scope, period, now);
  }

  setConfirmThreshold(
    teamId: string,
    thresholdMc: Parameters<typeof budgets.setConfirmThreshold>[2],
    author: ChangeAuthor,
  ) {
    return budgets.setConfirmThreshold(this.ports, teamId, thresholdMc, author);
  }

  timezoneOf(teamId: string) {
    return budgets.timezoneOf(this.ports, teamId);
  }

  auditOf(...args: Parameters<typeof budgets.auditOf> extends [unknown, ...infer R] ? R : never) {
    return budgets.auditOf(this.ports, ...args);
  }
}
