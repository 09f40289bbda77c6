import type { WorkerOptions } from '../../src/generations';

/** The simulator's API key in these tests. */
export const SIM_KEY = 'queue-test-key';

/** Worker timings that keep a test fast; production defaults are seconds. */
export const FAST: Omit<WorkerOptions, 'maxConcurrency' | 'taskTimeoutMinutes'> = {
  pollMs: 10,
  pollMaxMs: 50,
  retryMs: 10,
  retryMaxMs: 50,
  leaseMs: 1_000,
  callbackGapMs: 20,
};
