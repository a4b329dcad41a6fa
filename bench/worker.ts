/**
 * One side of one measurement, in its own process (started by bench/run.ts with an IPC channel).
 *
 *   node --expose-gc bench/.build/worker.mjs acceptor <peer> <workload> <params-json>
 *   node --expose-gc bench/.build/worker.mjs opener   <peer> <workload> <params-json> <port>
 *
 * (or `node --expose-gc --import tsx bench/worker.ts ...`). The acceptor listens and sends `ready` with its port;
 * the opener connects, runs the workload and sends `result`. For `idle`, the acceptor sends its `result` once it
 * holds every channel, then the orchestrator sends `measure` to the opener. For `hol`, the acceptor sends its
 * `result` (its CPU time) once it acknowledged every bulk channel. `stop` ends a worker.
 */
import { writeFileSync } from 'node:fs';
import { Session as InspectorSession } from 'node:inspector';
import { join } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';
import type { Figures, OrchestratorMessage, PeerName, WorkerMessage, WorkerParams, WorkloadName } from './common.js';
import { PEER_IMPLS, type Chan, type Overrides } from './peers.js';
import { acceptorHandler, bulk1, bulk64, hol, openClose, openIdle, rtt, settledMemory } from './workloads.js';
import { installPolyfills } from './polyfill.js';

installPolyfills();

const [role, peerName, workload, paramsJson, portArg] = process.argv.slice(2) as [string, PeerName, WorkloadName, string, string?];
const params = JSON.parse(paramsJson) as WorkerParams;
const sizes = params.sizes;
const peer = PEER_IMPLS[peerName];
if (!peer) throw new Error(`unknown peer ${peerName}`);

function send(msg: WorkerMessage): void {
  if (process.send) process.send(msg);
  else console.log(JSON.stringify(msg));
}

let failed = false;
function fail(e: unknown): void {
  if (failed) return;
  failed = true;
  const message =
    e instanceof Error ? `${e.name}: ${e.message}${'code' in e ? ` (${String((e as { code: unknown }).code)})` : ''}` : String(e);
  send({ t: 'error', message: `${role}: ${message}` });
  setTimeout(() => process.exit(1), 100);
}
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

let measureRequested: (() => void) | undefined;
const measureSignal = new Promise<void>((resolve) => (measureRequested = resolve));
process.on('message', (msg: OrchestratorMessage) => {
  if (msg.t === 'stop') void stopProfile().finally(() => process.exit(0));
  if (msg.t === 'measure') measureRequested?.();
});

/**
 * With BENCH_CPU_PROFILE_DIR set (bench/profile.ts), the V8 CPU profiler (what `node --cpu-prof` runs) samples
 * only the workload: the opener from connect to result, the acceptor from listen to stop; startup is left out.
 */
const profileDir = process.env.BENCH_CPU_PROFILE_DIR;
let inspector: InspectorSession | undefined;
function post<T = unknown>(method: string, params?: object): Promise<T> {
  return new Promise((resolve, reject) => inspector!.post(method, params, (e, r) => (e ? reject(e) : resolve(r as T))));
}
async function startProfile(): Promise<void> {
  if (!profileDir || inspector) return;
  inspector = new InspectorSession();
  inspector.connect();
  await post('Profiler.enable');
  await post('Profiler.setSamplingInterval', { interval: 200 });
  await post('Profiler.start');
}
async function stopProfile(): Promise<void> {
  if (!inspector) return;
  const { profile } = await post<{ profile: unknown }>('Profiler.stop');
  writeFileSync(join(profileDir!, `${role}.cpuprofile`), JSON.stringify(profile));
  inspector.disconnect();
  inspector = undefined;
}

/** Channel-side errors (resets while tearing down are not failures once the result is in). */
let resultSent = false;
const onChannelError = (e: unknown): void => {
  if (!resultSent) fail(e);
};

function result(figures: Figures, info?: Record<string, unknown>): void {
  resultSent = true;
  send({ t: 'result', figures, ...(info ? { info } : {}) });
}

/** With BENCH_HEAP_SNAPSHOT_DIR set (bench/profile.ts), idle writes a heap snapshot before and after opening. */
function snapshot(name: string): void {
  const dir = process.env.BENCH_HEAP_SNAPSHOT_DIR;
  if (dir) writeHeapSnapshot(join(dir, `${role}-${name}.heapsnapshot`));
}

const overrides: Overrides = workload === 'idle' ? { openChannels: sizes.idleChannels } : {};

async function acceptor(): Promise<void> {
  await peer.load();
  const base = workload === 'idle' ? await settledMemory() : undefined;
  if (base) snapshot('before');
  let measuring = false;
  const handler = acceptorHandler(
    workload,
    sizes,
    onChannelError,
    (count) => {
      if (count !== sizes.idleChannels || measuring) return;
      measuring = true;
      // Let the last accept's frames go out before measuring.
      setTimeout(() => {
        void settledMemory().then((after) => {
          const n = sizes.idleChannels;
          snapshot('after');
          result({
            acceptorHeap: (after.heap - base!.heap) / n,
            acceptorRss: (after.rss - base!.rss) / n,
            acceptorExternal: (after.external - base!.external) / n,
          });
        }, fail);
      }, 50);
    },
    result,
  );
  const port = await peer.listen(handler, overrides, onChannelError);
  send({ t: 'ready', port });
  await startProfile();
}

async function opener(): Promise<void> {
  await peer.load();
  const side = await peer.connect(Number(portArg), overrides, onChannelError, { producer: params.producer ?? 'await' });
  const timed = async (run: Promise<Figures>): Promise<void> => {
    const figures = await run;
    await stopProfile();
    result(figures);
  };
  if (workload !== 'idle') await startProfile();
  switch (workload) {
    case 'bulk1':
      return timed(bulk1(side, sizes));
    case 'bulk64':
      return timed(bulk64(side, sizes));
    case 'open':
      return timed(openClose(side, sizes));
    case 'rtt':
      return timed(rtt(side, sizes));
    case 'hol':
      return timed(hol(side, sizes));
    case 'idle': {
      const base = await settledMemory();
      snapshot('before');
      const held: Chan[] = [];
      await openIdle(side, sizes, held);
      send({ t: 'opened' });
      await measureSignal;
      const after = await settledMemory();
      const n = held.length;
      snapshot('after');
      return result({
        openerHeap: (after.heap - base.heap) / n,
        openerRss: (after.rss - base.rss) / n,
        openerExternal: (after.external - base.external) / n,
      });
    }
  }
}

(role === 'acceptor' ? acceptor() : opener()).catch(fail);
