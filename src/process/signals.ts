// mlrun stays alive while its command runs, whatever signal it gets, and hands SIGINT, SIGTERM and
// SIGHUP on to the command; mlrun's exit code then follows from how the command ended.
const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
export type ForwardedSignal = (typeof FORWARDED_SIGNALS)[number];

/**
 * Calls `handler` once for the first forwarded signal mlrun receives (whatever its origin) until
 * the returned function is called; later ones are swallowed so mlrun can finish closing.
 */
export function onceOnSignal(handler: (signal: ForwardedSignal) => void): () => void {
  let called = false;
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const listener = () => {
      if (!called) handler(signal);
      called = true;
    };
    process.on(signal, listener);
    return () => process.off(signal, listener);
  });
  return () => handlers.forEach((remove) => remove());
}

/**
 * Calls `forward` for every forwarded signal mlrun receives until the returned function is called.
 *
 * Ctrl-C in a terminal sends SIGINT to the whole foreground process group, so the command gets it
 * straight from the terminal: forwarding it again would deliver it twice (a Python program would
 * see a second KeyboardInterrupt during its clean-up). So SIGINT is forwarded only when mlrun's
 * stdin is not a terminal, where a SIGINT was meant for mlrun alone (`kill -INT`, a scheduler).
 */
export function forwardSignals(forward: (signal: ForwardedSignal) => void): () => void {
  const handlers = FORWARDED_SIGNALS.map((signal) => {
    const handler = () => {
      if (signal === 'SIGINT' && process.stdin.isTTY) return;
      forward(signal);
    };
    process.on(signal, handler);
    return () => process.off(signal, handler);
  });
  return () => handlers.forEach((remove) => remove());
}
