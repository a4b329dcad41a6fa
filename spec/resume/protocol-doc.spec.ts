import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  encodeAck,
  encodeHello,
  encodeRefused,
  encodeResume,
  encodeResumed,
  encodeResumeFrame,
  parseResumeFrame,
  readU64,
  ResumeKind,
} from '../../src/frame/resume.js';
import { fromHex, toHex } from '../../src/testing.js';

const doc = readFileSync(join(resolve(__dirname, '../..'), 'docs', 'PROTOCOL.md'), 'utf8');
const section = doc.slice(doc.indexOf('## Session resumption'));

function row(label: string): string {
  const line = section.split('\n').find((l) => l.includes(label));
  if (!line) throw new Error(`no row for ${label}`);
  const m = line.match(/`(00 0[24] [0-9a-f ]+)`/);
  if (!m) throw new Error(`no hex in row ${label}`);
  return m[1]!.replace(/ /g, '');
}

const token = fromHex('0102030405060708 00112233445566778899aabbccddeeff');
const next = fromHex('0102030405060708 ffeeddccbbaa99887766554433221100');

describe('docs/PROTOCOL.md: the resumption extension', () => {
  it.each<[string, Uint8Array]>([
    ['Hello: Ping', encodeHello()],
    ['1 Token', encodeResumeFrame(ResumeKind.Token, token)],
    ['2 Ack', encodeAck(65536)],
    ['3 Resume', encodeResume(token, 4096)],
    ['4 Resumed', encodeResumed(8192, next)],
    ['5 Refused', encodeRefused(1, 'token')],
    ['6 End', encodeResumeFrame(ResumeKind.End)],
  ])('the row "%s" shows the bytes rxmux writes', (label, bytes) => {
    expect(row(label)).toBe(toHex(bytes));
  });

  it('every Resume frame row parses back to its kind and payload length', () => {
    for (const label of ['1 Token', '2 Ack', '3 Resume', '4 Resumed', '5 Refused', '6 End']) {
      const bytes = fromHex(row(label));
      const parsed = parseResumeFrame(bytes);
      expect(parsed?.size).toBe(bytes.byteLength);
      expect(parsed?.frame.kind).toBe(Number(label[0]));
    }
    expect(readU64(parseResumeFrame(fromHex(row('2 Ack')))!.frame.payload, 0)).toBe(65536);
  });

  it('a cut Resume frame is not parsed until whole, and positions use all 53 bits', () => {
    const whole = encodeResume(token, 2 ** 53 - 1);
    expect(parseResumeFrame(whole.subarray(0, whole.byteLength - 1))).toBeUndefined();
    expect(readU64(parseResumeFrame(whole)!.frame.payload, 24)).toBe(2 ** 53 - 1);
    expect(() => parseResumeFrame(fromHex('00 04 0002 00000000 00000401'))).toThrow(RangeError);
  });
});
