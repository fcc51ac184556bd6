/** Errors raised while loading or running job code. */
import { InvalidArgumentError, RivuletError } from '../errors.js';

/** The job module is not a valid job, or its build function threw. */
export class JobDefinitionError extends InvalidArgumentError {
  override name = 'JobDefinitionError';
}

/** A user function (map, reduce, ...) threw while running a task. */
export class UserFunctionError extends RivuletError {
  override name = 'UserFunctionError';
  constructor(
    readonly nodeId: number,
    readonly operator: string,
    cause: unknown,
  ) {
    const inner = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause);
    super(`user function of ${operator} (node ${nodeId}) threw ${inner}`, { cause });
  }
}
