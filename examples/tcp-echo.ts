/**
 * Echo over channels: one TCP connection, one channel per message, every channel echoed by the server.
 *
 *   npx tsx examples/tcp-echo.ts server [--port 7000]                 echo server (Ctrl-C stops it)
 *   npx tsx examples/tcp-echo.ts client --port 7000 [message ...]     one channel per message, all at once
 *   npx tsx examples/tcp-echo.ts [message ...]                        both ends in one process
 *
 * The client opens each channel with the message's index as metadata; the server replies with its own metadata
 * ("echo #<id>"), sends back every byte it reads, and half-closes when the client did. Exits 0 when every echo
 * matched (client), or after a clean shutdown on SIGINT/SIGTERM (server).
 */
import { parseArgs } from 'node:util';
import { lastValueFrom, mergeMap, reduce, type Subscription } from 'rxjs';
import { utf8, type Channel, type Session } from '../src/index.js';
import { connect, listen } from '../src/node.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { port: { type: 'string', default: '0' }, host: { type: 'string', default: '127.0.0.1' } },
});
const mode = positionals[0] === 'server' || positionals[0] === 'client' ? positionals.shift()! : 'both';
const messages = positionals.length > 0 ? positionals : ['hello', 'multiplexed', 'world'];

/** Echo server: every channel sends back what it reads. Resolves with the bound port. */
function startServer(port: number): Promise<{ port: number; stop: () => void }> {
  return new Promise((resolve, reject) => {
    const server: Subscription = listen({
      port,
      host: values.host,
      onListening: (a) => resolve({ port: a.port, stop: () => server.unsubscribe() }),
    })
      .pipe(mergeMap((session: Session) => session.incoming$))
      .subscribe({
        next: (request) => {
          const channel = request.accept({ meta: `echo #${request.id}` });
          // A channel is an AsyncIterable of its inbound bytes: send() pulls it only while there is room to send,
          // and half-closes once the client's FIN ended it.
          channel.send(channel).subscribe({ error: (e: Error) => console.error(`server: channel ${channel.id}: ${e.message}`) });
          channel.closed$.subscribe(({ error }) =>
            console.log(
              `server: channel ${channel.id} "${utf8(request.meta)}" echoed ${channel.stats().bytesOut} bytes${error ? ` (${error.code})` : ''}`,
            ),
          );
        },
        error: (e: Error) => reject(e),
      });
  });
}

/** Sends one message on its own channel and returns what came back. */
async function echo(session: Session, index: number, message: string): Promise<string> {
  const channel: Channel = await lastValueFrom(session.open({ meta: `message ${index}` }));
  const reply = lastValueFrom(channel.incoming$.pipe(reduce((text, bytes) => text + utf8(bytes), '')));
  await channel.write(message);
  channel.end();
  const back = await reply;
  console.log(`client: channel ${channel.id} (server said "${utf8(channel.replyMeta)}") sent "${message}", got back "${back}"`);
  return back;
}

async function runClient(port: number): Promise<boolean> {
  // connect() emits the session once connected; the subscription is the session's lifetime.
  const session = await new Promise<Session>((resolve, reject) =>
    connect({ port, host: values.host }).subscribe({ next: resolve, error: reject }),
  );
  const replies = await Promise.all(messages.map((m, i) => echo(session, i + 1, m)));
  const rtt = await lastValueFrom(session.ping());
  const ok = replies.every((r, i) => r === messages[i]);
  const { bytesOut, bytesIn } = session.stats();
  await session.close();
  console.log(`client: ${messages.length} channels over one connection, ${bytesOut} bytes out, ${bytesIn} in, ping ${rtt} ms`);
  console.log(ok ? 'client: all echoes matched' : 'client: MISMATCH');
  return ok;
}

async function main(): Promise<number> {
  if (mode === 'client') return (await runClient(Number(values.port))) ? 0 : 1;
  const server = await startServer(mode === 'server' ? Number(values.port) : 0);
  console.log(`server: echo server listening on ${values.host}:${server.port}`);
  if (mode === 'both') {
    const ok = await runClient(server.port);
    server.stop();
    return ok ? 0 : 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  server.stop(); // stops listening and closes every session gracefully
  console.log('server: stopped');
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (e: Error) => {
    console.error(e.message);
    process.exitCode = 1;
  },
);
