// A test network for resumption in virtual time: in-memory connections (memoryPair) that can be cut at a byte
// offset of either direction, a server side that routes each new connection through a ResumeRegistry, and clients
// whose `resume.reconnect` dials a new connection.
import { Observable, type SchedulerLike, type Subscription } from 'rxjs';
import { type Carrier, createSession, type MemoryCarrier, ResumeRegistry, type Session, type SessionOptions } from '../../src/index.js';
import { memoryPair } from '../../src/testing.js';

/** One end of a connection that can be cut: its outgoing bytes stop at `cutAfter` (the peer sees an end there). */
export class CutCarrier implements Carrier {
  readonly incoming$: Observable<Uint8Array>;
  readonly drain$: Observable<void>;
  /** Bytes accepted by write (all of them, the session's frames and the resumption layer's). */
  written = 0;
  /** The outgoing stream is cut once this many bytes were written (the rest of that write is lost). */
  cutAfter = Number.POSITIVE_INFINITY;
  isCut = false;
  /** Copies of what went out, in order (for tests that read the wire). */
  readonly log: Uint8Array[] = [];
  private sub: Subscription | undefined;

  constructor(
    readonly end_: MemoryCarrier,
    private readonly onCut: (kind: 'fin' | 'rst') => void,
  ) {
    this.drain$ = end_.drain$;
    this.incoming$ = new Observable<Uint8Array>((subscriber) => {
      this.sub = end_.incoming$.subscribe(subscriber);
      return () => this.sub?.unsubscribe();
    });
  }

  write(chunks: readonly Uint8Array[]): boolean {
    if (this.isCut) return false;
    const out: Uint8Array[] = [];
    for (const c of chunks) {
      const room = this.cutAfter - this.written;
      if (c.byteLength <= room) {
        out.push(c);
        this.log.push(c.slice());
        this.written += c.byteLength;
        continue;
      }
      if (room > 0) {
        out.push(c.subarray(0, room));
        this.log.push(c.slice(0, room));
      }
      this.written += room;
      if (out.length) this.end_.write(out);
      this.cut();
      return false;
    }
    const ok = this.end_.write(out);
    if (this.written >= this.cutAfter) this.cut();
    return ok;
  }

  /**
   * The connection breaks here: nothing more is written. With `fin`, what was written still reaches the peer, which
   * then sees the end; with `rst`, bytes in flight both ways are lost.
   */
  cut(kind: 'fin' | 'rst' = 'fin'): void {
    if (this.isCut) return;
    this.isCut = true;
    if (kind === 'fin') this.end_.end();
    else this.end_.destroy();
    this.onCut(kind);
  }

  end(): void {
    if (!this.isCut) this.end_.end();
  }

  destroy(error?: unknown): void {
    if (!this.isCut) this.end_.destroy(error);
  }
}

/** A connection: its client end and its server end. */
export interface Connection {
  readonly client: CutCarrier;
  readonly server: CutCarrier;
  /** Cuts both ways at once (each side keeps what it already wrote in flight with a FIN, loses it with an RST). */
  cut(kind?: 'fin' | 'rst'): void;
}

/** Options of {@link Net}. */
export interface NetOptions {
  readonly scheduler: SchedulerLike;
  readonly latency?: number;
  readonly chunkSize?: number | { min: number; max: number };
  readonly seed?: number;
  readonly capacity?: number;
}

/** Connections in virtual time, with a server that routes resumes. */
export class Net {
  readonly registry: ResumeRegistry;
  readonly connections: Connection[] = [];
  readonly servers: Session[] = [];
  /** When set, new connections are refused (the dial errors) until this frame of the scheduler. */
  downUntil = -1;
  /** When set, the next connection's client side is cut once it has written this many bytes. */
  cutNextAfter: number | undefined;
  /** Errors of routing new connections (a connection that sent no first frame in time). */
  readonly routeErrors: unknown[] = [];
  private seed: number;

  constructor(
    readonly options: NetOptions,
    private readonly serverOptions: Omit<SessionOptions, 'role'>,
    private readonly onServer: (s: Session) => void,
  ) {
    this.registry = new ResumeRegistry(10_000, options.scheduler);
    this.seed = options.seed ?? 1;
  }

  /** A new connection whose ends are left to the caller (no routing). */
  dialBare(): Connection {
    return this.connect(false);
  }

  /** A new connection; its server end is routed (a Resume goes to its session, anything else makes a new one). */
  dial(): Connection {
    return this.connect(true);
  }

  private connect(route: boolean): Connection {
    const { scheduler, latency = 1, chunkSize, capacity } = this.options;
    const [a, b] = memoryPair({ scheduler, latency, chunkSize, seed: this.seed++, capacity });
    let conn!: Connection;
    const onCut = (kind: 'fin' | 'rst'): void => {
      conn.client.cut(kind);
      conn.server.cut(kind);
    };
    const client = new CutCarrier(a, onCut);
    const server = new CutCarrier(b, onCut);
    conn = {
      client,
      server,
      cut: (kind = 'fin') => client.cut(kind),
    };
    if (this.cutNextAfter !== undefined) {
      client.cutAfter = this.cutNextAfter;
      this.cutNextAfter = undefined;
    }
    this.connections.push(conn);
    if (!route) return conn;
    this.registry.route(server).subscribe({
      next: (r) => {
        if (r.kind !== 'new') return;
        const s = createSession(r.carrier, {
          ...this.serverOptions,
          role: 'server',
          resume: { ...resumeOf(this.serverOptions), registry: this.registry },
        });
        this.servers.push(s);
        this.onServer(s);
      },
      error: (e) => this.routeErrors.push(e),
    });
    return conn;
  }

  /** For `resume.reconnect`: a new connection's client end (an error while the network is down). */
  reconnect = (): Observable<Carrier> =>
    new Observable<Carrier>((subscriber) => {
      if (this.options.scheduler.now() < this.downUntil) subscriber.error(new Error('network down'));
      else {
        const conn = this.dial();
        this.active = conn;
        subscriber.next(conn.client);
        subscriber.complete();
      }
    });

  /** The client's connection now: the last one `reconnect` dialled, or the first one. */
  get current(): Connection {
    return this.active ?? this.connections[0]!;
  }

  private active: Connection | undefined;
}

function resumeOf(o: Omit<SessionOptions, 'role'>): object {
  return typeof o.resume === 'object' ? o.resume : {};
}
