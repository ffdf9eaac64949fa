"""Checks Kubernetes manifests against the API's own models (the official
Python client): every document deserializes into its kind's model, with
required fields present and no field dropped on the way back (a typo'd or
misplaced key is dropped, so it fails here). Prints kind/name per document."""
import json
import sys

import yaml
from kubernetes import client

MODELS = {
    ("v1", "ServiceAccount"): "V1ServiceAccount",
    ("v1", "ConfigMap"): "V1ConfigMap",
    ("v1", "PersistentVolumeClaim"): "V1PersistentVolumeClaim",
    ("v1", "Service"): "V1Service",
    ("apps/v1", "Deployment"): "V1Deployment",
    ("policy/v1", "PodDisruptionBudget"): "V1PodDisruptionBudget",
}


api = client.ApiClient()
for path in sys.argv[1:]:
    with open(path) as f:
        for doc in yaml.safe_load_all(f):
            if doc is None:
                continue
            model = MODELS.get((doc.get("apiVersion"), doc.get("kind")))
            if model is None:
                sys.exit(f"{path}: no model for {doc.get('apiVersion')} {doc.get('kind')}")
            obj = api.deserialize(json.dumps(doc), model, "application/json")
            back = api.sanitize_for_serialization(obj)
            if back != doc:
                sys.exit(f"{path}: {doc['kind']} {doc['metadata']['name']}: fields lost or changed:\n"
                         f"  given: {json.dumps(doc, sort_keys=True)}\n  model: {json.dumps(back, sort_keys=True)}")
            print(f"{doc['kind']}/{doc['metadata']['name']}")
