// `npm run bench [-- name…]`: runs every test/bench/*.bench.ts (or those whose file name contains a
// given name), one after another so they never compete for the two cores.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => !filters.length || filters.some((name) => f.includes(name)))
  .sort();

if (!benches.length) {
  console.error(
    `no benchmark matches ${filters.join(', ')} (have: ${readdirSync(dir)
      .filter((f) => f.endsWith('.bench.ts'))
      .join(', ')})`,
  );
  process.exit(1);
}

let failed = false;
for (const file of benches) {
  console.log(`\n=== ${file.replace(/\.bench\.ts$/, '')} ===`);
  try {
    const bench = (await import(pathToFileURL(join(dir, file)).href)) as { default: () => Promise<void> };
    await bench.default();
  } catch (error) {
    failed = true;
    console.error(`${file} failed:`, error);
  }
}
process.exit(failed ? 1 : 0);
