/**
 * One process of the `session` section: argv[2] is `{role, watchdogSeconds, ...config}`.
 * Roles: hs-server, hs-client (handshakes/s), rtt-server, rtt-client (echo RTT), idle-server,
 * idle-client (memory per idle session). See child-lib.ts for the request/reply protocol.
 */
import { serve } from './child-lib.js';
import { hsClient, hsServer } from './roles/handshake.js';
import { idleClient, idleServer } from './roles/idle.js';
import { rttClient, rttServer } from './roles/rtt.js';

const cfg = JSON.parse(process.argv[2] ?? '{}') as { role: string; watchdogSeconds: number } & Record<string, unknown>;

const ROLES: Record<string, () => ReturnType<Parameters<typeof serve>[2]>> = {
  'hs-server': () => hsServer(),
  'hs-client': () => hsClient(cfg as unknown as { keys: number }),
  'rtt-server': () => rttServer(cfg as unknown as { peer: string }),
  'rtt-client': () => rttClient(cfg as unknown as { peer: string }),
  'idle-server': () => idleServer(cfg as unknown as { nodes: number }),
  'idle-client': () => idleClient(cfg as unknown as { keys: number }),
};

const role = ROLES[cfg.role];
if (role === undefined) {
  process.stderr.write(`bench session child: unknown role ${cfg.role}\n`);
  process.exit(2);
}
serve(`${cfg.role}${typeof cfg.peer === 'string' ? `/${cfg.peer}` : ''}`, cfg.watchdogSeconds ?? 600, role);
