// A process the command leaves behind (`sh -c 'serve & echo started'`) holds the command's output
// pipes and may write long after the command ended. Without mlrun it would write straight to
// where the command's output goes; mlrun cannot stay to pass it on (it exits with the command),
// and closing its end of the pipes would kill that process with SIGPIPE at its next write. So
// mlrun hands its ends to a relay: mlrun itself started again, which passes on what comes until
// the last writer is gone, then exits. What it passes on is not tracked: the run is closed.
import { spawn } from 'node:child_process';
import { passPipe } from './pass-through.ts';
import { selfCommand } from './self.ts';

/** The hidden subcommand that runs the relay. */
export const RELAY_COMMAND = '__relay-output';

export type RelayedStream = 'stdout' | 'stderr';

/** Starts the relay for these read ends of the command's pipes; mlrun may close its own copies once it returns. */
export function startRelay(pipes: { stream: RelayedStream; fd: number }[]): void {
  const [program, ...args] = selfCommand();
  // The relay's descriptors 3, 4 are the pipes, in the order of the streams named after the subcommand.
  const relay = spawn(program, [...args, RELAY_COMMAND, ...pipes.map((pipe) => pipe.stream)], {
    stdio: ['ignore', 'inherit', 'inherit', ...pipes.map((pipe) => pipe.fd)],
  });
  relay.on('error', () => undefined);
  relay.unref();
}

/** The relay's own work: descriptor 3 (and 4) on to the named streams, until their writers are gone. */
export async function relayOutput(streams: string[]): Promise<void> {
  const passing = streams.map((stream, index) => passPipe(3 + index, stream === 'stderr' ? process.stderr : process.stdout));
  await Promise.all(passing.map((socket) => new Promise((resolve) => socket.once('close', resolve))));
}
