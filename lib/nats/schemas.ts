/**
 * The schema of every message on every NATS subject (lib/nats/subjects.ts
 * holds the types). `subscribe` parses each message with one of these before
 * a handler sees it: a stray or hostile message (wrong types, missing fields,
 * huge strings or arrays) is dropped and counted (lib/validation.ts), never
 * cast into scheduler or receiver state.
 *
 * Each schema is checked against its interface at compile time: adding a
 * field (required or optional) to a message type without adding it here
 * fails the build (`satisfies`, and SchemasCoverMessages at the end).
 * Unknown extra fields are stripped.
 */
import { z } from 'zod';
import { idSchema, nameSchema } from '../names.js';
import type { BatchCompletedMessage, BatchReadyMessage, ExecutorLostMessage, HeartbeatMessage, RateLimitsMessage, ReceiverHeartbeatMessage, StreamsMessage } from './subjects.js';

/** Bounds on what a well-formed message can hold; a larger one is hostile or corrupt. */
export const MESSAGE_BOUNDS = {
  /** Executor ids (heartbeat, executor.lost); job ids, stream names and block ids follow lib/names.ts. */
  id: 128,
  /** host:port, host names. */
  address: 512,
  /** Free text (errors, reasons). */
  text: 16 * 1024,
  /** Blocks in one batch announcement. */
  blocks: 100_000,
  /** Streams in one streams message. */
  streams: 10_000,
} as const;

/** Stream names and job ids follow the shared name rule, block ids the id rule (lib/names.ts). */
const name = nameSchema;
const blockId = idSchema;
/** A count or size: a non-negative safe integer. msgpack may decode large integers as bigint. */
const numeric = z.union([z.number(), z.bigint().transform((b) => Number(b))]);
const count = numeric.pipe(z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER));
/** A time or duration in ms. */
const ms = numeric.pipe(z.number().nonnegative().max(Number.MAX_SAFE_INTEGER));

export const heartbeatSchema = z.object({
  executorId: z.string().regex(/^[A-Za-z0-9_-]+$/).max(MESSAGE_BOUNDS.id),
  epoch: count,
  address: z.string().min(1).max(MESSAGE_BOUNDS.address),
  host: z.string().max(MESSAGE_BOUNDS.address),
  slots: count,
  taskQueueDepth: count.pipe(z.number().min(1).max(64)).optional(),
  compactMapOutputs: z.boolean().optional(),
  streamDrops: z.boolean().optional(),
  freeSlots: count,
  runningTasks: count,
  blockCount: count,
  blockBytes: count,
  blockCapacityBytes: count,
  jobBundles: count.optional(),
  sentAtMs: ms,
  inputBlocks: z.array(blockId).max(MESSAGE_BOUNDS.blocks).optional(),
}) satisfies z.ZodType<HeartbeatMessage>;

export const batchReadySchema = z.object({
  stream: name,
  batchTimeMs: ms,
  batchIntervalMs: ms,
  blocks: z
    .array(
      z.object({
        blockId,
        records: count,
        bytes: count,
        executorIds: z.array(name).max(16),
      }),
    )
    .max(MESSAGE_BOUNDS.blocks),
  receiverId: name.optional(),
}) satisfies z.ZodType<BatchReadyMessage>;

export const receiverHeartbeatSchema = z.object({
  receiverId: name,
  incarnation: z.string().regex(/^[A-Za-z0-9_-]+$/).max(MESSAGE_BOUNDS.id),
  address: z.string().min(1).max(MESSAGE_BOUNDS.address),
  sentAtMs: ms,
  streams: z.array(z.object({ stream: name, firstBatchTimeMs: ms, recordsPerSecond: z.number().nonnegative().finite() })).max(MESSAGE_BOUNDS.streams),
}) satisfies z.ZodType<ReceiverHeartbeatMessage>;

export const batchCompletedSchema = z.object({
  jobId: name,
  batchTimeMs: ms,
  state: z.enum(['COMPLETED', 'FAILED']),
  inputRecords: count,
  schedulingDelayMs: ms,
  processingTimeMs: ms,
  totalDelayMs: ms,
  tasks: count,
  error: z.string().max(MESSAGE_BOUNDS.text).optional(),
}) satisfies z.ZodType<BatchCompletedMessage>;

export const streamsSchema = z.object({
  streams: z.array(name).max(MESSAGE_BOUNDS.streams),
  batchIntervalMs: ms,
}) satisfies z.ZodType<StreamsMessage>;

export const executorLostSchema = z.object({
  executorId: z.string().regex(/^[A-Za-z0-9_-]+$/).max(MESSAGE_BOUNDS.id),
  epoch: count,
  reason: z.string().max(MESSAGE_BOUNDS.text),
}) satisfies z.ZodType<ExecutorLostMessage>;

export const rateLimitsSchema = z.object({
  limits: z.array(z.object({ stream: name, recordsPerSecond: z.number().nonnegative().finite() })).max(MESSAGE_BOUNDS.streams),
}) satisfies z.ZodType<RateLimitsMessage>;

/**
 * Compile-time: every field of a message type, optional ones included, has a
 * schema field — `satisfies` alone would let a new optional field through,
 * and the schema would then strip it silently.
 */
type Covers<Schema extends z.ZodType, Message> = Exclude<keyof Message, keyof z.infer<Schema>> extends never ? true : false;
type Assert<T extends true> = T;
export type SchemasCoverMessages = Assert<
  Covers<typeof heartbeatSchema, HeartbeatMessage> extends true
    ? Covers<typeof batchReadySchema, BatchReadyMessage> extends true
      ? Covers<typeof batchCompletedSchema, BatchCompletedMessage> extends true
        ? Covers<typeof streamsSchema, StreamsMessage> extends true
          ? Covers<typeof executorLostSchema, ExecutorLostMessage> extends true
            ? Covers<typeof rateLimitsSchema, RateLimitsMessage> extends true
              ? Covers<typeof receiverHeartbeatSchema, ReceiverHeartbeatMessage>
              : false
            : false
          : false
        : false
      : false
    : false
>;
