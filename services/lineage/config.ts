/** Lineage options. Flags/env per lib/config. */
import { z } from 'zod';
import { commonOptions, int } from '../../lib/config/index.js';

export const lineageConfigSchema = z.object({
  ...commonOptions,
  port: int(7072, 0, 65535),
  /** JetStream KV bucket holding the lineage state. */
  kvBucket: z.string().regex(/^[A-Za-z0-9_-]+$/).default('rivulet-lineage'),
  /** Upper bound on batches kept per job; the oldest are forgotten beyond it even if nobody asked. */
  maxBatchesPerJob: int(10_000, 1, 10_000_000),
});

export type LineageConfig = z.infer<typeof lineageConfigSchema>;
