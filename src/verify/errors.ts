/**
 * Errors the checker raises. A malformed history is a bug in whatever recorded it, not a
 * verdict about the cluster, so it is thrown rather than reported as a violation.
 */

/** The history cannot be checked as given (bad times, duplicate ids, ...). */
export class InvalidHistoryError extends Error {
  constructor(
    message: string,
    /** The id of the offending operation, when there is one. */
    readonly operationId?: number,
  ) {
    super(message);
    this.name = "InvalidHistoryError";
  }
}
