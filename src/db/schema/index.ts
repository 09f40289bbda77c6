// One schema file per domain; drizzle-kit reads them all from here.
export * from './workspace';
export * from './budget';
export * from './generation';
export * from './digest';
export * from './approval';
export * from './batch';
