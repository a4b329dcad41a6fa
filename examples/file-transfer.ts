/**
 * A file sent over one channel, with a progress bar and an end-to-end SHA-256 check (sendFile / receiveFile).
 *
 *   npx tsx examples/file-transfer.ts [--size 20MiB | --file PATH]      both ends in one process, over loopback TCP
 *   npx tsx examples/file-transfer.ts receive [--port 7001] [--dir .]  receives uploads until Ctrl-C
 *   npx tsx examples/file-transfer.ts send --port 7001 PATH            sends one file
 *
 * Without --file, a file of --size random bytes is generated in a temporary directory (removed at the end).
 * The sender opens a channel with metadata `upload:<name>`; the receiver writes to `<name>.part`, checks the
 * SHA-256 the sender computed while reading, renames the file and confirms; the sender's transfer completes only
 * after that confirmation. The progress bar redraws in place on a terminal and prints a plain line every 10%
 * otherwise (set PLAIN=1 to force plain lines). Exits 0 once the checksum was verified.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { catchError, EMPTY, lastValueFrom, mergeMap, tap, type Observable, type Subscription } from 'rxjs';
import { utf8, type IncomingChannel, type Session } from '../src/index.js';
import { connect, listen, receiveFile, sendFile, type FileProgress } from '../src/node.js';

const MiB = 1024 * 1024;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    dir: { type: 'string', default: '.' },
    size: { type: 'string', default: '20MiB' },
    file: { type: 'string' },
  },
});
const mode = positionals[0] === 'send' || positionals[0] === 'receive' ? positionals.shift()! : 'both';
const tty = process.stdout.isTTY === true && process.env.PLAIN !== '1';

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(B|KiB|MiB|GiB)?$/i.exec(text.trim());
  if (!m) throw new Error(`bad size: ${text} (try 20MiB)`);
  const unit = { b: 1, kib: 1024, mib: MiB, gib: 1024 * MiB }[(m[2] ?? 'B').toLowerCase()]!;
  return Math.round(Number(m[1]) * unit);
}

const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;

/** Progress: a bar redrawn in place on a terminal, otherwise one line per 10%. */
function progressBar(label: string): { update: (p: FileProgress) => void; done: () => void } {
  let nextStep = 0;
  let drawnAt = 0;
  return {
    update: ({ bytes, total = 0, fraction = 0, bytesPerSecond }) => {
      if (tty && fraction < 1 && performance.now() - drawnAt < 100) return; // redraw ~10 times a second
      drawnAt = performance.now();
      const text = `${(fraction * 100).toFixed(0).padStart(3)}% ${mib(bytes)} / ${mib(total)}  ${mib(bytesPerSecond)}/s`;
      if (tty) {
        const width = 30;
        const filled = Math.round(fraction * width);
        process.stdout.write(`\r${label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${text}\x1b[K`);
      } else if (fraction >= nextStep) {
        console.log(`${label} ${text}`);
        nextStep = Math.floor(fraction * 10 + 1e-9) / 10 + 0.1;
      }
    },
    done: () => {
      if (tty) process.stdout.write('\n');
    },
  };
}

