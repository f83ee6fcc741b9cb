"""The Python recipe for one stage: reopen the parent run, open a nested child, do the work in it.

Usage: recipe_stage.py [STAGE OUTFILE]  (with MLFLOW_TRACKING_URI and MLFLOW_PARENT_RUN set)
Without arguments the stage does nothing (the per-stage overhead benchmark); with them it prints a
metric line, logs it and writes a small output, as the pipeline benchmark's stages do.
"""
import os
import sys

import mlflow

parent = os.environ["MLFLOW_PARENT_RUN"]
with mlflow.start_run(run_id=parent):
    with mlflow.start_run(nested=True, run_name=os.environ.get("DVC_STAGE")):
        if len(sys.argv) == 3:
            stage, out = sys.argv[1], sys.argv[2]
            value = 1.0 / (1 + int(stage))
            print(f"loss={value}", flush=True)
            mlflow.log_metric("loss", value)
            with open(out, "w") as f:
                f.write(f"stage {stage} loss {value}\n")
