import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { rows, sql } from '../../src/db';
import { allEnded, request, rig, settlementProblems, states, waitFor, type Rig } from './support';

const ENTRY = fileURLToPath(new URL('./worker-process.ts', import.meta.url));
/** Inside the project, so the bundle's package imports resolve from node_modules. */
const BUNDLE = fileURLToPath(new URL('../../node_modules/.cache/kbb-queue-test/worker-process.mjs', import.meta.url));
const KILLS = 24;

/** Worker processes: a warm standby (modules loaded) is kept ahead, so a restart costs only its start-up. */
function processes(r: Rig) {
  const warm = (): Promise<ChildProcess> => {
    // Plain node on a bundle: a quarter of the start-up CPU of the TypeScript loader, and one process (the tsx
    // CLI would put the worker in a grandchild that SIGKILL does not reach).
    const child = spawn(process.execPath, [BUNDLE], {
      env: { ...process.env, DATABASE_URL: r.database.url, KLING_URL: r.sim.url },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    return untilLine(child, 'loaded');
  };
  const standby = [warm(), warm()];
  standby.forEach((p) => p.catch(() => {}));
  return {
    standby,
    async start(workerId: string): Promise<ChildProcess> {
      const child = await standby.shift()!;
      const next = warm();
      next.catch(() => {});
      standby.push(next);
      child.stdin!.write(`${workerId}\n`);
      return untilLine(child, 'ready');
    },
  };
}

function untilLine(child: ChildProcess, line: string): Promise<ChildProcess> {
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    child.stdout!.on('data', (d) => String(d).includes(line) && resolve(child));
    child.on('exit', (code, signal) =>
      reject(new Error(`worker process exited (${code ?? signal}) before "${line}": ${err.slice(-500)}`)),
    );
  });
}

function kill(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe('kill -9', () => {
  it(`worker processes killed ${KILLS} times at random moments: every job ends once, no duplicate Kling task, the ledger holds`, async () => {
    const r = await rig({ sim: { concurrency: 50, failRate: 0.1, timings: { queuedMs: 20, processingMs: 60 } } });
    const live: ChildProcess[] = [];
    let workers: ReturnType<typeof processes> | undefined;
    let enqueued = 0;
    const enqueue = async (n: number) => {
      const res = await r.queue.enqueue(Array.from({ length: n }, (_, i) => request(`U${(enqueued + i) % 6}`)));
      if (!res.ok) throw new Error('not queued');
      enqueued += n;
    };
    try {
      await build({
        entryPoints: [ENTRY],
        outfile: BUNDLE,
        bundle: true,
        platform: 'node',
        format: 'esm',
        packages: 'external',
        logLevel: 'warning',
      });
      await enqueue(30);
      workers = processes(r);
      live.push(await workers.start('a'), await workers.start('b'));
      let fresh = 0;
      let midFlight = 0;
      for (let kills = 0; kills < KILLS; kills++) {
        await enqueue(5);
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 400));
        const victim = Math.floor(Math.random() * live.length);
        if (
          (
            await rows(
              r.database.db,
              sql`select 1 from generations where state in ('submitting', 'submitted', 'processing') limit 1`,
            )
          ).length
        )
          midFlight += 1;
        await kill(live[victim]!);
        // Half the restarts come back under the same id (takes its jobs back at once), half as a new replica
        // (the dead one's jobs wait out their lease and are recovered by whichever worker claims them).
        const id = Math.random() < 0.5 ? (victim === 0 ? 'a' : 'b') : `fresh-${fresh++}`;
        live[victim] = await workers.start(id);
      }
      await waitFor('every job to end', () => allEnded(r.database.db), 60_000);
      expect(midFlight).toBeGreaterThanOrEqual(KILLS / 4); // most kills hit a worker with Kling tasks in hand

      const byState = await states(r.database.db);
      expect((byState.succeeded ?? 0) + (byState.failed ?? 0)).toBe(enqueued);
      expect(byState.failed).toBeGreaterThan(0); // the simulator's failRate: failed tasks were released
      // One Kling task per job, never two; and the concurrency limit held across every process.
      const tasks = r.sim.tasks();
      const perJob = new Map<string, number>();
      for (const t of tasks) perJob.set(t.externalTaskId!, (perJob.get(t.externalTaskId!) ?? 0) + 1);
      expect([...perJob.values()].filter((n) => n > 1)).toEqual([]);
      expect(perJob.size).toBe(enqueued);
      expect(r.sim.inFlightPeak()).toBeLessThanOrEqual(3);
      // Each job's end matches its task's end at Kling.
      const ended = await rows<{ id: string; state: string }>(r.database.db, sql`select id, state from generations`);
      const kling = new Map(tasks.map((t) => [t.externalTaskId!, t.status]));
      for (const job of ended)
        expect(`${job.id} ${job.state}`).toBe(`${job.id} ${kling.get(job.id) === 'succeed' ? 'succeeded' : 'failed'}`);
      // Every hold settled exactly once, the way its job ended.
      expect(await settlementProblems(r.database.db)).toEqual([]);
    } finally {
      await Promise.all(live.map(kill));
      await Promise.all(workers?.standby.map((p) => p.then(kill, () => {})) ?? []);
      await r.close();
    }
  }, 240_000);
});
