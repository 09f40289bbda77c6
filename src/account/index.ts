// The Kling account behind the API key: its packs, their pace and expiry, and reconciliation with the ledger.
export { KlingAccount } from './service';
export type { AccountAlert, AccountStatus, PackView } from './types';
