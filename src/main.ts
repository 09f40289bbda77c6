import { createBot } from './app';
import { loadConfig, StartupError } from './config';
import { DatabaseUnreachableError } from './db';
import { CatalogFileError } from './pricing';

/** Entry point: parse the environment once, build the bot, stop it cleanly on SIGINT/SIGTERM. */
async function main(): Promise<void> {
  const bot = await createBot(loadConfig());
  await bot.start();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.error(`${signal}: stopping`);
    bot.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  // What the person starting the bot can fix is said in a few lines without a stack; anything else is a crash.
  const told = [StartupError, CatalogFileError, DatabaseUnreachableError].some((known) => error instanceof known);
  if (told) console.error((error as Error).message);
  else console.error(error);
  process.exit(1);
});
