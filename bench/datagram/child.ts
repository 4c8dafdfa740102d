/**
 * One side (sender or receiver) of one datagram peer, in its own process. Driven by the parent
 * over IPC:
 *   child → parent  ready {port, index, info}
 *   parent → child  setup {peer address, session index, keys}   → armed
 *   parent → child  start                                        sender: tick…, done {…}
 *   parent → receiver  stop                                      → result {…}
 *   parent → child  exit
 * Any failure is reported as {type:'error'} and ends the process; a watchdog and the loss of the
 * IPC channel end it too, so a child never outlives its parent.
 */
import { PEERS } from './peers/index.js';
import { sleep } from './wait.js';
import { RxCounter, type ChildConfig, type ReceiverSide, type SenderSide, type Setup } from './types.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as ChildConfig;

function send(m: Record<string, unknown>): void {
  if (process.connected) process.send!(m);
}

function fail(e: unknown): never {
  const message = e instanceof Error ? (e.stack ?? e.message) : String(e);
  send({ type: 'error', message });
  process.stderr.write(`bench child ${cfg.peer}/${cfg.role}: ${message}\n`);
  setTimeout(() => process.exit(1), 50);
  throw e;
}

function cpuSince(start: NodeJS.CpuUsage): { userMs: number; systemMs: number } {
  const d = process.cpuUsage(start);
  return { userMs: d.user / 1000, systemMs: d.system / 1000 };
}

// Watchdog: no child lives longer than its run plus a generous margin.
setTimeout(() => {
  process.stderr.write(`bench child ${cfg.peer}/${cfg.role}: watchdog expired\n`);
  process.exit(70);
}, (cfg.seconds + 60) * 1000).unref();
process.on('disconnect', () => process.exit(0));
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

async function main(): Promise<void> {
  const peer = PEERS[cfg.peer];
  if (peer === undefined) throw new Error(`unknown peer ${cfg.peer}`);
  const rx = new RxCounter();
  const side: SenderSide | ReceiverSide = cfg.role === 'sender'
    ? await peer.openSender(cfg)
    : await peer.openReceiver(cfg, rx);
  send({ type: 'ready', port: side.port, index: side.index, info: side.info });

  let cpu0 = process.cpuUsage();
  let t0 = performance.now();
  process.on('message', (m: { type: string } & Record<string, unknown>) => {
    void (async () => {
      switch (m.type) {
        case 'setup':
          side.setup(m as unknown as Setup);
          send({ type: 'armed' });
          break;
        case 'start':
          cpu0 = process.cpuUsage();
          t0 = performance.now();
          if (cfg.role === 'sender') {
            const s = side as SenderSide;
            const r = await s.run(t0 + cfg.seconds * 1000, (sent) => send({ type: 'tick', sent }));
            const sendSeconds = (performance.now() - t0) / 1000;
            await s.flush(2000);
            const cpu = cpuSince(cpu0);
            send({
              type: 'done', ...r, sendSeconds, seconds: (performance.now() - t0) / 1000, cpu, stats: s.stats(),
            });
          }
          break;
        case 'stop': {
          // The sender has finished: let the receiver drain its socket until it is idle for 200 ms.
          const settle = performance.now() + 3000;
          while (performance.now() < settle && performance.now() - rx.lastRx < 200) await sleep(20);
          const now = performance.now();
          const cpu = cpuSince(cpu0);
          send({
            type: 'result',
            distinct: rx.seen.distinct,
            duplicates: rx.seen.duplicates,
            invalid: rx.invalid,
            validBytes: rx.validBytes,
            // From 'start' to the last datagram: the receiver's busy window.
            activeSeconds: rx.lastRx > t0 ? (rx.lastRx - t0) / 1000 : 0,
            seconds: (now - t0) / 1000,
            cpu,
            stats: side.stats(),
          });
          break;
        }
        case 'exit':
          await side.close();
          process.exit(0);
      }
    })().catch(fail);
  });
}

main().catch(fail);
