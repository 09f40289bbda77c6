// The budget ledger (see README.md): budgets, periods, holds, the append-only ledger and its alerts.
export * from './types';
export { Ledger } from './ledger';
export { periodBounds, isTimezone } from './periods';
export { auditTrail, type AuditEntry, type AuditSubject } from './audit';
export { checkInvariants } from './invariants';
export { LedgerReports } from './reports';
export { forecast, pace, paceWindowStart, type Forecast, type PaceInput } from './forecast';
export { AlertWatch } from './watch';
