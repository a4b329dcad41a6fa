/**
 * Decoder failure modes, limits and buffering: protocol violations, header-time size
 * checks, truncation, the spent state after an error, skipping and zero-copy payloads.
 */
import { Observable, from } from 'rxjs';
import { MuxError, isMuxError } from '../../src/errors.js';
import {
  DEFAULT_MAX_FRAME_SIZE,
  Flag,
  type Frame,
  FrameDecoder,
  type FrameHeader,
  decodeAll,
  decodeFrames,
  encodeFrame,
  encodeFrames,
  fromHex,
} from '../../src/frame/index.js';

/** Runs a synchronous chunk source through decodeFrames and reports what came out. */
function collect(source: Observable<Uint8Array>, options?: Parameters<typeof decodeFrames>[0]) {
  const frames: Frame[] = [];
  let error: unknown;
  let completed = false;
  source.pipe(decodeFrames(options)).subscribe({
    next: (f) => frames.push(f),
    error: (e) => (error = e),
    complete: () => (completed = true),
  });
  return { frames, error, completed };
}

function expectProtocolError(e: unknown, message?: RegExp): void {
  expect(e).toBeInstanceOf(MuxError);
  expect((e as MuxError).code).toBe('ERR_MUX_PROTOCOL');
  expect((e as MuxError).wireCode).toBe(1);
  if (message) expect((e as MuxError).message).toMatch(message);
}

const data = (streamId: number, bytes: number[] | Uint8Array, flags = 0): Frame => ({
  type: 'data',
  streamId,
  flags,
  data: Uint8Array.from(bytes),
});

describe('protocol violations', () => {
  const violations: Array<[string, string, RegExp]> = [
    //                                         ver type flags stream    length
    ['version 1', '                            01  00   0000  00000001  00000000', /version 1/],
    ['unknown type 4', '                       00  04   0000  00000001  00000000', /type 4/],
    ['Ping on stream 5', '                     00  02   0001  00000005  00000000', /Ping.*stream 5/],
    ['GoAway on stream 1', '                   00  03   0000  00000001  00000000', /GoAway.*stream 1/],
    ['Data on stream 0', '                     00  00   0000  00000000  00000000', /Data.*stream 0/],
    ['WindowUpdate on stream 0', '             00  01   0000  00000000  00000010', /WindowUpdate.*stream 0/],
    ['Data longer than maxFrameSize (1024)', ' 00  00   0000  00000001  00000401', /1025.*1024/],
  ];

  describe.each(violations)('%s', (_name, hex, message) => {
    const header = fromHex(hex);

    it('FrameDecoder.push throws ERR_MUX_PROTOCOL on the header alone', () => {
      const onFrame = jest.fn();
      const decoder = new FrameDecoder(onFrame, { maxFrameSize: 1024 });
      let thrown: unknown;
      try {
        decoder.push(header);
      } catch (e) {
        thrown = e;
      }
      expectProtocolError(thrown, message);
      expect(onFrame).not.toHaveBeenCalled();
      expect(decoder.bufferedBytes).toBe(0);
    });

    it('decodeFrames errors (down the error channel) after the good frames before it', () => {
      const good = encodeFrame({ type: 'ping', streamId: 0, flags: Flag.SYN, opaque: 1 });
      const result = collect(from([good, header, encodeFrame(data(1, [1]))]), { maxFrameSize: 1024 });
      expect(result.frames).toEqual([{ type: 'ping', streamId: 0, flags: Flag.SYN, opaque: 1 }]);
      expectProtocolError(result.error, message);
      expect(result.completed).toBe(false);
    });

    it('decodeAll throws it', () => {
      expect(() => decodeAll(header, { maxFrameSize: 1024 })).toThrow(MuxError);
    });
  });
});

