import { decodeAll, Flag, FrameType, type Frame } from '../../src/frame.js';
import { FairWriter } from '../../src/scheduler/fair-writer.js';
import type { FairWriterOptions, WriterChannel, WriterSink } from '../../src/scheduler/types.js';
import { concatBytes } from '../../src/util/bytes.js';

/** A channel as the writer sees it: a byte queue gated by credit, and an optional FIN after the bytes. */
class FakeChannel implements WriterChannel {
  weight = 1;
  deficit = 0;
  inRing = false;
  slot = -1;
  private queue: Uint8Array[] = [];
  private queued = 0;
  credit: number;
  finPending = false;
  finsSent = 0;

  constructor(
    readonly id: number,
    credit = Infinity,
  ) {
    this.credit = credit;
  }

  push(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.queued += bytes.byteLength;
  }

  end(): void {
    this.finPending = true;
  }

  queuedBytes(): number {
    return this.queued;
  }

  readyBytes(): number {
    return Math.min(this.queued, this.credit);
  }

  finReady(): boolean {
    return this.finPending && this.queued === 0;
  }

  take(n: number, out: Uint8Array[]): void {
    this.consume(n, (chunk) => out.push(chunk));
  }

  copy(n: number, into: Uint8Array, at: number): void {
    let offset = at;
    this.consume(n, (chunk) => {
      into.set(chunk, offset);
      offset += chunk.byteLength;
    });
  }

  finSent(): void {
    this.finPending = false;
    this.finsSent++;
  }

  private consume(n: number, emit: (chunk: Uint8Array) => void): void {
    if (n > this.readyBytes()) throw new Error(`take(${n}) over ${this.readyBytes()} ready bytes`);
    let left = n;
    while (left > 0) {
      const head = this.queue[0]!;
      const k = Math.min(left, head.byteLength);
      emit(head.subarray(0, k));
      if (k === head.byteLength) this.queue.shift();
      else this.queue[0] = head.subarray(k);
      left -= k;
    }
    this.queued -= n;
    this.credit -= n;
  }
}

/** A sink that records every write (copied: the writer may reuse its slab) and reports saturation on demand. */
class FakeSink implements WriterSink {
  writes: Uint8Array[][] = [];
  /** Writes accepted before the sink reports saturation (Infinity: never). */
  room = Infinity;

  write(chunks: readonly Uint8Array[]): boolean {
    this.writes.push(chunks.map((c) => c.slice()));
    this.room--;
    return this.room > 0;
  }

  /** Every frame written so far, decoded. */
  frames(): Frame[] {
    return decodeAll(concatBytes(this.writes.flat()));
  }

  /** Bytes of each sink write. */
  writeSizes(): number[] {
    return this.writes.map((w) => w.reduce((n, c) => n + c.byteLength, 0));
  }
}

function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);
}

/** Data frames as [streamId, length]. */
function dataShape(frames: Frame[]): [number, number][] {
  return frames.filter((fr) => fr.type === 'data').map((fr) => [fr.streamId, fr.type === 'data' ? fr.data.byteLength : 0]);
}

const OPTIONS: FairWriterOptions = { maxFrameSize: 1000, quantum: 100, batchSize: 1 << 20 };

function writer(options: Partial<FairWriterOptions> = {}): { w: FairWriter; sink: FakeSink } {
  const sink = new FakeSink();
  return { w: new FairWriter(sink, { ...OPTIONS, ...options }), sink };
}

/** Data payload bytes the sink got. */
function sentBytes(sink: FakeSink): number {
  return dataShape(sink.frames()).reduce((n, [, len]) => n + len, 0);
}

