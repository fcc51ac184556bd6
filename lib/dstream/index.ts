/**
 * The public job API: `import { defineJob } from 'rivulet'`.
 */
export { defineJob, DStream, MapWithStateDStream, StateSpec, StreamingContext } from './api.js';
export { Output } from './output.js';
export type { JetStreamSinkOptions, PostgresSinkOptions } from '../sinks/spec.js';
export type { Dataset, Duration, JobDefinition, JobOptions, Pair, State } from './api.js';
export type { JetStreamDecode, JetStreamOnPurged, JetStreamSourceOptions, JetStreamStartAt, DeadLetter } from '../sources/jetstream-ranges.js';
export { JobDefinitionError, UserFunctionError } from './errors.js';
