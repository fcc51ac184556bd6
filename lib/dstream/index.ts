/**
 * The public job API: `import { defineJob } from 'rivulet'`.
 */
export { defineJob, DStream, StreamingContext } from './api.js';
export type { Dataset, Duration, JobDefinition, JobOptions, Pair } from './api.js';
export { JobDefinitionError, UserFunctionError } from './errors.js';
