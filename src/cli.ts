// The commander program: parses mlrun's own options (everything before `--`) and dispatches to
// stage/, pipeline/, sync/ and inspect/. Usage errors exit 2 before any command starts.
import { Command, CommanderError } from 'commander';
import { USAGE_EXIT_CODE, UsageError } from './settings/usage-error.ts';
import { RELAY_COMMAND, relayOutput } from './process/relay.ts';
import { WATCH_LAUNCH_COMMAND } from './process/self.ts';
import { redactSecrets } from './tracking/redact.ts';
import { secretsOf } from './tracking/secrets.ts';
import { versionLine } from './version.ts';

const EXAMPLES = `
Examples:
  in dvc.yaml:   cmd: mlrun -- python train.py --epochs \${epochs}
  a pipeline:    mlrun pipeline -- dvc repro
  by hand:       mlrun --name smoke --tag team=vision -- ./evaluate.sh data/test
  read back:     mlrun runs;  mlrun show <run>;  mlrun diff

Tracking goes to MLFLOW_TRACKING_URI (http(s):// server or sqlite:///path), or, when it is not
set, to mlflow.db at the project root: see it with 'mlflow ui' run in that folder.
The command's stdin, stdout, stderr and exit code are its own; mlrun's messages start with 'mlrun:'.`;

