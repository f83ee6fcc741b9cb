"""Prints as JSON what the MLflow Python client reads from a tracking store.

argv: tracking URI, JSON query (see python.ts). Uses only MLflow's public client API, so a run
that reads here reads for every MLflow user.
"""
import hashlib
import json
import math
import os
import sys
import tempfile

from mlflow.tracking import MlflowClient


def number(value):
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return str(value)
    return value


def list_artifacts(client, run_id, path=None):
    out = []
    for item in client.list_artifacts(run_id, path):
        if item.is_dir:
            out.extend(list_artifacts(client, run_id, item.path))
        else:
            out.append(item.path)
    return out


def artifact_digests(client, run_id):
    """Every artifact of the run, downloaded by the client: path -> sha256 of its bytes."""
    os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"  # no progress bars on stderr
    digests = {}
    with tempfile.TemporaryDirectory() as dst:
        local = client.download_artifacts(run_id, "", dst)
        for folder, _, files in os.walk(local):
            for name in files:
                file = os.path.join(folder, name)
                with open(file, "rb") as f:
                    digests[os.path.relpath(file, local).replace(os.sep, "/")] = hashlib.sha256(f.read()).hexdigest()
    return dict(sorted(digests.items()))


def describe(client, run, query):
    info = run.info
    answer = {
        "info": {
            "run_id": info.run_id,
            "run_name": info.run_name,
            "experiment_id": info.experiment_id,
            "status": info.status,
            "start_time": info.start_time,
            "end_time": info.end_time,
            "artifact_uri": info.artifact_uri,
            "lifecycle_stage": info.lifecycle_stage,
            "user_id": info.user_id,
        },
        "tags": dict(run.data.tags),
        "params": dict(run.data.params),
        "metrics": {k: number(v) for k, v in run.data.metrics.items()},
        "history": {},
        "artifacts": [],
    }
    if query.get("withHistory"):
        for key in run.data.metrics:
            points = client.get_metric_history(info.run_id, key)
            answer["history"][key] = [
                {"value": number(p.value), "step": p.step, "timestamp": p.timestamp} for p in points
            ]
    if query.get("withArtifacts"):
        answer["artifacts"] = sorted(list_artifacts(client, info.run_id))
    if query.get("withArtifactDigests"):
        answer["artifact_sha256"] = artifact_digests(client, info.run_id)
    if query.get("withInputs"):
        answer["inputs"] = [
            {
                "name": i.dataset.name,
                "digest": i.dataset.digest,
                "source_type": i.dataset.source_type,
                "source": i.dataset.source,
                "tags": {t.key: t.value for t in i.tags},
            }
            for i in run.inputs.dataset_inputs
        ]
    return answer


def main():
    uri, query = sys.argv[1], json.loads(sys.argv[2])
    client = MlflowClient(tracking_uri=uri)
    runs = [client.get_run(run_id) for run_id in query.get("runIds", [])]
    if query.get("experimentIds"):
        runs.extend(client.search_runs(query["experimentIds"], max_results=10000, order_by=["attributes.start_time DESC"]))
    experiments = {}
    for name in query.get("experimentNames", []):
        exp = client.get_experiment_by_name(name)
        experiments[name] = None if exp is None else {
            "experiment_id": exp.experiment_id,
            "artifact_location": exp.artifact_location,
            "lifecycle_stage": exp.lifecycle_stage,
        }
    print(json.dumps({"runs": [describe(client, r, query) for r in runs], "experiments": experiments}))


if __name__ == "__main__":
    main()
