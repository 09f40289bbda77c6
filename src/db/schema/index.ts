// One schema file per domain; drizzle-kit reads them all from here.
export * from './workspace';
export * from '../../budget/schema'; // the ledger's tables live with the ledger
export * from './generation';
export * from './digest';
export * from './approval';
export * from './batch';
export * from './account';
