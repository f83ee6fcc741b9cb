// The end of a run is work side by side (points, files, tags): the run is closed only once every
// part of it has ended, also when one part failed early, so that nothing still in flight lands
// after the run's status says it is complete.

/** Waits for every promise to settle, then throws the first failure, if any. */
export async function settleAll(work: readonly (Promise<unknown> | undefined)[]): Promise<void> {
  const outcomes = await Promise.allSettled(work);
  for (const outcome of outcomes) if (outcome.status === 'rejected') throw outcome.reason;
}
