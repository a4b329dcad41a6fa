/**
 * Wire regressions: every expected byte below was written by hand from the yamux spec
 * (version u8, type u8, flags u16 BE, stream id u32 BE, length u32 BE, then the payload).
 * Fields are separated by spaces for reading; `fromHex` ignores them.
 */
import { Flag, type Frame, decodeAll, encodeFrame, encodeFrames, formatFlags, formatFrame, fromHex, toHex } from '../../src/frame/index.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const hex = (h: string): string => h.replace(/\s/g, '');

interface Fixture {
  name: string;
  frame: Frame;
  hex: string;
}

const fixtures: Fixture[] = [
  {
    name: 'Data with payload',
    frame: { type: 'data', streamId: 1, flags: 0, data: bytes('hello') },
    //    ver type flags stream    length    payload "hello"
    hex: '00  00   0000  00000001  00000005  68656c6c6f',
  },
  {
    name: 'Data|SYN (open, no payload)',
    frame: { type: 'data', streamId: 3, flags: Flag.SYN, data: new Uint8Array(0) },
    hex: '00  00   0001  00000003  00000000',
  },
  {
    name: 'Data|SYN with payload',
    frame: { type: 'data', streamId: 5, flags: Flag.SYN, data: new Uint8Array([0xff, 0x00, 0x80]) },
    hex: '00  00   0001  00000005  00000003  ff0080',
  },
  {
    name: 'Data|FIN on a server (even) stream',
    frame: { type: 'data', streamId: 2, flags: Flag.FIN, data: bytes('!') },
    hex: '00  00   0004  00000002  00000001  21',
  },
  {
    name: 'WindowUpdate|SYN with a delta',
    frame: { type: 'window-update', streamId: 1, flags: Flag.SYN, delta: 262144 },
    hex: '00  01   0001  00000001  00040000',
  },
  {
    name: 'WindowUpdate|ACK',
    frame: { type: 'window-update', streamId: 2, flags: Flag.ACK, delta: 0 },
    hex: '00  01   0002  00000002  00000000',
  },
  {
    name: 'WindowUpdate|FIN',
    frame: { type: 'window-update', streamId: 7, flags: Flag.FIN, delta: 0 },
    hex: '00  01   0004  00000007  00000000',
  },
  {
    name: 'WindowUpdate|RST',
    frame: { type: 'window-update', streamId: 9, flags: Flag.RST, delta: 0 },
    hex: '00  01   0008  00000009  00000000',
  },
  {
    name: 'WindowUpdate with the largest u32 delta on the largest stream id',
    frame: { type: 'window-update', streamId: 0xffffffff, flags: 0, delta: 0xffffffff },
    hex: '00  01   0000  ffffffff  ffffffff',
  },
  {
    name: 'WindowUpdate|SYN|ACK with a delta above 2^31',
    frame: { type: 'window-update', streamId: 0x80000001, flags: Flag.SYN | Flag.ACK, delta: 0x80000000 },
    hex: '00  01   0003  80000001  80000000',
  },
  {
    name: 'Ping SYN with an opaque',
    frame: { type: 'ping', streamId: 0, flags: Flag.SYN, opaque: 0xdeadbeef },
    hex: '00  02   0001  00000000  deadbeef',
  },
  {
    name: 'Ping ACK echoing the opaque',
    frame: { type: 'ping', streamId: 0, flags: Flag.ACK, opaque: 0xdeadbeef },
    hex: '00  02   0002  00000000  deadbeef',
  },
  {
    name: 'GoAway 0 (normal)',
    frame: { type: 'go-away', streamId: 0, flags: 0, code: 0 },
    hex: '00  03   0000  00000000  00000000',
  },
  {
    name: 'GoAway 1 (protocol error)',
    frame: { type: 'go-away', streamId: 0, flags: 0, code: 1 },
    hex: '00  03   0000  00000000  00000001',
  },
  {
    name: 'GoAway 2 (internal error)',
    frame: { type: 'go-away', streamId: 0, flags: 0, code: 2 },
    hex: '00  03   0000  00000000  00000002',
  },
];

