/** Any problem reading the DVC project: one line, naming the file (and line when known). */
export class DvcError extends Error {
  override name = 'DvcError';
}
