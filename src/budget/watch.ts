import type { Logger } from '../log';
import type { Millicredits } from '../money/credits';
import { Ticker } from '../ticker';
import type { Ledger } from './ledger';
import type { SpikeDrivers } from './types';

export interface AlertWatchOptions {
  ledger: Ledger;
  logger: Logger;
  /** Called with each team that has newly claimed alerts, to post them. */
  onClaimed: (teamId: string) => void;
  /** How often to look (default a minute). */
  everyMs?: number;
  /** Spike alerts: SPIKE_FACTOR and SPIKE_MIN_CREDITS, and where to learn what drove a spike (the queue). */
  spikes: {
    defaults: { factor: number; minMc: Millicredits };
    drivers: (teamId: string, generationIds: string[]) => Promise<SpikeDrivers>;
  };
}

/**
 * Claims the alerts that no single request raises: forecasts, from the recent pace of every current
 * period, and spikes, from each person's and channel's day against their usual one. A tick, not the
 * reservation, does it, so a /kling generate ack never waits on it; each claim is a primary key, so any
 * number of replicas may tick at once. A refused request leaves no hold nor entry, so it counts for neither.
 */
export class AlertWatch {
  private readonly ticker: Ticker;

  constructor(private readonly options: AlertWatchOptions) {
    this.ticker = new Ticker(() => this.check(), {
      everyMs: options.everyMs ?? 60_000,
      logger: options.logger,
      failure: 'forecast and spike alerts could not be checked',
    });
  }

  start(): void {
    this.ticker.start();
  }

  stop(): Promise<void> {
    return this.ticker.stop();
  }

  private async check(): Promise<void> {
    const { ledger, spikes } = this.options;
    const teams = new Set(await ledger.claimForecastAlerts());
    for (const spike of await ledger.spikes(spikes.defaults)) {
      const drivers = await spikes.drivers(spike.teamId, await ledger.spikeGenerations(spike));
      if (await ledger.claimSpike(spike, drivers)) teams.add(spike.teamId);
    }
    for (const teamId of teams) this.options.onClaimed(teamId);
  }
}