const collect = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export async function main(argv: string[]): Promise<number> {
  const dashDash = argv.indexOf('--');
  const own = dashDash === -1 ? argv : argv.slice(0, dashDash);
  const command = dashDash === -1 ? undefined : argv.slice(dashDash + 1);
  let exitCode = 0;

  /**
   * The command after `--`. `invoked` is `mlrun` or `mlrun pipeline`: a hint names the one the
   * user typed. Called with no arguments at all, it prints its help on stderr and exits as a usage
   * error (2), as MLflow's own CLI (click) does for a bare `mlflow` and commander for a program
   * whose subcommand is missing (help({ error: true })).
   */
  const requireCommand = (invoked: Command, stray: string[]): string[] => {
    const usage = invoked.parent ? `mlrun ${invoked.name()} [options] --` : 'mlrun [options] --';
    if (stray.length > 0) throw new UsageError(`missing '--' before the command: write ${usage} ${stray.join(' ')}`);
    if (!command) {
      if (own.length === (invoked.parent ? 1 : 0)) invoked.help({ error: true });
      throw new UsageError(`missing '--' and a command: write ${usage} <command> [args...]`);
    }
    if (command.length === 0) throw new UsageError(`no command after '--'`);
    return command;
  };

  const program = withRunOptions(
    new Command('mlrun'),
    'experiment when there is no parent (default: MLFLOW_EXPERIMENT_ID, MLFLOW_EXPERIMENT_NAME, Default)',
    "run name (default: the DVC stage, else the command's name)",
  )
    .description("Run a command (a DVC stage) as an MLflow run nested under its pipeline's run.")
    .usage('[options] -- <command> [args...]')
    .version(versionLine(), '-V, --version', 'print the version, the commit and the platform')
    // The root's options only before a subcommand: else `mlrun pipeline --name x` and
    // `mlrun sync --tracking-uri u` would fill the root's --name / --tracking-uri, not theirs.
    .enablePositionalOptions()
    .argument('[command...]')
    .option('--stage <name>', 'the DVC stage (default: DVC_STAGE, else the stage whose cmd is this command)')
    .option('--metric-pattern <regex>', 'a metric regex with named groups key, value and optionally step (repeatable)', collect, undefined)
    .option('--metric <name=regex>', 'a metric NAME whose value is the regex\'s one capture group (repeatable)', collect, undefined)
    .option('--default-patterns', 'match name=value, name: value, JSON and dict lines (the default)')
    .option('--no-default-patterns', 'match only --metric-pattern and --metric')
    .option('--metrics <on|none>', "'none' reads no metrics from the output")
    .option('--metrics-from <stdout|stderr|both>', 'which output metric lines come from (default: stdout)')
    .option('--step-keys <keys>', 'comma-separated keys that set the step (default: global_step,step,iter,epoch)')
    .option('--output-log', "keep the command's output as the artifact mlrun/output.log (the default)")
    .option('--no-output-log', "do not keep the command's output")
    .option('--auto-parent', 'under a plain dvc repro, nest the stage under a parent run of the launch, made by its first stage (the default)')
    .option('--no-auto-parent', 'with no parent given, record the stage as a run of its own')
    .option('--system-metrics', "log MLflow's system-metric histories (default: MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING)")
    .option('--no-system-metrics', 'log only the summary of what the command used')
    .addHelpText('after', EXAMPLES)
    .action(async (stray: string[], options, invoked: Command) => {
      const { stageCommand } = await import('./stage/stage.ts');
      exitCode = await stageCommand(requireCommand(invoked, stray), options);
    });

  withRunOptions(
    program.command('pipeline'),
    'the experiment (default: MLFLOW_EXPERIMENT_ID, MLFLOW_EXPERIMENT_NAME, Default)',
    "run name (default: under dvc exp run the experiment's, else the DVC command and start time, e.g. 'repro 2026-12-07 14:03:21')",
  )
    .description('Run a pipeline command (dvc repro, dvc exp run) as the parent run of its stages.')
    .usage('[options] -- <command> [args...]')
    .argument('[command...]')
    .addHelpText('after', '\nExample:\n  mlrun pipeline --name nightly -- dvc repro')
    .action(async (stray: string[], options, invoked: Command) => {
      const { pipelineCommand } = await import('./pipeline/pipeline.ts');
      exitCode = await pipelineCommand(requireCommand(invoked, stray), options);
    });

  program
    .command('sync')
    .description('Deliver the runs recorded offline (server unreachable) to their MLflow server, exactly once.')
    .helpOption('-h, --help', 'show this help')
    .option('--tracking-uri <uri>', 'the server to deliver to (default: MLFLOW_TRACKING_URI); http:// or https://')
    .option('--dry-run', 'list the pending runs without sending anything', false)
    .option('--force', "take over the runs an mlrun of another host left running: close them KILLED, deliver them", false)
    .option('-v, --verbose', 'say what mlrun did, on stderr', false)
    .addHelpText(
      'after',
      '\nRuns recorded for another server stay pending. Runs whose mlrun is gone are closed KILLED first,\n' +
        'and the uploads it was killed in are finished (unfinished multipart uploads aborted, the files\n' +
        "sent again); those of another host's mlrun (a project folder shared between hosts) only with\n" +
        '--force: this host cannot tell whether that mlrun still runs. Exit 0 when nothing is pending, else 1.',
    )
    .exitOverride()
    .configureOutput({ outputError: () => undefined })
    .action(async (options) => {
      const { syncCommand } = await import('./sync/sync.ts');
      exitCode = await syncCommand(options);
    });

  withReadOptions(program.command('runs'))
    .description('List the latest launches, newest first, each with its stages in pipeline order, and the runs that stand alone.')
    .option('--limit <n>', 'how many launches and runs to show', '10')
    .option('--all', 'show every one')
    .option('--metrics <keys>', "comma-separated metrics to show (default: the first of the newest launch's)")
    .option('--system', "add what each run cost: CPU seconds, peak RSS (and GPU) memory of its processes; a launch's are its stages' total CPU and largest peak")
    .addHelpText('after', '\nExamples:\n  mlrun runs\n  mlrun runs --experiment nightly --metrics auc,loss --limit 3\n  mlrun runs --system')
    .action(async (options) => {
      const { runsCommand } = await import('./inspect/runs.ts');
      exitCode = await runsCommand(options);
    });

  withReadOptions(program.command('show'))
    .description('Show one run in full: params, latest metrics, tags, parent and stages, artifacts, and its MLflow UI page on a server.')
    .argument('<run>', "a run id, or a run's name (the newest run of that name)")
    .addHelpText('after', "\nExample:\n  mlrun show 'repro 2026-12-07 14:03:21'")
    .action(async (run: string, options) => {
      const { showCommand } = await import('./inspect/show.ts');
      exitCode = await showCommand(run, options);
    });

  withReadOptions(program.command('diff'))
    .description("Compare two runs' params and metrics, as dvc params diff and dvc metrics diff print them (what the runs cost, system/ metrics, only with --system).")
    .argument('[runs...]', 'two run ids or names, older first (default: the last two launches)')
    .option('--all', 'show the params and metrics that did not change too')
    .option('--system', 'compare what the runs cost too (system/ metrics)')
    .addHelpText('after', "\nExamples:\n  mlrun diff\n  mlrun diff 'repro 2026-12-07 14:03:21' nightly")
    .action(async (runs: string[], options) => {
      const { diffCommand } = await import('./inspect/diff.ts');
      exitCode = await diffCommand(runs, options);
    });

  // Not for users: passes on what a process the command left behind still writes (process/relay.ts).
  program
    .command(RELAY_COMMAND, { hidden: true })
    .argument('<streams...>')
    .action((streams: string[]) => relayOutput(streams));

  // Not for users: closes the parent run of a plain `dvc repro` once dvc is gone (pipeline/launch-watcher.ts).
  program
    .command(WATCH_LAUNCH_COMMAND, { hidden: true })
    .argument('<launch-file>')
    .action(async (file: string) => {
      const { watchLaunch } = await import('./pipeline/launch-watcher.ts');
      await watchLaunch(file);
    });

  try {
    await program.parseAsync(own, { from: 'user' });
    return exitCode;
  } catch (error) {
    // A usage error may quote the command or an option's value (`unknown option '--token=…'`).
    return reportUsageError(error, secretsOf(process.env, argv));
  }
}

