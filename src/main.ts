// The executable's entry point.
import { main } from './cli.ts';
import { describeError, Reporter } from './report.ts';
import { secretsOf } from './tracking/secrets.ts';

// stderr belongs to the command and to mlrun's own one-line messages: Node's deprecation notices
// about what a bundled library calls are not for the user.
(process as { noDeprecation?: boolean }).noDeprecation = true;

// `mlrun --help | head -2`, a full disk under `mlrun ... 2> log`: mlrun's own words that cannot be
// written are lost, and mlrun goes on (the command's output has its own handling, pass-through.ts).
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);

// A promise of mlrun's that rejects with nobody waiting for it is a bug of mlrun's, and by
// default Node would end the process with a stack trace, leaving the run open and the exit code
// not the command's. Whatever went wrong is said in one line and mlrun goes on: the work that
// promise belonged to reports its own outcome.
process.on('unhandledRejection', (reason: unknown) => {
  new Reporter({ verbose: false, secrets: secretsOf(process.env, process.argv) }).say(`internal error (mlrun goes on): ${describeError(reason)}`);
});

main(process.argv.slice(2)).then(
  (code) => exit(code),
  (error: unknown) => {
    process.stderr.write(`mlrun: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    exit(70);
  },
);

/** Exits once what was written to stdout and stderr has gone out (they may be pipes). */
function exit(code: number): void {
  process.exitCode = code;
  let pending = 2;
  const done = () => {
    pending -= 1;
    if (pending === 0) process.exit(code);
  };
  process.stdout.write('', done);
  process.stderr.write('', done);
}
