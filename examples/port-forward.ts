/**
 * Port forwarding over one multiplexed connection: every local TCP connection becomes a channel, and the remote
 * side dials the target for it (like `ssh -L`, with rxmux instead of SSH).
 *
 *   npx tsx examples/port-forward.ts remote [--port 7100] [--allow host:port,...]
 *   npx tsx examples/port-forward.ts local --via 127.0.0.1:7100 --to 127.0.0.1:5432 [--listen 7200]
 *
 *   local clients ──tcp──▶ local :7200 ══ one rxmux connection ══▶ remote :7100 ──tcp──▶ target 127.0.0.1:5432
 *
 * `local` keeps one connection to `remote` and opens a channel per accepted client, with the target as metadata.
 * `remote` dials the target, accepts the channel once connected (or rejects it with the reason, and the local
 * client is closed), then pipes bytes both ways. Half-closes travel end to end (FIN ↔ channel end). `remote`
 * only dials targets named by `--allow` (default: any port on 127.0.0.1 / localhost / ::1). Both print one line
 * per forwarded connection and stop cleanly on SIGINT/SIGTERM.
 */
import { connect as tcpConnect, createServer, type Socket } from 'node:net';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { lastValueFrom, mergeMap, type Subscription } from 'rxjs';
import { utf8, type Channel, type IncomingChannel, type Session } from '../src/index.js';
import { connect, listen, toDuplex } from '../src/node.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string', default: '0' },
    listen: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    via: { type: 'string' },
    to: { type: 'string' },
    allow: { type: 'string' },
  },
});

function hostPort(text: string | undefined, flag: string): { host: string; port: number } {
  const m = text ? /^\[?([^\]]*)\]?:(\d+)$/.exec(text) : null;
  if (!m) throw new Error(`${flag} expects host:port, got ${String(text)}`);
  return { host: m[1]!, port: Number(m[2]) };
}

/**
 * Pipes a TCP socket and a channel into each other; resolves when both directions are done.
 * Two pipelines, one per direction: `pipeline(socket, duplex, socket)` would destroy the Duplex as soon as the
 * socket's side is done, while bytes for the channel may still wait for the peer's credit (the reset drops them).
 */
async function splice(socket: Socket, channel: Channel): Promise<void> {
  const duplex = toDuplex(channel);
  await Promise.all([pipeline(socket, duplex), pipeline(duplex, socket)]);
  // The last bytes for the peer may still wait for its credit: done means the channel closed both ways.
  const { error } = await lastValueFrom(channel.closed$);
  if (error) throw error;
}

/** Resolves on SIGINT or SIGTERM. */
function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}

// ------------------------------------------------------------------------------------------------ remote side

function allowed(target: { host: string; port: number }): boolean {
  if (values.allow) return values.allow.split(',').some((a) => a.trim() === `${target.host}:${target.port}`);
  return ['127.0.0.1', 'localhost', '::1'].includes(target.host);
}

/** Dials the target for one channel request; accepts it once connected, rejects it with the reason otherwise. */
async function forwardRemote(request: IncomingChannel, n: number): Promise<void> {
  const meta = utf8(request.meta);
  let target: { host: string; port: number };
  try {
    target = hostPort(meta, 'channel metadata');
  } catch {
    request.reject('metadata must be host:port', 400);
    return;
  }
  if (!allowed(target)) {
    console.log(`remote: #${n} refused ${meta} (not allowed)`);
    request.reject(`target ${meta} is not allowed`, 403);
    return;
  }
  const socket = tcpConnect({ ...target, allowHalfOpen: true });
  try {
    await once(socket, 'connect');
  } catch (e) {
    console.log(`remote: #${n} ${meta} unreachable: ${(e as Error).message}`);
    request.reject(`cannot reach ${meta}: ${(e as Error).message}`, 502);
    return;
  }
  const channel = request.accept();
  try {
    await splice(socket, channel);
    console.log(`remote: #${n} channel ${channel.id} → ${meta} done (${channel.stats().bytesIn} B in, ${channel.stats().bytesOut} B out)`);
  } catch (e) {
    console.log(`remote: #${n} channel ${channel.id} → ${meta} failed: ${(e as Error).message}`);
  }
}

async function runRemote(): Promise<void> {
  let forwarded = 0;
  const port = await new Promise<number>((resolve, reject) => {
    const sub: Subscription = listen({ port: Number(values.port), host: values.host, onListening: (a) => resolve(a.port) })
      .pipe(
        mergeMap((session: Session) => {
          console.log('remote: mux connection accepted');
          return session.incoming$;
        }),
      )
      .subscribe({ next: (request) => void forwardRemote(request, ++forwarded), error: reject });
    void stopSignal().then(() => {
      sub.unsubscribe(); // stops listening, closes every session gracefully
      console.log(`remote: stopped after ${forwarded} channels`);
    });
  });
  console.log(`remote: listening for mux connections on ${values.host}:${port}`);
}

// ------------------------------------------------------------------------------------------------ local side

async function runLocal(): Promise<void> {
  const via = hostPort(values.via, '--via');
  const to = values.to ?? '';
  hostPort(to, '--to');
  // One multiplexed connection for every client. connect() emits the session once connected.
  const session = await new Promise<Session>((resolve, reject) => connect(via).subscribe({ next: resolve, error: reject }));
  let clients = 0;
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    const n = ++clients;
    socket.pause(); // keep the client's first bytes until the channel is accepted
    lastValueFrom(session.open({ meta: to })).then(
      async (channel) => {
        try {
          await splice(socket, channel);
          console.log(
            `local: #${n} channel ${channel.id} done (${channel.stats().bytesOut} B sent, ${channel.stats().bytesIn} B received)`,
          );
        } catch (e) {
          console.log(`local: #${n} channel ${channel.id} failed: ${(e as Error).message}`);
        }
      },
      (e: Error) => {
        console.log(`local: #${n} refused: ${e.message}`);
        socket.destroy();
      },
    );
  });
  server.listen(Number(values.listen), values.host);
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  console.log(`local: forwarding ${values.host}:${port} → ${to} via ${via.host}:${via.port}`);
  session.closed$.subscribe(({ error }) => {
    if (error) console.log(`local: the mux connection failed: ${error.message}`);
    server.close();
  });
  await stopSignal();
  server.close();
  await session.close();
  console.log(`local: stopped after ${clients} connections`);
}

const mode = positionals[0];
const run = mode === 'remote' ? runRemote : mode === 'local' ? runLocal : undefined;
if (!run) {
  console.error('usage: port-forward.ts remote [--port N] [--allow host:port,...] | local --via host:port --to host:port [--listen N]');
  process.exitCode = 2;
} else {
  run().catch((e: Error) => {
    console.error(`${mode}: ${e.message}`);
    process.exitCode = 1;
  });
}
