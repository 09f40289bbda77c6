import { defineConfig } from 'drizzle-kit';

// `npm run db:generate` regenerates migrations/ from the schema; the same files run on Postgres and PGlite.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema/index.ts',
  out: './migrations',
  strict: true,
  verbose: true,
  dbCredentials: { url: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
});
