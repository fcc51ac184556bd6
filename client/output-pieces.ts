/**
 * Reassembling output batches from the OutputBatch messages WatchOutput and
 * SliceOutput send: a batch too large for one gRPC message arrives as
 * `chunks` consecutive pieces of the same batch time (scheduler.proto
 * OutputBatch), the record count on piece 0. One assembler per call; pieces
 * out of order are an error, never silently glued together.
 */
import { unpackRecords } from '../lib/codec/records.js';
import type { OutputBatch__Output } from '../lib/proto/gen/rivulet/v1/OutputBatch.js';

export interface OutputBatch {
  jobId: string;
  output: string;
  batchTimeMs: number;
  records: unknown[];
}

export class OutputBatchAssembler {
  private partial: { batchTimeMs: string; count: number; parts: Buffer[]; chunks: number } | undefined;

  constructor(
    private readonly jobId: string,
    private readonly output: string,
  ) {}

  /** Take one message; returns the whole batch once its last piece is in, else undefined. */
  add(piece: OutputBatch__Output): OutputBatch | undefined {
    let batch = piece;
    if (piece.chunks > 1) {
      const payload = piece.records?.payload ?? Buffer.alloc(0);
      const p = this.partial;
      if (piece.chunk === 0) this.partial = { batchTimeMs: String(piece.batchTimeMs), count: piece.records?.count ?? 0, parts: [payload], chunks: piece.chunks };
      else if (p && p.batchTimeMs === String(piece.batchTimeMs) && piece.chunk === p.parts.length) p.parts.push(payload);
      else throw new Error(`output batch ${String(piece.batchTimeMs)} of ${this.jobId}/${this.output}: chunk ${piece.chunk} of ${piece.chunks} arrived out of order`);
      const whole = this.partial!;
      if (whole.parts.length < whole.chunks) return undefined;
      batch = { ...piece, records: { count: whole.count, payload: Buffer.concat(whole.parts) } };
      this.partial = undefined;
    }
    return {
      jobId: batch.jobId || this.jobId,
      output: batch.output || this.output,
      batchTimeMs: Number(batch.batchTimeMs),
      records: batch.records ? unpackRecords(batch.records.payload) : [],
    };
  }

  /** A batch whose pieces did not all arrive (the stream ended in the middle of one). */
  get incomplete(): boolean {
    return this.partial !== undefined;
  }
}
