import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * The direction of the code, checked on every run: Slack is the outermost layer, and the ledger's tables belong to
 * src/budget/ alone. Files are parsed with the TypeScript compiler, so comments and prose never count.
 */

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SRC = join(root, 'src');

/** Who may import src/slack/: Slack itself, the composition root, and the offline tools. */
const MAY_IMPORT_SLACK = ['src/slack/', 'src/app.ts', 'src/main.ts', 'src/dev/'];

/** The ledger's tables: their SQL names and the drizzle objects src/budget/schema.ts defines for them. */
const LEDGER_TABLES = ['budgets', 'budget_periods', 'holds', 'ledger_entries', 'budget_alerts', 'budget_raises'];
const LEDGER_SCHEMA_OBJECTS = new Set([
  'budgets',
  'budgetPeriods',
  'holds',
  'ledgerEntries',
  'budgetAlerts',
  'budgetRaises',
]);
/** Where those tables may be named: the ledger alone (its table definitions and plpgsql included). */
const MAY_TOUCH_LEDGER = ['src/budget/'];

/** A ledger table named where SQL names a table: FROM holds, JOIN "budgets", INSERT INTO ledger_entries, … */
const LEDGER_SQL = new RegExp(
  `\\b(from|join|into|update|table|truncate|references|on)\\s+(only\\s+)?("?public"?\\.)?"?(${LEDGER_TABLES.join('|')})"?(?![\\w(])`,
  'i',
);

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

const repoPath = (file: string) => relative(root, file).split('\\').join('/');
const sourceFiles = filesUnder(SRC).filter((f) => f.endsWith('.ts') || f.endsWith('.sql'));
const tsFiles = sourceFiles.filter((f) => f.endsWith('.ts'));
const parsed = new Map(
  tsFiles.map((f) => [f, ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest)]),
);

/** The repository path a relative import names (extensionless or /index, as the bundler resolves it). */
function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined;
  const base = resolve(dirname(from), specifier);
  for (const candidate of [base, `${base}.ts`, join(base, 'index.ts')]) {
    if (candidate.endsWith('.ts') && parsed.has(candidate)) return repoPath(candidate);
  }
  return repoPath(base);
}

interface Import {
  target: string;
  names: { imported: string; local: string }[];
  namespace?: string;
}

function importsOf(file: string, source = parsed.get(file)!): Import[] {
  const found: Import[] = [];
  const visit = (node: ts.Node) => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier) {
      const target = resolveImport(file, (node.moduleSpecifier as ts.StringLiteral).text);
      if (target) {
        const entry: Import = { target, names: [] };
        const bindings = ts.isImportDeclaration(node) ? node.importClause?.namedBindings : node.exportClause;
        if (bindings && ts.isNamespaceImport(bindings)) entry.namespace = bindings.name.text;
        if (bindings && (ts.isNamedImports(bindings) || ts.isNamedExports(bindings))) {
          for (const e of bindings.elements)
            entry.names.push({ imported: (e.propertyName ?? e.name).text, local: e.name.text });
        }
        found.push(entry);
      }
    } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      const target = arg && ts.isStringLiteralLike(arg) ? resolveImport(file, arg.text) : undefined;
      if (target) found.push({ target, names: [] });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Why a file touches the ledger's tables (empty when it does not). */
