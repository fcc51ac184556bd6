// Original file: proto/rivulet/v1/scheduler.proto

import type { SliceWindow as _rivulet_v1_SliceWindow, SliceWindow__Output as _rivulet_v1_SliceWindow__Output } from '../../rivulet/v1/SliceWindow.js';
import type { OutputBatch as _rivulet_v1_OutputBatch, OutputBatch__Output as _rivulet_v1_OutputBatch__Output } from '../../rivulet/v1/OutputBatch.js';

/**
 * One message of a SliceOutput answer: the window first, then the batches,
 * each as WatchOutput sends it (a large batch in chunks, see OutputBatch).
 */
export interface SliceOutputPart {
  'window'?: (_rivulet_v1_SliceWindow | null);
  'batch'?: (_rivulet_v1_OutputBatch | null);
  'part'?: "window"|"batch";
}

/**
 * One message of a SliceOutput answer: the window first, then the batches,
 * each as WatchOutput sends it (a large batch in chunks, see OutputBatch).
 */
export interface SliceOutputPart__Output {
  'window'?: (_rivulet_v1_SliceWindow__Output | null);
  'batch'?: (_rivulet_v1_OutputBatch__Output | null);
  'part'?: "window"|"batch";
}
