import { createBot } from './app';
import { loadConfig, StartupError } from './config';
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
  if (error instanceof StartupError || error instanceof CatalogFileError) console.error(error.message);
  else console.error(error);
  process.exit(1);
});