describe('maxFrameSize is enforced on the header, before any payload is buffered', () => {
  const oversized = fromHex('00 00 0000 00000001 00000401'); // Data, stream 1, 1025 bytes

  it('rejects on the 12 header bytes alone, with nothing buffered', () => {
    const decoder = new FrameDecoder(() => undefined, { maxFrameSize: 1024 });
    expect(() => decoder.push(oversized)).toThrow(MuxError);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('rejects on the push that completes a split header (11 bytes, then the 12th)', () => {
    const decoder = new FrameDecoder(() => undefined, { maxFrameSize: 1024 });
    decoder.push(oversized.subarray(0, 11));
    expect(decoder.bufferedBytes).toBe(11);
    let thrown: unknown;
    try {
      decoder.push(oversized.subarray(11, 12));
    } catch (e) {
      thrown = e;
    }
    expectProtocolError(thrown);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('rejects when header and (partial) payload arrive together, without copying the payload', () => {
    const decoder = new FrameDecoder(() => undefined, { maxFrameSize: 1024 });
    const chunk = new Uint8Array(12 + 500);
    chunk.set(oversized);
    expect(() => decoder.push(chunk)).toThrow(MuxError);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('the default limit is 16 MiB: one byte more is rejected on the header', () => {
    expect(DEFAULT_MAX_FRAME_SIZE).toBe(16 * 1024 * 1024);
    const decoder = new FrameDecoder(() => undefined);
    expect(() => decoder.push(fromHex('00 00 0000 00000001 01000001'))).toThrow(MuxError);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('a payload of exactly maxFrameSize is accepted', () => {
    const frame = data(1, new Uint8Array(1024).fill(7));
    expect(decodeAll(encodeFrame(frame), { maxFrameSize: 1024 })).toEqual([frame]);
  });

  it('the limit applies to Data only: WindowUpdate deltas, Ping opaques and GoAway codes are not lengths', () => {
    const frames: Frame[] = [
      { type: 'window-update', streamId: 1, flags: 0, delta: 0xffffffff },
      { type: 'ping', streamId: 0, flags: Flag.SYN, opaque: 0xffffffff },
      { type: 'go-away', streamId: 0, flags: 0, code: 0xffffffff },
    ];
    expect(decodeAll(encodeFrames(frames), { maxFrameSize: 16 })).toEqual(frames);
  });
});

describe('truncated input', () => {
  const frame = encodeFrame(data(3, [1, 2, 3, 4, 5]));

  it.each([
    ['inside the header', 5],
    ['right after the header', 12],
    ['inside the payload', 14],
  ])('decodeFrames errors when the source completes %s', (_where, cut) => {
    const good = encodeFrame({ type: 'window-update', streamId: 3, flags: 0, delta: 9 });
    const result = collect(from([good, frame.subarray(0, cut)]));
    expect(result.frames).toEqual([{ type: 'window-update', streamId: 3, flags: 0, delta: 9 }]);
    expectProtocolError(result.error, /truncated/);
    expect(result.completed).toBe(false);
  });

  it('decodeFrames errors when the source completes inside a skipped payload', () => {
    const result = collect(from([frame.subarray(0, 14)]), { checkHeader: () => 'skip' });
    expectProtocolError(result.error, /truncated/);
  });

  it('decodeFrames completes when the source completes between frames', () => {
    const result = collect(from([frame, new Uint8Array(0)]));
    expect(result.error).toBeUndefined();
    expect(result.completed).toBe(true);
    expect(result.frames).toHaveLength(1);
  });

  it('decodeAll throws on a partial trailing frame', () => {
    let thrown: unknown;
    try {
      decodeAll(frame.subarray(0, 13));
    } catch (e) {
      thrown = e;
    }
    expectProtocolError(thrown, /truncated/);
  });

  it('a source error passes through unchanged', () => {
    const boom = new Error('carrier failed');
    const result = collect(
      new Observable<Uint8Array>((s) => {
        s.next(frame.subarray(0, 3));
        s.error(boom);
      }),
    );
    expect(result.error).toBe(boom);
  });
});

describe('after an error the decoder is spent', () => {
  it('every later push throws the same error and emits nothing', () => {
    const onFrame = jest.fn();
    const decoder = new FrameDecoder(onFrame);
    let first: unknown;
    try {
      decoder.push(fromHex('01 00 0000 00000001 00000000'));
    } catch (e) {
      first = e;
    }
    expectProtocolError(first);
    const valid = encodeFrame(data(1, [42]));
    expect(() => decoder.push(valid)).toThrow(first as Error);
    expect(() => decoder.push(new Uint8Array(0))).toThrow(first as Error);
    expect(() => decoder.push(valid)).toThrow(first as Error);
    expect(onFrame).not.toHaveBeenCalled();
  });

  it('frames before the violation in the same chunk are still delivered', () => {
    const onFrame = jest.fn();
    const decoder = new FrameDecoder(onFrame);
    const bytes = new Uint8Array([...encodeFrame(data(1, [1])), ...fromHex('00 02 0001 00000005 00000000')]);
    expect(() => decoder.push(bytes)).toThrow(MuxError);
    expect(onFrame).toHaveBeenCalledTimes(1);
  });

  it('an error returned by checkHeader is thrown and also spends the decoder', () => {
    const refusal = new MuxError('ERR_MUX_PROTOCOL', 'stream 9 was never opened', { wireCode: 1 });
    const decoder = new FrameDecoder(() => undefined, {
      checkHeader: (h) => (h.streamId === 9 ? refusal : undefined),
    });
    expect(() => decoder.push(encodeFrame(data(9, [1, 2])))).toThrow(refusal);
    expect(() => decoder.push(encodeFrame(data(1, [1, 2])))).toThrow(refusal);
    expect(isMuxError(refusal, 'ERR_MUX_PROTOCOL')).toBe(true);
  });
});

describe("checkHeader 'skip'", () => {
  it('discards a Data payload without buffering it, byte by byte, and calls onSkip once', () => {
    const seen: Frame[] = [];
    const onSkip = jest.fn<void, [FrameHeader]>();
    const decoder = new FrameDecoder((f) => seen.push(f), {
      checkHeader: (h) => (h.streamId === 3 ? 'skip' : undefined),
      onSkip,
    });
    const skipped = encodeFrame(data(3, new Uint8Array(40).fill(0xee), Flag.FIN));
    const kept = data(5, [9, 8, 7]);
    const bytes = new Uint8Array([...skipped, ...encodeFrame(kept)]);

    const buffered: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      decoder.push(bytes.subarray(i, i + 1));
      buffered.push(decoder.bufferedBytes);
    }
    // Header bytes of the skipped frame are held (1..11, then 0 once the header is complete).
    expect(buffered.slice(0, 12)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0]);
    // The 40 skipped payload bytes are never held.
    expect(buffered.slice(12, 52)).toEqual(new Array(40).fill(0));
    expect(onSkip).toHaveBeenCalledTimes(1);
    expect(onSkip).toHaveBeenCalledWith({ version: 0, type: 0, flags: Flag.FIN, streamId: 3, length: 40 });
    expect(seen).toEqual([kept]);
    expect(decoder.idle).toBe(true);
  });

  it('not idle while a skipped payload is still arriving', () => {
    const decoder = new FrameDecoder(() => undefined, { checkHeader: () => 'skip' });
    const bytes = encodeFrame(data(1, [1, 2, 3]));
    decoder.push(bytes.subarray(0, 13));
    expect(decoder.idle).toBe(false);
    expect(decoder.bufferedBytes).toBe(0);
    decoder.push(bytes.subarray(13));
    expect(decoder.idle).toBe(true);
  });

  it('skipping a frame without payload (WindowUpdate) drops only that frame', () => {
    const seen: Frame[] = [];
    const onSkip = jest.fn();
    const decoder = new FrameDecoder((f) => seen.push(f), {
      checkHeader: (h) => (h.type === 1 ? 'skip' : undefined),
      onSkip,
    });
    const after = data(1, [5]);
    decoder.push(encodeFrames([{ type: 'window-update', streamId: 1, flags: 0, delta: 100 }, after]));
    expect(onSkip).toHaveBeenCalledTimes(1);
    expect(seen).toEqual([after]);
  });

  it('works through decodeFrames too', () => {
    const onSkip = jest.fn();
    const kept = data(5, [1]);
    const result = collect(from([encodeFrames([data(3, [1, 2, 3, 4]), kept])]), {
      checkHeader: (h) => (h.streamId === 3 ? 'skip' : undefined),
      onSkip,
    });
    expect(result.frames).toEqual([kept]);
    expect(result.completed).toBe(true);
    expect(onSkip).toHaveBeenCalledTimes(1);
  });
});

describe('zero-copy payloads', () => {
  function decodeData(chunks: Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    const decoder = new FrameDecoder((f) => {
      if (f.type === 'data') out.push(f.data);
    });
    for (const c of chunks) decoder.push(c);
    return out;
  }

  it('a payload wholly inside one chunk is a view on that chunk', () => {
    const chunk = encodeFrames([data(1, [1, 2, 3]), data(3, [4, 5, 6, 7])]);
    const [a, b] = decodeData([chunk]);
    expect(a!.buffer).toBe(chunk.buffer);
    expect(a!.byteOffset).toBe(chunk.byteOffset + 12);
    expect(Array.from(a!)).toEqual([1, 2, 3]);
    expect(b!.buffer).toBe(chunk.buffer);
    expect(b!.byteOffset).toBe(chunk.byteOffset + 15 + 12);
    expect(Array.from(b!)).toEqual([4, 5, 6, 7]);
  });

  it('a payload is a view on its chunk even when the header came in an earlier chunk', () => {
    const bytes = encodeFrame(data(1, [9, 9, 9, 9, 9]));
    const headerPart = bytes.slice(0, 7);
    const rest = bytes.slice(7); // 5 header bytes, then the whole payload
    const [payload] = decodeData([headerPart, rest]);
    expect(payload!.buffer).toBe(rest.buffer);
    expect(payload!.byteOffset).toBe(5);
  });

  it('a view respects a chunk that is itself a view at an offset in a larger buffer', () => {
    const backing = new Uint8Array(100).fill(0xaa);
    backing.set(encodeFrame(data(7, [1, 2])), 30);
    const chunk = backing.subarray(30, 44);
    const [payload] = decodeData([chunk]);
    expect(payload!.buffer).toBe(backing.buffer);
    expect(payload!.byteOffset).toBe(42);
    expect(Array.from(payload!)).toEqual([1, 2]);
  });

  it('a payload split across chunks is assembled into its own buffer, correctly', () => {
    const payloadBytes = Array.from({ length: 50 }, (_, i) => i);
    const bytes = encodeFrame(data(1, payloadBytes));
    const chunks = [bytes.slice(0, 20), bytes.slice(20, 21), bytes.slice(21, 40), bytes.slice(40)];
    const [payload] = decodeData(chunks);
    expect(Array.from(payload!)).toEqual(payloadBytes);
    for (const c of chunks) expect(payload!.buffer).not.toBe(c.buffer);
    expect(payload!.byteLength).toBe(50);
  });

  it('bufferedBytes counts assembled payload bytes while a split payload is pending', () => {
    const bytes = encodeFrame(data(1, new Uint8Array(10)));
    const decoder = new FrameDecoder(() => undefined);
    decoder.push(bytes.subarray(0, 15));
    expect(decoder.bufferedBytes).toBe(3);
    expect(decoder.idle).toBe(false);
    decoder.push(bytes.subarray(15));
    expect(decoder.bufferedBytes).toBe(0);
    expect(decoder.idle).toBe(true);
  });
});

describe('a peer that does not speak yamux', () => {
  const bytesOf = (text: string) => new TextEncoder().encode(text);

  it.each([
    [
      'an HTTP response',
      'HTTP/1.1 400 Bad Request\r\n\r\n',
      /^the peer does not speak yamux \(first bytes look like HTTP: "HTTP\/1\.1 400", 48 54 54 50/,
    ],
    [
      'an HTTP request',
      'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
      /^the peer does not speak yamux \(first bytes look like HTTP: "GET \/ HTTP\/1"/,
    ],
    ['an SSH banner', 'SSH-2.0-OpenSSH_9.2\r\n', /first bytes look like SSH: "SSH-2\.0-Open"/],
    ['other text', 'hello there, friend', /first bytes look like text: "hello there,"/],
  ])('names what the first bytes look like: %s', (_name, text, message) => {
    const { error, frames } = collect(from([bytesOf(text)]));
    expect(frames).toEqual([]);
    expectProtocolError(error, message);
    expect((error as MuxError).message).toMatch(/unsupported protocol version \d+$/);
  });

  it('recognises a TLS ClientHello and shows unprintable bytes as dots and hex', () => {
    const hello = new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0x9a]);
    const { error } = collect(from([hello]));
    expectProtocolError(
      error,
      /first bytes look like a TLS handshake: "\.\.\.\.\.\.\.\.\.\.\.\.", 16 03 01 02 00 01 00 01 fc 03 03 9a\): unsupported protocol version 22$/,
    );
  });

  it('a bad version after good frames is reported as a stream out of step, with the header bytes', () => {
    const good = encodeFrame({ type: 'ping', streamId: 0, flags: Flag.SYN, opaque: 1 });
    const { error, frames } = collect(from([good, bytesOf('HTTP/1.1 200 OK')]));
    expect(frames).toHaveLength(1);
    expectProtocolError(error, /^unsupported protocol version 72 \(header bytes 48 54 54 50 2f 31 2e 31 20 32 30 30\)$/);
  });
});
