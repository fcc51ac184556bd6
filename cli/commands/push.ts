/**
 * `rivulet push <stream> [--file F]`: every input line (stdin by default) is
 * one record, the line's string. Lines are read as a stream and sent in packed
 * batches through RecordPusher with a bounded number of batches in flight, so
 * memory stays bounded whatever the input size and the receiver's acks pace
 * the reading (a slow cluster slows the reader, never buffers the file).
 * Prints the acked count on stdout; progress every second on stderr.
 */
import { createReadStream } from 'node:fs';
import { connect, println, type AddressFlags, type Io } from '../context.js';
import { CliError } from '../errors.js';
import { readLines } from '../lines.js';

export interface PushFlags extends AddressFlags {
  file?: string;
  /** A batch is sent once it holds this many lines. @default 1000 */
  batchRecords?: number;
  /** ...or once its lines (UTF-8, newlines included) reach this many bytes. @default 256 KiB */
  batchBytes?: number;
  /** Batches sent but not yet acked. @default 16 */
  inFlight?: number;
  /** Progress interval on stderr, ms; 0 disables. @default 1000 */
  progressMs?: number;
  /** Transient failures are retried this long without progress (RecordPusherOptions.retryTimeoutMs). @default 60000 */
  retryTimeout?: number;
}

export interface PushResult {
  read: number;
  acked: number;
  elapsedMs: number;
}

export async function pushCommand(io: Io, stream: string, flags: PushFlags, stdin: NodeJS.ReadableStream = process.stdin): Promise<PushResult> {
  const batchRecords = flags.batchRecords ?? 1000;
  const batchBytes = flags.batchBytes ?? 256 * 1024;
  const inFlight = flags.inFlight ?? 16;
  const progressMs = flags.progressMs ?? 1000;

  let input: AsyncIterable<Buffer | string>;
  if (flags.file) {
    const file = createReadStream(flags.file, { highWaterMark: 256 * 1024 });
    // Surface "no such file" before connecting anywhere.
    await new Promise<void>((resolve, reject) => {
      file.once('open', () => resolve());
      file.once('error', (e) => reject(new CliError(`cannot read ${flags.file}: ${(e as Error).message}`)));
    });
    input = file;
  } else {
    input = stdin as AsyncIterable<Buffer>;
  }

  const { client } = connect(io, flags);
  const pusher = client.pusher(stream, { clientId: 'rivulet-cli', maxBatchRecords: batchRecords, retryTimeoutMs: flags.retryTimeout ?? 60_000 });
  const started = Date.now();
  let read = 0;
  let acked = 0;
  let failure: { error: unknown } | undefined;
  const pending = new Set<Promise<void>>();
  const send = (records: string[]) => {
    const p: Promise<void> = pusher
      .push(records)
      .then((n) => {
        acked += n;
      })
      .catch((error: unknown) => {
        failure ??= { error };
      })
      .finally(() => pending.delete(p));
    pending.add(p);
  };

  const tty = (io.stderr as { isTTY?: boolean }).isTTY === true;
  let printedProgress = false;
  const progress =
    progressMs > 0
      ? setInterval(() => {
          const secs = (Date.now() - started) / 1000;
          const line = `pushing to ${stream}: read ${read}, acked ${acked} (${Math.round(acked / secs)} records/s)`;
          io.stderr.write(tty ? `\r${line}` : `${line}\n`);
          printedProgress = true;
        }, progressMs)
      : undefined;

  try {
    let batch: string[] = [];
    let bytes = 0;
    for await (const line of readLines(input)) {
      if (failure !== undefined) break;
      batch.push(line);
      bytes += Buffer.byteLength(line) + 1;
      read++;
      if (batch.length >= batchRecords || bytes >= batchBytes) {
        send(batch);
        batch = [];
        bytes = 0;
        // Bounded window: wait for an ack before reading further.
        while (pending.size >= inFlight && failure === undefined) await Promise.race(pending);
      }
    }
    if (batch.length > 0 && failure === undefined) send(batch);
    while (pending.size > 0) await Promise.race(pending);
    if (failure !== undefined) throw failure.error;
  } finally {
    if (progress) clearInterval(progress);
    if (printedProgress && tty) io.stderr.write('\n');
    (input as { destroy?: () => void }).destroy?.call(input);
    await client.close();
  }
  const elapsedMs = Date.now() - started;
  println(io.stdout, String(acked));
  if (elapsedMs >= progressMs && progressMs > 0) {
    println(io.stderr, `acked ${acked} records to ${stream} in ${(elapsedMs / 1000).toFixed(1)}s (${Math.round(acked / (elapsedMs / 1000))} records/s)`);
  }
  return { read, acked, elapsedMs };
}
