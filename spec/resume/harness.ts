// Shared set-up of the resumption specs: a client session and the server sessions of a test network, each channel's
// bytes, completions and errors recorded on both sides.
import type { TestScheduler } from 'rxjs/testing';
import {
  type Channel,
  createSession,
  type MuxError,
  type ResumeOptions,
  type Session,
  type SessionOptions,
  type SessionState,
} from '../../src/index.js';
import { concatBytes } from '../support/bytes.js';
import { type Connection, Net, type NetOptions } from './net.js';

/** What one side saw on each channel. */
export class Record {
  readonly chunks = new Map<number, Uint8Array[]>();
  readonly completes = new Map<number, number>();
  readonly errors = new Map<number, MuxError[]>();
  readonly channels = new Map<number, Channel>();
  /** Bytes received so far on each channel. */
  readonly counts = new Map<number, number>();

  track(ch: Channel): Channel {
    this.channels.set(ch.id, ch);
    this.chunks.set(ch.id, []);
    this.completes.set(ch.id, 0);
    this.errors.set(ch.id, []);
    ch.incoming$.subscribe({
      next: (b) => {
        this.chunks.get(ch.id)!.push(b.slice());
        this.counts.set(ch.id, (this.counts.get(ch.id) ?? 0) + b.byteLength);
      },
      complete: () => this.completes.set(ch.id, this.completes.get(ch.id)! + 1),
      error: (e: MuxError) => this.errors.get(ch.id)!.push(e),
    });
    return ch;
  }

  bytes(id: number): Uint8Array {
    return concatBytes(this.chunks.get(id) ?? []);
  }
}

/** Options of {@link world}. */
interface WorldOptions extends Partial<NetOptions> {
  readonly client?: Omit<SessionOptions, 'role' | 'resume'>;
  readonly clientResume?: ResumeOptions | false;
  readonly server?: Omit<SessionOptions, 'role'>;
  /** What the server does with an incoming open (default: accept and record it). */
  readonly onOpen?: (req: import('../../src/index.js').IncomingChannel, server: Record, session: Session) => void;
}

/** A client, the test network and its server sessions, all on `ts`. Call inside `ts.run`. */
export function world(ts: TestScheduler, o: WorldOptions = {}) {
  const server = new Record();
  const client = new Record();
  const serverStates: SessionState[][] = [];
  const net = new Net(
    { scheduler: ts, latency: o.latency ?? 2, chunkSize: o.chunkSize, seed: o.seed, capacity: o.capacity },
    { keepAlive: false, scheduler: ts, resume: { timeout: 1000 }, ...o.server },
    (s) => {
      const states: SessionState[] = [];
      serverStates.push(states);
      s.state$.subscribe((x) => states.push(x));
      s.incoming$.subscribe({
        next: (req) => (o.onOpen ? o.onOpen(req, server, s) : server.track(req.accept())),
        error: () => undefined,
      });
    },
  );
  const conn: Connection = net.dial();
  const resume = o.clientResume === false ? false : { timeout: 1000, reconnect: net.reconnect, retryDelay: 5, ...o.clientResume };
  const session = createSession(conn.client, { role: 'client', keepAlive: false, scheduler: ts, ...o.client, resume });
  const states: SessionState[] = [];
  session.state$.subscribe((x) => states.push(x));
  const ends: (MuxError | undefined)[] = [];
  session.closed$.subscribe((e) => ends.push(e.error));
  return { net, conn, session, client, server, states, serverStates, ends };
}
