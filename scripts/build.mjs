// Bundles the bot into dist/main.js so that `npm start` runs plain node: one process, no TypeScript loader.
// Packages stay external (loaded from node_modules as they are: PGlite's wasm, resvg's native binary).
import { readFile } from 'node:fs/promises';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));
const outfile = `${root}dist/main.js`;

// Some modules read files that sit beside their source (migrations/, src/pricing/catalog.json). In the bundle,
// `import.meta.url` would be dist/main.js for all of them; this gives each module its source file's URL, computed
// relative to the bundle, so those reads resolve as they do under tsx and the checkout can move.
const sourceUrls = {
  name: 'source-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async (args) => {
      const text = await readFile(args.path, 'utf8');
      if (!text.includes('import.meta.url')) return undefined;
      const fromBundle = relative(dirname(outfile), args.path).split('\\').join('/');
      const url = `new URL(${JSON.stringify(fromBundle)}, import.meta.url).href`;
      return { contents: text.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

await build({
  entryPoints: [`${root}src/main.ts`],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [sourceUrls],
});
