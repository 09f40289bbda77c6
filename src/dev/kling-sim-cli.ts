import { parseArgs } from 'node:util';
import { DEMO_KLING_KEYS, startKlingSimulator } from './kling-sim';

/** `npm run kling-sim -- --port 8790`: a Kling stand-in for the offline demo, at human speed. */
const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8790' },
    concurrency: { type: 'string', default: '5' },
    balance: { type: 'string', default: '1000' },
    'queued-ms': { type: 'string', default: '2000' },
    'processing-ms': { type: 'string', default: '8000' },
    'fail-rate': { type: 'string', default: '0' },
    'webhook-secret': { type: 'string' },
  },
});

const number = (name: keyof typeof values): number => {
  const value = Number(values[name]);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`kling-sim: --${name} must be a non-negative number`);
    process.exit(1);
  }
  return value;
};

const sim = await startKlingSimulator({
  port: number('port'),
  concurrency: number('concurrency'),
  balance: number('balance'),
  timings: { queuedMs: number('queued-ms'), processingMs: number('processing-ms') },
  failRate: number('fail-rate'),
  webhookSecret: values['webhook-secret'],
  ...DEMO_KLING_KEYS,
});

// Demo keys only: they open nothing but this local simulator.
console.log(`Kling simulator listening on ${sim.url}
  KLING_API_BASE_URL=${sim.url}
  KLING_API_KEY=${DEMO_KLING_KEYS.apiKey}
  (or KLING_ACCESS_KEY=${DEMO_KLING_KEYS.accessKey} KLING_SECRET_KEY=${DEMO_KLING_KEYS.secretKey})`);

const stop = async () => {
  await sim.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