function ledgerTouches(file: string, text = readFileSync(file, 'utf8')): string[] {
  if (file.endsWith('.sql')) {
    return text
      .split('\n')
      .filter((line) => !line.trim().startsWith('--') && LEDGER_SQL.test(line))
      .map((line) => `SQL: ${line.trim().slice(0, 100)}`);
  }
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest);
  const reasons: string[] = [];
  // Names bound to the schema: `import * as s from '../db/schema'`, `import { schema } from '../db'`.
  const schemaNamespaces = new Set<string>();
  for (const i of importsOf(file, source)) {
    const isSchema = i.target.startsWith('src/db/schema') || i.target === 'src/budget/schema.ts';
    if (isSchema && i.namespace) schemaNamespaces.add(i.namespace);
    for (const n of i.names) {
      if (isSchema && LEDGER_SCHEMA_OBJECTS.has(n.imported)) reasons.push(`imports ${n.imported} from ${i.target}`);
      if (i.target === 'src/db/index.ts' && n.imported === 'schema') schemaNamespaces.add(n.local);
    }
  }
  const visit = (node: ts.Node) => {
    if (ts.isPropertyAccessExpression(node) && LEDGER_SCHEMA_OBJECTS.has(node.name.text)) {
      const object = node.expression;
      // schema.holds, or db.query.holds (drizzle's relational queries).
      if (ts.isIdentifier(object) && schemaNamespaces.has(object.text))
        reasons.push(`uses ${object.text}.${node.name.text}`);
      if (ts.isPropertyAccessExpression(object) && object.name.text === 'query')
        reasons.push(`uses query.${node.name.text}`);
    }
    if (ts.isStringLiteralLike(node) || ts.isTemplateLiteralToken(node)) {
      const match = LEDGER_SQL.exec(node.text);
      if (match) reasons.push(`SQL: ${match[0]}`);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return reasons;
}

describe('the direction of imports', () => {
  it('nothing outside src/slack/ imports it, but the composition root and the offline tools', () => {
    const offences = tsFiles
      .filter((f) => !MAY_IMPORT_SLACK.some((allowed) => repoPath(f).startsWith(allowed)))
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => i.target.startsWith('src/slack/'))
          .map((i) => `${repoPath(f)} imports ${i.target}`),
      );
    expect(offences).toEqual([]);
  });

  it('no listener imports another: what they share lives beside them in src/slack/, but payload.ts', () => {
    const listeners = 'src/slack/listeners/';
    const offences = tsFiles
      .filter((f) => repoPath(f).startsWith(listeners) && !repoPath(f).endsWith('/index.ts'))
      .flatMap((f) =>
        importsOf(f)
          .filter((i) => i.target.startsWith(listeners) && i.target !== `${listeners}payload.ts`)
          .map((i) => `${repoPath(f)} imports ${i.target}`),
      );
    expect(offences).toEqual([]);
  });

  it('sees the imports it checks (the composition root imports Slack)', () => {
    const app = tsFiles.find((f) => repoPath(f) === 'src/app.ts')!;
    expect(importsOf(app).some((i) => i.target.startsWith('src/slack/'))).toBe(true);
  });
});

describe("the ledger's tables", () => {
  const outside = sourceFiles.filter((f) => !MAY_TOUCH_LEDGER.some((allowed) => repoPath(f).startsWith(allowed)));
  const touching = new Map(
    outside.map((f) => [repoPath(f), ledgerTouches(f)] as const).filter(([, why]) => why.length > 0),
  );

  it('only src/budget/ reads or writes them', () => {
    expect([...touching].map(([file, why]) => `${file}: ${why.join('; ')}`)).toEqual([]);
  });

  it('recognises each way of touching them', () => {
    const sample = (text: string) => LEDGER_SQL.test(text);
    expect(
      ['select * from holds', 'JOIN "budget_periods" p', 'insert into ledger_entries', 'update budgets set'].every(
        sample,
      ),
    ).toBe(true);
    expect(['the holds are released', 'holds_team_created', 'from holds_archive', 'ledger_reserve('].some(sample)).toBe(
      false,
    );
    const file = join(SRC, 'jobs', 'sample.ts');
    const touches = (code: string) => ledgerTouches(file, code);
    expect(touches("import { holds } from '../db/schema';")).toEqual(['imports holds from src/db/schema/index.ts']);
    expect(touches("import { budgetAlerts as a } from '../budget/schema';")).toHaveLength(1);
    expect(touches("import { schema } from '../db';\nschema.ledgerEntries;")).toEqual(['uses schema.ledgerEntries']);
    expect(touches("import * as s from '../db/schema';\ns.budgetPeriods;")).toEqual(['uses s.budgetPeriods']);
    expect(touches('db.query.budgets.findMany();')).toEqual(['uses query.budgets']);
    expect(touches('await db.execute(sql`delete from holds where id = ` + id);')).toEqual(['SQL: from holds']);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: source text to parse, with a placeholder in its template
    expect(touches('const q = sql`select 1 from x join ${t} on true join ledger_entries e on true`;')).toHaveLength(1);
    expect(
      touches("// reads from holds\nconst note = 'no table here';\nimport { generations } from '../db/schema';"),
    ).toEqual([]);
    // And the real ledger is seen touching them.
    expect(
      filesUnder(join(SRC, 'budget'))
        .filter((f) => f.endsWith('.ts'))
        .flatMap((f) => ledgerTouches(f)),
    ).not.toEqual([]);
  });
});
