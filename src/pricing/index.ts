import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { PriceCatalog } from './catalog';
import { CatalogFileError, parseCatalogFile } from './schema';

export { PriceCatalog } from './catalog';
export { PricingError } from './errors';
export { MAX_PROMPT_CHARS, promptLength } from './request';
export { CatalogFileError, catalogFileSchema } from './schema';
export {
  isStandardEndpoint,
  type KlingEndpoint,
  type LegacyEndpoint,
  type PricedRequest,
  type Quote,
  type StandardEndpoint,
} from './types';

/** Reads and validates a catalog file (format: `catalogFileSchema` in schema.ts); every failure is one CatalogFileError line naming the file. */
function readCatalogFile(file: string): PriceCatalog {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CatalogFileError(
      `Pricing file ${file}: cannot be read (${code === 'ENOENT' ? 'no such file' : (code ?? 'read error')}).`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CatalogFileError(`Pricing file ${file}: is not valid JSON (${(error as Error).message.split('\n')[0]}).`);
  }
  return new PriceCatalog(parseCatalogFile(json, file));
}

/** The official price list shipped with the bot (Kling's official 2026 list), validated like any PRICING_FILE. */
export const builtInCatalog: PriceCatalog = readCatalogFile(fileURLToPath(new URL('./catalog.json', import.meta.url)));

/** PRICING_FILE replaces the built-in catalog entirely; without one the built-in catalog is used. */
export function loadCatalog(pricingFile?: string): PriceCatalog {
  return pricingFile ? readCatalogFile(pricingFile) : builtInCatalog;
}
