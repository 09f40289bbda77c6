import { fileURLToPath } from 'node:url';
import { mkdirSync } from 'node:fs';
import postgres from 'postgres';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import { migrate as migratePostgres } from 'drizzle-orm/postgres-js/migrator';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { getTableColumns, is, sql, SQL } from 'drizzle-orm';
import type { PgColumn, PgDatabase, PgQueryResultHKT, PgTable } from 'drizzle-orm/pg-core';
import * as schema from './schema';

export { schema };

/** The drizzle database, the same type over postgres.js and PGlite; a transaction is one too. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Throws when the database cannot answer (used by /healthz). */
  ping(): Promise<void>;
  close(): Promise<void>;
}

const migrationsFolder = fileURLToPath(new URL('../../migrations', import.meta.url));

/** int8 and numeric come back as JS numbers from both drivers; amounts are integer millicredits, far below 2^53. */
const INT8 = 20;

export interface OpenOptions {
  /** Postgres URL; without one, an embedded PGlite database in `dataDir` ("memory://" for a throwaway one). */
  url?: string;
  dataDir?: string;
  /** postgres.js pool size. */
  max?: number;
  /** Apply migrations/ before returning (default true). */
  migrate?: boolean;
}

/**
 * Postgres could not be reached, or refused the bot, when it opened the database: the message names the host and
 * port and the driver's code, never the URL's password, and is shown alone (start-up ends there).
 */
export class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';
}

export async function openDatabase(options: OpenOptions): Promise<Database> {
  const migrate = options.migrate !== false;
  const database = options.url
    ? await openPostgres(options.url, options.max ?? 10, migrate)
    : await openPglite(options.dataDir ?? './data');
  if (migrate) await migrateDatabase(database, options.url);
  return database;
}

/** `check`: query once now, so a wrong URL stops start-up with one line (see below) before any migration runs. */
async function openPostgres(url: string, max: number, check: boolean): Promise<Database> {
  let client: postgres.Sql;
  try {
    client = postgres(url, {
      max,
      onnotice: () => {},
      types: {
        bigint: { to: INT8, from: [INT8], serialize: (v: number) => String(v), parse: (v: string) => Number(v) },
      },
    });
  } catch {
    // The driver's TypeError quotes the whole URL, password and all: none of it is passed on.
    throw new DatabaseUnreachableError(
      'DATABASE_URL is not a valid URL: percent-encode special characters in the password (/ as %2F, @ as %40)',
    );
  }
  const database: Database = {
    db: drizzlePostgres({ client, schema }) as unknown as Db,
    kind: 'postgres',
    ping: async () => void (await client`select 1`),
    close: () => client.end({ timeout: 5 }),
  };
  // The driver connects on the first query: one now, so a wrong URL stops start-up with one line, not a stack.
  if (!check) return database;
  try {
    await database.ping();
  } catch (error) {
    await client.end({ timeout: 0 });
    throw unreachable(error, client.options, client.options.pass);
  }
  return database;
}

/** `select 1` failed on a fresh pool, so it is the connection or the login: where, and the driver's code. */
function unreachable(
  error: unknown,
  { host, port }: { host: string[]; port: number[] },
  password: string | null,
): DatabaseUnreachableError {
  const where = host.map((h, i) => `${h}:${port[i] ?? port[0]}`).join(',');
  const { code = 'no code', message = String(error) } = error as { code?: string; message?: string };
  if (!(error instanceof postgres.PostgresError)) {
    return new DatabaseUnreachableError(
      `Cannot reach the database at ${where} (${code}): check DATABASE_URL, or that Postgres is running there`,
    );
  }
  // The server's message names the user or the database, never the password; scrubbed all the same.
  const said = password ? message.split(password).join('[redacted]') : message;
  return new DatabaseUnreachableError(
    `The database at ${where} refused the bot (${code}: ${said}): check DATABASE_URL`,
  );
}

