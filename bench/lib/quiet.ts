/**
 * This machine is shared: other processes (builds, test suites) come and go. Before a measurement,
 * wait a bounded time for them to go quiet; the load seen during each run is reported either way.
 */
import { sampleLoad } from './machine.js';
import { note, status } from './progress.js';

/** Other processes' task time, in % of one core, below which the machine counts as quiet. */
export const QUIET_PERCENT = 15;

/** Waits (up to `maxSeconds`) until the machine's task load is below QUIET_PERCENT of a core. */
export async function settle(label: string, maxSeconds: number): Promise<{ waitedSeconds: number; loadPercent: number }> {
  const t0 = Date.now();
  let load = await sampleLoad(500);
  while (load >= QUIET_PERCENT && Date.now() - t0 < maxSeconds * 1000) {
    status(`${label}: waiting for the machine to go quiet (other processes use ${load.toFixed(0)}% of a core)`);
    load = await sampleLoad(500);
  }
  const waited = (Date.now() - t0) / 1000;
  if (load >= QUIET_PERCENT) note(`${label}: machine still busy after ${maxSeconds} s (${load.toFixed(0)}% of a core); running anyway`);
  return { waitedSeconds: waited, loadPercent: load };
}
