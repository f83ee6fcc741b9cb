"""Prints as JSON what the MLflow Python client reads from a tracking store.

argv: tracking URI, JSON query (see python.ts). Uses only MLflow's public client API, so a run
that reads here reads for every MLflow user.
"""
import json
import math
import sys

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
