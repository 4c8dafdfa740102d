/** Small helpers for the sender loops. */
import type { EventEmitter } from 'node:events';
import { setImmediate as immediate } from 'node:timers/promises';

/** Lets the event loop run (I/O callbacks, IPC) without sleeping. */
export function yieldLoop(): Promise<void> {
  return immediate() as Promise<void>;
}

/** Resolves on `event` or after `ms`; true when the event came. */
export function onceWithin(emitter: EventEmitter, event: string, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (v: boolean): void => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      resolve(v);
    };
    const onEvent = (): void => done(true);
    const timer = setTimeout(() => done(false), ms);
    emitter.on(event, onEvent);
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `burst` until `deadline` (a performance.now() time), calling `tick` at most every 500 ms
 * and letting the event loop run between bursts.
 */
export async function untilDeadline(deadline: number, tick: () => void, burst: () => Promise<void> | void): Promise<void> {
  let lastTick = performance.now();
  for (;;) {
    const now = performance.now();
    if (now >= deadline) return;
    if (now - lastTick > 500) {
      tick();
      lastTick = now;
    }
    await burst();
    await yieldLoop();
  }
}