/** The options of every command that runs a tracked command. */
function withRunOptions(command: Command, experimentHelp: string, nameHelp: string): Command {
  return command
    .helpOption('-h, --help', 'show this help')
    .option('--parent <run-id>', 'the parent run (default: MLRUN_PARENT_RUN_ID, then MLFLOW_RUN_ID)')
    .option('--experiment <name-or-id>', `${experimentHelp}; a new name is created`)
    .option('--name <name>', nameHelp)
    .option('--tag <key=value>', 'an extra tag on the run (repeatable)', collect, undefined)
    .option('--tracking-uri <uri>', 'where runs go (default: MLFLOW_TRACKING_URI, else mlflow.db at the project root)')
    .option('--strict', 'exit 1 when tracking failed although the command succeeded', false)
    .option('-v, --verbose', 'say what mlrun did, on stderr', false)
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
}

/** The options of the commands that read runs: where they are, and --json. */
function withReadOptions(command: Command): Command {
  return command
    .helpOption('-h, --help', 'show this help')
    .option('--tracking-uri <uri>', 'where runs are (default: MLFLOW_TRACKING_URI, else mlflow.db at the project root)')
    .option('--experiment <name-or-id>', 'only this experiment (default: MLFLOW_EXPERIMENT_ID, MLFLOW_EXPERIMENT_NAME, else all)')
    .option('--json', 'print JSON for scripts (its shape: README, "Reading runs in the terminal")')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: () => undefined });
}

function reportUsageError(error: unknown, secrets: readonly string[]): number {
  if (error instanceof CommanderError) {
    // Asked for (--help, --version): 0. Shown because the invocation was incomplete: a usage error.
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help') {
      return error.exitCode === 0 ? 0 : USAGE_EXIT_CODE;
    }
    process.stderr.write(`mlrun: ${redactSecrets(error.message.replace(/^error: /, ''), secrets)} (see mlrun --help)\n`);
    return USAGE_EXIT_CODE;
  }
  if (error instanceof UsageError || (error instanceof Error && error.name === 'ConfigError')) {
    process.stderr.write(`mlrun: ${redactSecrets(error.message, secrets)}\n`);
    return USAGE_EXIT_CODE;
  }
  throw error;
}


