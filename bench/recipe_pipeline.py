"""The recipe's pipeline launch: a script starts the parent run and hands its id to the stages
(the recipe's Makefile exports it), runs `dvc repro --force`, and ends the parent run."""
import os
import subprocess
import sys

import mlflow

with mlflow.start_run(run_name="recipe-pipeline") as parent:
    env = dict(os.environ, MLFLOW_PARENT_RUN=parent.info.run_id)
    code = subprocess.call(["dvc", "repro", "--force", "-q"], env=env)
    mlflow.set_tag("exit_code", str(code))
sys.exit(code)
