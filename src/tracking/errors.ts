// A tracking failure, whatever the backend. `errorCode` follows MLflow's codes
// (RESOURCE_DOES_NOT_EXIST, INVALID_PARAMETER_VALUE, ...); `unreachable` is true when the backend
// could not be reached at all, which is what makes mlrun fall back to recording locally.
export class TrackingError extends Error {
  readonly errorCode: string;
  readonly httpStatus: number | undefined;
  readonly unreachable: boolean;

  constructor(message: string, errorCode: string, options: { httpStatus?: number; unreachable?: boolean; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'TrackingError';
    this.errorCode = errorCode;
    this.httpStatus = options.httpStatus;
    this.unreachable = options.unreachable ?? false;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof TrackingError && error.errorCode === 'RESOURCE_DOES_NOT_EXIST';
}