describe('FairWriter', () => {
  it('a channel that becomes ready with a small frame (an interactive message) goes before the round robin', () => {
    const { w, sink } = writer();
    const bulk = [1, 3].map((id) => new FakeChannel(id));
    for (const ch of bulk) {
      w.activate(ch);
      ch.push(bytes(300, ch.id));
    }
    const chat = new FakeChannel(5);
    chat.push(bytes(64, 5));
    w.activate(chat);
    w.flush();
    expect(dataShape(sink.frames())).toEqual([
      [5, 64],
      [1, 100],
      [3, 100],
      [1, 100],
      [3, 100],
      [1, 100],
      [3, 100],
    ]);
  });

  it('the allowance bounds the data of a batch; control frames and express frames still go', () => {
    let room = 250;
    // As the in-flight bound does: the room left shrinks with what was written.
    const { w, sink } = writer({ allowance: () => room - sentBytes(sink) });
    const bulk = [1, 3].map((id) => new FakeChannel(id));
    for (const ch of bulk) {
      w.activate(ch);
      ch.push(bytes(1000, ch.id));
    }
    w.enqueueControl(FrameType.Ping, Flag.SYN, 0, 9);
    w.flush();
    // 100-byte frames until the batch's data reaches the 250 allowed (the frame that crosses it still goes).
    expect(sink.frames()[0]).toMatchObject({ type: 'ping' });
    expect(dataShape(sink.frames())).toEqual([
      [1, 100],
      [3, 100],
      [1, 100],
    ]);
    room = 300;
    w.enqueueControl(FrameType.Ping, Flag.SYN, 0, 10);
    const chat = new FakeChannel(5);
    chat.push(bytes(10, 5));
    w.activate(chat);
    w.flush();
    expect(sink.frames().slice(-2)).toMatchObject([
      { type: 'ping', opaque: 10 },
      { type: 'data', streamId: 5 },
    ]);
    expect(sentBytes(sink)).toBe(310);
    room = Infinity;
    w.flush();
    expect(sentBytes(sink)).toBe(2010);
  });

  it('beforeWrite: a control frame it queues ends the same sink write as the data before it', () => {
    const seen: number[] = [];
    const { w, sink } = writer({
      beforeWrite: (after) => {
        seen.push(after);
        if (seen.length === 1) w.enqueueControl(FrameType.Ping, Flag.SYN, 0, 100);
      },
    });
    const ch = new FakeChannel(1);
    ch.push(bytes(50, 1));
    w.activate(ch);
    w.flush();
    expect(sink.writes).toHaveLength(1);
    expect(sink.frames()).toMatchObject([
      { type: 'data', streamId: 1 },
      { type: 'ping', opaque: 100 },
    ]);
    // Told the bytes out once the data is written (12 + 50), not counting the frame it queues.
    expect(seen[0]).toBe(62);
  });

  it('beforeWrite runs even when the allowance lets no data go, so the probe that releases it can be written', () => {
    let probes = 0;
    const { w, sink } = writer({
      allowance: () => 0,
      beforeWrite: () => {
        if (probes === 0) w.enqueueControl(FrameType.Ping, Flag.SYN, 0, 100 + probes++);
      },
    });
    const ch = new FakeChannel(1);
    w.activate(ch);
    ch.push(bytes(500, 1));
    w.flush();
    expect(sink.frames()).toEqual([{ type: 'ping', streamId: 0, flags: Flag.SYN, opaque: 100 }]);
    expect(ch.queuedBytes()).toBe(500);
  });

  it('writes control frames before data', () => {
    const { w, sink } = writer();
    const ch = new FakeChannel(1);
    ch.push(bytes(50, 1));
    w.activate(ch);
    w.enqueueControl(FrameType.WindowUpdate, Flag.ACK, 3, 4096);
    w.enqueueControl(FrameType.Ping, Flag.SYN, 0, 7);
    w.flush();
    expect(sink.frames()).toEqual([
      { type: 'window-update', streamId: 3, flags: Flag.ACK, delta: 4096 },
      { type: 'ping', streamId: 0, flags: Flag.SYN, opaque: 7 },
      { type: 'data', streamId: 1, flags: 0, data: bytes(50, 1) },
    ]);
  });

  it('deficit round-robin: one quantum per channel per round', () => {
    const { w, sink } = writer();
    const channels = [1, 3, 5].map((id) => new FakeChannel(id));
    for (const ch of channels) {
      // Activated before its bytes are queued: a bulk channel (no express frame), see the express test below.
      w.activate(ch);
      ch.push(bytes(250, ch.id));
    }
    w.flush();
    expect(dataShape(sink.frames())).toEqual([
      [1, 100],
      [3, 100],
      [5, 100],
      [1, 100],
      [3, 100],
      [5, 100],
      [1, 50],
      [3, 50],
      [5, 50],
    ]);
    // Every byte arrives, in order, per channel.
    for (const ch of channels) {
      const got = concatBytes(sink.frames().flatMap((fr) => (fr.type === 'data' && fr.streamId === ch.id ? [fr.data] : [])));
      expect(got).toEqual(bytes(250, ch.id));
    }
  });

  it('weights: a channel of weight 2 gets twice the bytes of one of weight 1 over a span', () => {
    const { w, sink } = writer();
    const heavy = new FakeChannel(1);
    const light = new FakeChannel(3);
    heavy.weight = 2;
    w.activate(heavy);
    w.activate(light);
    heavy.push(bytes(600, 1));
    light.push(bytes(300, 3));
    w.flush();
    // Three rounds: two quanta (one frame of 200) for the heavy channel, one quantum for the light one, each round.
    expect(dataShape(sink.frames())).toEqual([
      [1, 200],
      [3, 100],
      [1, 200],
      [3, 100],
      [1, 200],
      [3, 100],
    ]);
    const sent = (id: number): number => dataShape(sink.frames()).reduce((n, [s, len]) => (s === id ? n + len : n), 0);
    expect(sent(1)).toBe(2 * sent(3));
  });

  it('a channel alone sends frames up to maxFrameSize, and frames never exceed it', () => {
    const { w, sink } = writer();
    const ch = new FakeChannel(1);
    ch.push(bytes(2500, 1));
    w.activate(ch);
    w.flush();
    expect(dataShape(sink.frames())).toEqual([
      [1, 1000],
      [1, 1000],
      [1, 500],
    ]);
  });

  it('frames never exceed maxFrameSize, even with a quantum above it', () => {
    const { w, sink } = writer({ maxFrameSize: 64, quantum: 500 });
    const a = new FakeChannel(1);
    const b = new FakeChannel(3);
    w.activate(a);
    w.activate(b);
    a.push(bytes(700, 1));
    b.push(bytes(300, 3));
    w.flush();
    const shape = dataShape(sink.frames());
    expect(Math.max(...shape.map(([, n]) => n))).toBe(64);
    expect(shape.reduce((n, [, len]) => n + len, 0)).toBe(1000);
  });

  it('a small frame of a newly ready channel still respects a maxFrameSize below the express size', () => {
    const { w, sink } = writer({ maxFrameSize: 64, quantum: 64 });
    const chat = new FakeChannel(5);
    chat.push(bytes(200, 5));
    w.activate(chat);
    w.flush();
    expect(dataShape(sink.frames())).toEqual([
      [5, 64],
      [5, 64],
      [5, 64],
      [5, 8],
    ]);
    expect(concatBytes(sink.frames().flatMap((fr) => (fr.type === 'data' ? [fr.data] : [])))).toEqual(bytes(200, 5));
  });

  it('the FIN goes in a frame of its own, after all of the channel’s bytes', () => {
    const { w, sink } = writer();
    const ch = new FakeChannel(1);
    ch.push(bytes(1500, 1));
    ch.end();
    w.activate(ch);
    w.flush();
    const frames = sink.frames();
    expect(
      frames.map((fr) => (fr.type === 'data' ? `data ${fr.data.byteLength} flags ${fr.flags}` : `${fr.type} flags ${fr.flags}`)),
    ).toEqual(['data 1000 flags 0', 'data 500 flags 0', `window-update flags ${Flag.FIN}`]);
    expect(frames[2]).toEqual({ type: 'window-update', streamId: 1, flags: Flag.FIN, delta: 0 });
    expect(ch.finsSent).toBe(1);
    expect(ch.inRing).toBe(false);
  });

  it('credit gates the bytes: only what the peer allows goes, the rest after more credit', () => {
    const { w, sink } = writer();
    const ch = new FakeChannel(1, 300);
    ch.push(bytes(500, 1));
    w.activate(ch);
    w.flush();
    expect(dataShape(sink.frames())).toEqual([[1, 300]]);
    ch.credit += 200;
    w.activate(ch);
    w.flush();
    expect(dataShape(sink.frames())).toEqual([
      [1, 300],
      [1, 200],
    ]);
  });

  it('stop() writes nothing more: queued control frames, channels and later enqueues are dropped', () => {
    const { w, sink } = writer();
    const ch = new FakeChannel(1);
    ch.push(bytes(100, 1));
    w.activate(ch);
    w.enqueueControl(FrameType.Ping, Flag.SYN, 0, 1);
    w.stop();
    w.enqueueControl(FrameType.Ping, Flag.SYN, 0, 2);
    w.activate(ch);
    w.flush();
    w.drained();
    expect(sink.writes).toEqual([]);
    expect(w.controlQueued).toBe(0);
    expect(ch.inRing).toBe(false);
  });

  it('saturation stops the writer; drained() resumes it where it left off', () => {
    const { w, sink } = writer({ batchSize: 200, maxFrameSize: 100 });
    const ch = new FakeChannel(1);
    ch.push(bytes(1000, 1));
    w.activate(ch);
    sink.room = 1;
    w.flush();
    expect(sink.writes).toHaveLength(1);
    expect(w.isSaturated).toBe(true);
    w.flush(); // still saturated: nothing
    expect(sink.writes).toHaveLength(1);
    sink.room = Infinity;
    w.drained();
    expect(w.isSaturated).toBe(false);
    const got = concatBytes(sink.frames().flatMap((fr) => (fr.type === 'data' ? [fr.data] : [])));
    expect(got).toEqual(bytes(1000, 1));
  });

  it('batches respect batchSize: each sink write gathers frames up to it (a single frame may exceed it)', () => {
    const { w, sink } = writer({ batchSize: 250, maxFrameSize: 100, quantum: 100 });
    const a = new FakeChannel(1);
    const b = new FakeChannel(3);
    w.activate(a);
    w.activate(b);
    a.push(bytes(400, 1));
    b.push(bytes(400, 3));
    w.flush();
    const sizes = sink.writeSizes();
    // Frames of 12 + 100 bytes: a write closes once it reaches 250 bytes, so it holds 3 frames (336 bytes) at most.
    expect(sizes.every((n) => n <= 250 + 112)).toBe(true);
    expect(sizes.length).toBeGreaterThan(1);
    expect(sizes.reduce((n, s) => n + s, 0)).toBe(8 * 112);

    const big = writer({ batchSize: 10, maxFrameSize: 1000 });
    const c = new FakeChannel(5);
    c.push(bytes(1000, 5));
    big.w.activate(c);
    big.w.flush();
    expect(big.sink.writeSizes()).toEqual([1012]);
  });

  it('counts bytesOut and framesOut', () => {
    const { w, sink } = writer();
    const ch = new FakeChannel(1);
    ch.push(bytes(1500, 1));
    ch.end();
    w.activate(ch);
    w.enqueueControl(FrameType.Ping, Flag.SYN, 0, 9);
    w.flush();
    expect(sink.frames()).toHaveLength(4);
    expect(w.framesOut).toBe(4);
    expect(w.bytesOut).toBe(4 * 12 + 1500);
    expect(w.bytesOut).toBe(sink.writeSizes().reduce((n, s) => n + s, 0));
  });
});