async function openPglite(dataDir: string): Promise<Database> {
  let client: PGlite;
  try {
    if (!dataDir.startsWith('memory://')) mkdirSync(dataDir, { recursive: true });
    client = await PGlite.create(dataDir, {
      parsers: { [INT8]: (v: string) => Number(v) },
      serializers: { [INT8]: (v: unknown) => String(v) },
    });
  } catch (error) {
    // A folder it cannot write, or one an incompatible version made: the message says which (it holds no secret).
    const { code = 'no code', message = String(error) } = error as { code?: string; message?: string };
    throw new DatabaseUnreachableError(
      `Cannot open the embedded database in ${dataDir} (${code}: ${message}): set DATA_DIR to a folder the bot can write, or DATABASE_URL to a Postgres`,
    );
  }
  return {
    db: drizzlePglite({ client, schema }) as unknown as Db,
    kind: 'pglite',
    ping: async () => void (await client.query('select 1')),
    close: () => client.close(),
  };
}

/** Several replicas may start at once: an advisory lock on one connection lets one of them migrate. */
async function migrateDatabase(database: Database, url?: string): Promise<void> {
  if (database.kind === 'pglite') {
    await migratePglite(database.db as never, { migrationsFolder });
    return;
  }
  const client = postgres(url!, { max: 1, onnotice: () => {} });
  try {
    await client`select pg_advisory_lock(7231001)`;
    await migratePostgres(drizzlePostgres({ client }), { migrationsFolder });
  } finally {
    await client.end({ timeout: 5 });
  }
}

/** Runs raw SQL and returns its rows, whichever driver is underneath. */
export async function rows<T = Record<string, unknown>>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as unknown;
  return (Array.isArray(result) ? result : (result as { rows: T[] }).rows) as T[];
}

export { sql };

/**
 * INSERT … RETURNING * of many rows through ONE parameter, a jsonb array, instead of one per value:
 * drizzle builds a multi-row VALUES at about 0.2 ms of CPU per row, which a burst of /kling generate
 * would pay while people wait for their ack. As in drizzle, a value left undefined takes the column's
 * default and an explicit null is NULL (a key missing from a row's object, or present as null). Rows
 * are inserted, and returned, in array order.
 */
export async function insertRows<T extends PgTable>(
  db: Db,
  table: T,
  values: T['$inferInsert'][],
): Promise<T['$inferSelect'][]> {
  if (!values.length) return [];
  const all = Object.entries(getTableColumns(table));
  const field = (v: T['$inferInsert'], key: string) => (v as Record<string, unknown>)[key];
  const columns = all.filter(([key]) => values.some((v) => field(v, key) !== undefined));
  for (const [key, column] of all) {
    if (column.defaultFn && values.some((v) => field(v, key) === undefined))
      throw new Error(`insertRows does not run the JS default of ${key}`);
  }
  // JSON.stringify leaves undefined out, so the key's presence tells a default from an explicit null.
  const json = values.map((v) => Object.fromEntries(columns.map(([key, column]) => [column.name, field(v, key)])));
  const name = (column: PgColumn) => sql.identifier(column.name);
  const valueOf = (column: PgColumn): SQL => {
    if (!column.hasDefault) return sql`r.${name(column)}`;
    const fallback = is(column.default, SQL) ? column.default : sql`${column.default}`;
    return sql`case when j.doc ? ${column.name} then r.${name(column)} else ${fallback} end`;
  };
  const inserted = await rows<Record<string, unknown>>(
    db,
    sql`
    insert into ${table} (${sql.join(
      columns.map(([, c]) => name(c)),
      sql`, `,
    )})
    select ${sql.join(
      columns.map(([, c]) => valueOf(c)),
      sql`, `,
    )}
    from jsonb_array_elements(${JSON.stringify(json)}::jsonb) with ordinality as j(doc, ord)
    cross join lateral jsonb_to_record(j.doc) as r(${sql.join(
      columns.map(([, c]) => sql`${name(c)} ${sql.raw(c.getSQLType())}`),
      sql`, `,
    )})
    order by j.ord
    returning *`,
  );
  return inserted.map(
    (raw) =>
      Object.fromEntries(
        all.map(([key, column]) => [
          key,
          raw[column.name] == null ? null : column.mapFromDriverValue(raw[column.name]),
        ]),
      ) as T['$inferSelect'],
  );
}
