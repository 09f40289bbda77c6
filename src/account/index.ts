// The Kling account behind the API key: its packs, their pace and expiry, and reconciliation with the ledger.
export { KlingAccount, type KlingAccountOptions } from './service';
export type { AccountAlert, AccountSettings, AccountStatus, PackView } from './types';