describe('frame hex fixtures', () => {
  describe.each(fixtures)('$name', ({ frame, hex: expected }) => {
    it('encodeFrame gives exactly the hand-written bytes', () => {
      expect(toHex(encodeFrame(frame))).toBe(hex(expected));
    });

    it('decoding the bytes gives the frame back', () => {
      expect(decodeAll(fromHex(expected))).toEqual([frame]);
    });
  });

  it('all fixtures back to back encode and decode as one stream', () => {
    const all = fixtures.map((f) => hex(f.hex)).join('');
    expect(toHex(encodeFrames(fixtures.map((f) => f.frame)))).toBe(all);
    expect(decodeAll(fromHex(all))).toEqual(fixtures.map((f) => f.frame));
  });

  it('the encodeFrame doc example holds', () => {
    expect(toHex(encodeFrame({ type: 'ping', streamId: 0, flags: Flag.SYN, opaque: 7 }))).toBe(hex('00 02 0001 00000000 00000007'));
  });
});

describe('encodeFrame range checks', () => {
  const ok: Frame = { type: 'window-update', streamId: 1, flags: 0, delta: 1 };

  it.each([-1, 0x1_0000_0000, 1.5, Number.NaN])('rejects stream id %p', (streamId) => {
    expect(() => encodeFrame({ ...ok, streamId })).toThrow(RangeError);
  });

  it.each([-1, 0x1_0000_0000, 0.5])('rejects a length field of %p', (delta) => {
    expect(() => encodeFrame({ ...ok, delta })).toThrow(RangeError);
  });

  it.each([-1, 0x1_0000, 0x1_0001, 2.5])('rejects flags %p (not a u16), instead of truncating them', (flags) => {
    expect(() => encodeFrame({ ...ok, flags })).toThrow(RangeError);
  });

  it('accepts the largest u16 flags value', () => {
    expect(toHex(encodeFrame({ ...ok, flags: 0xffff }))).toBe(hex('00 01 ffff 00000001 00000001'));
  });
});

describe('formatFrame', () => {
  it('shows a Data frame with its payload in hex', () => {
    expect(formatFrame({ type: 'data', streamId: 3, flags: Flag.FIN, data: bytes('hi') })).toBe('Data(3, FIN, 2 bytes: 6869)');
  });

  it('shows an empty Data|SYN without a payload part', () => {
    expect(formatFrame({ type: 'data', streamId: 1, flags: Flag.SYN, data: new Uint8Array(0) })).toBe('Data(1, SYN, 0 bytes)');
  });

  it('cuts a long payload at maxHexBytes and marks the cut', () => {
    const data = new Uint8Array([0, 1, 2, 3, 4, 5]);
    expect(formatFrame({ type: 'data', streamId: 7, flags: 0, data }, 4)).toBe('Data(7, -, 6 bytes: 00010203…)');
    expect(formatFrame({ type: 'data', streamId: 7, flags: 0, data }, 6)).toBe('Data(7, -, 6 bytes: 000102030405)');
  });

  it('shows WindowUpdate, Ping and GoAway frames', () => {
    expect(formatFrame({ type: 'window-update', streamId: 5, flags: Flag.SYN | Flag.ACK, delta: 262144 })).toBe(
      'WindowUpdate(5, SYN|ACK, +262144)',
    );
    expect(formatFrame({ type: 'window-update', streamId: 9, flags: Flag.RST, delta: 0 })).toBe('WindowUpdate(9, RST, +0)');
    expect(formatFrame({ type: 'ping', streamId: 0, flags: Flag.ACK, opaque: 0xdeadbeef })).toBe('Ping(ACK, 3735928559)');
    expect(formatFrame({ type: 'go-away', streamId: 0, flags: 0, code: 1 })).toBe('GoAway(1)');
  });

  it('formats a decoded fixture', () => {
    const [frame] = decodeAll(fromHex('00 00 0005 00000001 00000002 6869'));
    expect(formatFrame(frame!)).toBe('Data(1, SYN|FIN, 2 bytes: 6869)');
  });

  it('formatFlags names every flag and shows unknown bits in hex', () => {
    expect(formatFlags(0)).toBe('-');
    expect(formatFlags(Flag.SYN | Flag.ACK | Flag.FIN | Flag.RST)).toBe('SYN|ACK|FIN|RST');
    expect(formatFlags(Flag.FIN | 0x30)).toBe('FIN|0x30');
  });
});

describe('toHex / fromHex', () => {
  it('round trip, ignoring spaces, newlines and underscores', () => {
    expect(toHex(fromHex('00 ff_10\n7f'))).toBe('00ff107f');
    expect(toHex(new Uint8Array(0))).toBe('');
  });

  it('reject odd lengths and non-hex digits', () => {
    expect(() => fromHex('abc')).toThrow(RangeError);
    expect(() => fromHex('zz')).toThrow(RangeError);
  });
});