async function sha256Of(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Receiver: every incoming channel `upload:<name>` is written to `<dir>/<name>`. Returns the bound port. */
function startReceiver(port: number, dir: string, showProgress: boolean): Promise<{ port: number; stop: () => void }> {
  const receive = (request: IncomingChannel): Observable<FileProgress> => {
    const meta = utf8(request.meta);
    if (!meta.startsWith('upload:')) {
      request.reject('expected upload:<name>');
      return EMPTY;
    }
    const target = join(dir, basename(meta.slice('upload:'.length)) || 'upload.bin');
    const bar = progressBar(`receive ${basename(target)}`);
    return receiveFile(request.accept({ meta: 'ready' }), target).pipe(
      tap({
        next: (p) => (showProgress ? bar.update(p) : undefined),
        complete: () => {
          if (showProgress) bar.done();
          console.log(`receiver: ${target} stored, SHA-256 checked`);
        },
      }),
      catchError((e: Error) => {
        console.error(`receiver: ${basename(target)} failed: ${e.message}`);
        return EMPTY;
      }),
    );
  };
  return new Promise((resolve, reject) => {
    const server: Subscription = listen({
      port,
      host: values.host,
      onListening: (a) => resolve({ port: a.port, stop: () => server.unsubscribe() }),
    })
      .pipe(
        mergeMap((session: Session) => session.incoming$),
        mergeMap((request) => receive(request)),
      )
      .subscribe({ error: reject });
  });
}

/** Sender: one channel, the whole file, resolves once the receiver confirmed the checksum. */
async function send(port: number, path: string, showProgress: boolean): Promise<void> {
  const session = await new Promise<Session>((resolve, reject) =>
    connect({ port, host: values.host }).subscribe({ next: resolve, error: reject }),
  );
  try {
    const channel = await lastValueFrom(session.open({ meta: `upload:${basename(path)}` }));
    const bar = progressBar(`send ${basename(path)}`);
    const started = performance.now();
    // sendFile reads the file only as fast as the channel's credit lets it send, and completes on the receiver's verdict.
    await new Promise<void>((resolve, reject) =>
      sendFile(channel, path, { chunkSize: 256 * 1024 }).subscribe({
        next: (p) => (showProgress ? bar.update(p) : undefined),
        error: (e: unknown) => {
          bar.done();
          reject(e);
        },
        complete: resolve,
      }),
    );
    if (showProgress) bar.done();
    const seconds = (performance.now() - started) / 1000;
    const { size } = await stat(path);
    console.log(
      `sender: ${basename(path)} ${mib(size)} sent in ${seconds.toFixed(2)} s (${mib(size / seconds)}/s); the receiver verified its SHA-256`,
    );
  } finally {
    await session.close();
  }
}

async function makeTempFile(dir: string, size: number): Promise<string> {
  const path = join(dir, `random-${size}.bin`);
  const file = await open(path, 'w');
  for (let at = 0; at < size; at += MiB) await file.write(randomBytes(Math.min(MiB, size - at)));
  await file.close();
  return path;
}

async function main(): Promise<number> {
  if (mode === 'send') {
    const path = positionals[0];
    if (!path) throw new Error('usage: file-transfer.ts send --port N PATH');
    await send(Number(values.port), path, true);
    return 0;
  }
  if (mode === 'receive') {
    const receiver = await startReceiver(Number(values.port), values.dir, true);
    console.log(`receiver: listening on ${values.host}:${receiver.port}, storing in ${values.dir}`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    receiver.stop();
    return 0;
  }
  // Both ends in this process: the receiver stores into a fresh temporary directory.
  const work = await mkdtemp(join(tmpdir(), 'rxmux-file-'));
  try {
    const source = values.file ?? (await makeTempFile(work, parseSize(values.size)));
    const inbox = await mkdtemp(join(work, 'inbox-'));
    const receiver = await startReceiver(0, inbox, false);
    console.log(`receiver: listening on ${values.host}:${receiver.port}`);
    console.log(`sender: ${source} (${mib((await stat(source)).size)})`);
    await send(receiver.port, source, true);
    receiver.stop();
    // Independent check of both files on disk (receiveFile already refused anything that did not match).
    const [a, b] = await Promise.all([sha256Of(source), sha256Of(join(inbox, basename(source)))]);
    console.log(`sha256 sent     ${a}`);
    console.log(`sha256 received ${b}`);
    console.log(a === b ? 'checksum verified' : 'CHECKSUM MISMATCH');
    return a === b ? 0 : 1;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

main().then(
  (code) => (process.exitCode = code),
  (e: Error) => {
    console.error(`error: ${e.message}`);
    process.exitCode = 1;
  },
);
