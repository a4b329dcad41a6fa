/**
 * File transfer over one channel, with progress and an end-to-end SHA-256 check. Node only (exported from
 * `rxmux/node`): it reads and writes files with `node:fs` and hashes with `node:crypto`.
 *
 * Wire format on the channel (every "message" is a u32 big-endian length, then that many bytes, as
 * {@link lengthPrefixed} frames them):
 *
 * ```text
 * sender -> receiver   message  UTF-8 JSON {"name": string, "size": integer >= 0}   (at most maxHeaderSize bytes)
 *                      size raw bytes of file data (any chunking)
 *                      message  UTF-8 JSON {"sha256": "<64 lowercase hex digits>"}  (SHA-256 of the data)
 *                      FIN
 * receiver -> sender   message  UTF-8 JSON {"ok": true}, or {"ok": false, "code": "ERR_MUX_CHECKSUM", "message": string}
 *                      FIN
 * ```
 *
 * Other failures (a malformed header, a disk error, a cancelled transfer) reset the channel with a reason.
 */
import { createHash } from 'node:crypto';
import { open, rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { asyncScheduler, Observable, type SchedulerLike } from 'rxjs';
import type { Channel } from '../channel/types.js';
import { MuxError } from '../errors.js';
import { lengthPrefixed, sizeOption } from './length-prefixed.js';
import { ChannelReader, decodeError, isCode, transferError } from './file-transfer-io.js';

/** Progress of a file transfer. */
export interface FileProgress {
  /** Data bytes sent (queued on the channel) or received (written to disk) so far. */
  readonly bytes: number;
  /** The file's size in bytes, from the header. */
  readonly total?: number;
  /** `bytes / total`, from 0 to 1 (1 for an empty file). */
  readonly fraction?: number;
  /** Average rate since the transfer started, in bytes per second of the scheduler's clock (elapsed time counted as at least 1 ms). */
  readonly bytesPerSecond: number;
}

/** Options of {@link sendFile}. */
export interface SendFileOptions {
  /** Bytes read from the file and written to the channel at a time; one progress value per chunk. Integer >= 1. Default 65536 (64 KiB). */
  readonly chunkSize?: number;
  /** Name announced in the header. Default: the file's base name. */
  readonly name?: string;
  /** Clock for `bytesPerSecond`. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

/** Options of {@link receiveFile}. */
export interface ReceiveFileOptions {
  /** Largest header (and trailer) message accepted, in bytes; a larger one fails with ERR_MUX_LIMIT. Default 65536 (64 KiB). */
  readonly maxHeaderSize?: number;
  /** Received bytes gathered into one disk write (and one progress value). Integer >= 1. Default 262144 (256 KiB). */
  readonly writeSize?: number;
  /** Clock for `bytesPerSecond`. Default `asyncScheduler`. */
  readonly scheduler?: SchedulerLike;
}

const encoder = new TextEncoder();

/** The length-prefixed framing of {@link lengthPrefixed}, for the JSON header and trailer. */
const framing = lengthPrefixed();

function message(value: unknown): Uint8Array {
  return framing.frame(encoder.encode(JSON.stringify(value)));
}

function progress(bytes: number, total: number, start: number, scheduler: SchedulerLike): FileProgress {
  const elapsed = Math.max(scheduler.now() - start, 1);
  return { bytes, total, fraction: total === 0 ? 1 : bytes / total, bytesPerSecond: (bytes * 1000) / elapsed };
}

/**
 * Sends a file on a channel (format in this module's doc comment) and waits for the receiver's verdict.
 * Cold: subscribing starts it. Emits a {@link FileProgress} after each chunk is queued on the channel (each write is
 * awaited, so the file is read only as fast as the channel's credit allows), then completes once the receiver
 * confirmed the SHA-256. Errors with ERR_MUX_CHECKSUM when the receiver reports a mismatch, with the channel's
 * error (e.g. ERR_MUX_RESET) when it fails, or with the file system's error. Unsubscribing before the end resets
 * the channel. The channel must not be read by anyone else meanwhile (the verdict is read with `channel.read()`).
 *
 * @example
 * ```ts
 * import { sendFile } from 'rxmux/node';
 * session.open({ meta: 'upload' })
 *   .pipe(switchMap((channel) => sendFile(channel, './video.mp4', { chunkSize: 256 * 1024 })))
 *   .subscribe(({ fraction }) => console.log(`${Math.round(fraction! * 100)}%`));
 * ```
 */
export function sendFile(channel: Channel, path: string, options: SendFileOptions = {}): Observable<FileProgress> {
  const chunkSize = sizeOption('chunkSize', options.chunkSize, 64 * 1024, 1, 2 ** 30);
  const scheduler = options.scheduler ?? asyncScheduler;
  return new Observable<FileProgress>((subscriber) => {
    let stopped = false;
    const run = async (): Promise<void> => {
      const start = scheduler.now();
      const { size } = await stat(path);
      const name = options.name ?? basename(path);
      const file = await open(path, 'r');
      const hash = createHash('sha256');
      let sent = 0;
      try {
        await channel.write(message({ name, size }));
        while (sent < size && !stopped) {
          const buf = new Uint8Array(Math.min(chunkSize, size - sent));
          const { bytesRead } = await file.read(buf, 0, buf.byteLength, sent);
          if (bytesRead === 0)
            throw new MuxError('ERR_MUX_INTERNAL', `sendFile: ${path} shrank to ${sent} bytes while it was sent (${size} announced)`);
          const chunk = bytesRead === buf.byteLength ? buf : buf.subarray(0, bytesRead);
          hash.update(chunk);
          await channel.write(chunk);
          sent += bytesRead;
          if (!stopped) subscriber.next(progress(sent, size, start, scheduler));
        }
      } finally {
        await file.close();
      }
      if (stopped) return;
      if (size === 0) subscriber.next(progress(0, 0, start, scheduler));
      await channel.write(message({ sha256: hash.digest('hex') }));
      channel.end();
      const verdict = await new ChannelReader(channel).json(64 * 1024, 'the receiver verdict');
      if (verdict === null) throw decodeError('sendFile: the receiver ended the channel without a verdict');
      if (verdict.ok !== true) {
        const code = isCode(verdict.code) ? verdict.code : 'ERR_MUX_INTERNAL';
        throw new MuxError(code, `sendFile: the receiver refused the file: ${String(verdict.message ?? 'no reason given')}`, {
          remote: true,
        });
      }
    };
    run().then(
      () => {
        if (!stopped) subscriber.complete();
      },
      (e: unknown) => {
        if (stopped) return;
        const error = transferError(e, 'sendFile', path);
        if (channel.state !== 'closed') channel.reset(0, `sender failed: ${error.message}`.slice(0, 256));
        subscriber.error(error);
      },
    );
    return () => {
      if (stopped) return;
      stopped = true;
      if (channel.state !== 'closed' && !channel.stats().writeClosed) channel.reset(0, 'transfer cancelled');
    };
  });
}

/**
 * Receives a file sent by {@link sendFile} on a channel and writes it to `path`. The data goes to `path + '.part'`
 * first; once the SHA-256 matches, that file is renamed to `path` (replacing any file there), the verdict
 * `{ ok: true }` goes back and the Observable completes. Emits a {@link FileProgress} after each disk write.
 *
 * A checksum mismatch answers `{ ok: false, code: 'ERR_MUX_CHECKSUM' }`, deletes the partial file and errors with
 * ERR_MUX_CHECKSUM. A malformed header or trailer errors with ERR_MUX_DECODE (ERR_MUX_LIMIT when too large), a
 * stream that ends early with ERR_MUX_DECODE; those, disk errors and unsubscribing before the end reset the
 * channel and delete the partial file. The channel must not be read by anyone else meanwhile.
 *
 * @example
 * ```ts
 * import { receiveFile } from 'rxmux/node';
 * session.incoming$
 *   .pipe(mergeMap((request) => receiveFile(request.accept(), `./inbox/upload-${request.id}`)))
 *   .subscribe({ next: (p) => console.log(p.bytes, p.bytesPerSecond), error: (e) => console.error(e.code) });
 * ```
 */
export function receiveFile(channel: Channel, path: string, options: ReceiveFileOptions = {}): Observable<FileProgress> {
  const maxHeader = sizeOption('maxHeaderSize', options.maxHeaderSize, 64 * 1024, 2);
  const writeSize = sizeOption('writeSize', options.writeSize, 256 * 1024, 1, 2 ** 30);
  const scheduler = options.scheduler ?? asyncScheduler;
  const part = `${path}.part`;
  return new Observable<FileProgress>((subscriber) => {
    let stopped = false;
    let created = false;
    const run = async (): Promise<void> => {
      const start = scheduler.now();
      const reader = new ChannelReader(channel);
      const header = await reader.json(maxHeader, 'the header');
      if (header === null) throw decodeError('receiveFile: the channel ended before the header');
      const size = header.size;
      if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
        throw decodeError(`receiveFile: bad size in the header: ${String(size)}`);
      if (stopped) return;
      const file = await open(part, 'w');
      created = true;
      const hash = createHash('sha256');
      let got = 0;
      try {
        while (got < size && !stopped) {
          const batch: Uint8Array[] = [];
          let batchBytes = 0;
          while (batchBytes < writeSize && got + batchBytes < size) {
            const piece = await reader.next(size - got - batchBytes);
            if (piece === null) throw decodeError(`receiveFile: the stream ended after ${got + batchBytes} of ${size} bytes`);
            hash.update(piece);
            batch.push(piece);
            batchBytes += piece.byteLength;
          }
          if (stopped) return;
          await file.writev(batch);
          got += batchBytes;
          if (!stopped) subscriber.next(progress(got, size, start, scheduler));
        }
      } finally {
        await file.close();
      }
      if (stopped) return;
      if (size === 0) subscriber.next(progress(0, 0, start, scheduler));
      const trailer = await reader.json(maxHeader, 'the trailer');
      if (trailer === null) throw decodeError('receiveFile: the stream ended before the checksum trailer');
      if (typeof trailer.sha256 !== 'string') throw decodeError('receiveFile: the trailer has no sha256');
      if ((await reader.next(1)) !== null) throw decodeError('receiveFile: bytes after the checksum trailer');
      const actual = hash.digest('hex');
      if (trailer.sha256.toLowerCase() !== actual) {
        const text = `checksum mismatch: the sender's SHA-256 is ${trailer.sha256}, the ${size} bytes received hash to ${actual}`;
        await rm(part, { force: true });
        created = false;
        await channel.write(message({ ok: false, code: 'ERR_MUX_CHECKSUM', message: text }));
        channel.end();
        throw new MuxError('ERR_MUX_CHECKSUM', `receiveFile: ${text}`);
      }
      await rename(part, path);
      created = false;
      await channel.write(message({ ok: true }));
      channel.end();
    };
    const cleanup = async (): Promise<void> => {
      if (created) {
        created = false;
        await rm(part, { force: true }).catch(() => undefined);
      }
    };
    run().then(
      () => {
        if (!stopped) subscriber.complete();
      },
      async (e: unknown) => {
        await cleanup();
        if (stopped) return;
        const error = transferError(e, 'receiveFile', part);
        if (error.code !== 'ERR_MUX_CHECKSUM' && channel.state !== 'closed') {
          channel.reset(0, `receiver failed: ${error.message}`.slice(0, 256));
        }
        subscriber.error(error);
      },
    );
    return () => {
      if (stopped) return;
      stopped = true;
      if (channel.state !== 'closed' && !channel.stats().writeClosed) channel.reset(0, 'transfer cancelled');
      void cleanup();
    };
  });
}
