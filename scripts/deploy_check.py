#!/usr/bin/env python3
"""make test: deploy/kubernetes holds together, and with the server it deploys.

1. Every manifest (and the model-volume overlay's Deployment, its JSON patch applied here) passes
   kubernetes-validate, strict, for each KUBERNETES_VERSIONS.
2. The facts that tie them to Rotary: ports (ConfigMap ROTARY_PORT = containerPort = Dockerfile EXPOSE, the
   Service's targetPort names it), probe paths (liveness /health, readiness /ready, both in openapi.yaml), every
   ROTARY_* the manifests set is one `rotary serve` reads (Sources/rotary/Serve.swift), CPU limit = requests =
   ROTARY_COMPUTE_THREADS, grace period > preStop + drain delay + drain timeout, non-root as the Dockerfile's
   user with a read-only root filesystem, the image's CMD dropped (its flags would beat the ConfigMap), the
   selectors of Service, PodDisruptionBudget and HorizontalPodAutoscaler reach the pods.
3. The checks can fail: each of a few broken copies must be caught.
Usage: deploy_check.py   (from anywhere; exits non-zero on any failure)
"""
import copy
import math
import pathlib
import re
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSIONS = ["1.34.0", "1.37.0"]


def load(path):
    return yaml.safe_load(path.read_text())


def resources():
    base = load(DEPLOY / "kustomization.yaml")["resources"]
    docs = {load(DEPLOY / name)["kind"]: load(DEPLOY / name) for name in base}
    docs["Secret"] = load(DEPLOY / "secret.example.yaml")
    return docs


def json_patch(document, operations):
    """The add/replace operations of RFC 6902 (all the overlay uses), on a copy."""
    document = copy.deepcopy(document)
    for op in operations:
        *parents, last = [part.replace("~1", "/").replace("~0", "~") for part in op["path"].split("/")[1:]]
        target = document
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            if last == "-":
                target.append(op["value"])
            elif op["op"] == "add":
                target.insert(int(last), op["value"])
            else:
                target[int(last)] = op["value"]
        else:
            if op["op"] == "replace" and last not in target:
                raise ValueError(f"replace of a missing {op['path']}")
            target[last] = op["value"]
    return document


def overlay_deployment(deployment):
    overlay = load(DEPLOY / "model-volume" / "kustomization.yaml")
    (patch,) = [p for p in overlay["patches"] if p["target"]["kind"] == "Deployment"]
    return json_patch(deployment, yaml.safe_load(patch["patch"]))


def validate(paths):
    failures = []
    for version in KUBERNETES_VERSIONS:
        run = subprocess.run([sys.executable, "-m", "kubernetes_validate", "--strict", "-k", version, *map(str, paths)],
                             capture_output=True, text=True)
        passed = run.returncode == 0
        print(("ok  " if passed else "FAIL"), f"kubernetes-validate --strict, Kubernetes {version}: {len(paths)} resources")
        if not passed:
            failures.append(f"kubernetes-validate {version}: {run.stdout}{run.stderr}")
    return failures


def variables_serve_reads():
    source = (ROOT / "Sources" / "rotary" / "Serve.swift").read_text()
    return set(re.findall(r'setting\([^)]*?"(ROTARY_[A-Z_]+)"', source))


def cpus(quantity):
    text = str(quantity)
    return int(text[:-1]) / 1000 if text.endswith("m") else float(text)


def fact_problems(docs, dockerfile, openapi, serve_reads):
    """Every broken tie between the manifests and the server, as sentences (empty: all hold)."""
    problems = []
    def need(ok, what):
        if not ok:
            problems.append(what)
    deployment, settings = docs["Deployment"], docs["ConfigMap"]["data"]
    pod = deployment["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    env = dict(settings)
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", "<from " + next(iter(item.get("valueFrom", {"?": 0}))) + ">")
    # Every variable set is one the server reads (a typo would be silently ignored).
    for name in sorted(env):
        need(name in serve_reads, f"{name} is set, but `rotary serve` reads no such variable")
    need(any(ref.get("configMapRef", {}).get("name") == docs["ConfigMap"]["metadata"]["name"] for ref in container.get("envFrom", [])),
         "the container does not take its settings from the ConfigMap")
    key_ref = next((e["valueFrom"]["secretKeyRef"] for e in container.get("env", []) if e["name"] == "ROTARY_API_KEY"), None)
    need(key_ref is not None and key_ref["name"] == docs["Secret"]["metadata"]["name"]
         and key_ref["key"] in docs["Secret"]["stringData"], "ROTARY_API_KEY does not come from the Secret")
    need("ROTARY_API_KEY" not in settings, "the API key sits in the ConfigMap")
    # Ports.
    port = int(settings.get("ROTARY_PORT", 8080))
    exposed = int(re.search(r"^EXPOSE (\d+)", dockerfile, re.M).group(1))
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    need(ports.get("http") == port == exposed, f"ports differ: ROTARY_PORT {port}, containerPort {ports.get('http')}, EXPOSE {exposed}")
    need(settings.get("ROTARY_HOST") == "0.0.0.0", "ROTARY_HOST is not 0.0.0.0: the Service could not reach the pod")
    need(container.get("args") == [], "the image's CMD (--host/--port flags, which beat the environment) is not dropped: args must be []")
    service_ports = docs["Service"]["spec"]["ports"]
    need(all(p["targetPort"] in ("http", port) for p in service_ports), f"the Service targets {[p['targetPort'] for p in service_ports]}")
    # Probes.
    for probe, path in [("livenessProbe", "/health"), ("readinessProbe", "/ready")]:
        get = container.get(probe, {}).get("httpGet", {})
        need(get.get("path") == path and path in openapi["paths"], f"{probe} asks {get.get('path')}, expected {path} (documented in openapi.yaml)")
        need(get.get("port") in ("http", port), f"{probe} probes port {get.get('port')}")
    # Threads against CPUs.
    resources = container["resources"]
    limit, request = cpus(resources["limits"]["cpu"]), cpus(resources["requests"]["cpu"])
    threads = int(settings.get("ROTARY_COMPUTE_THREADS", 0))
    need(threads == math.ceil(limit), f"ROTARY_COMPUTE_THREADS {threads} for a CPU limit of {limit}: one thread per CPU")
    need(request == limit, f"CPU request {request} below the limit {limit}: the compute threads would be throttled")
    need("memory" in resources["limits"] and resources["limits"].get("memory") == resources["requests"].get("memory"),
         "memory request and limit must be set and equal")
    # Stop: the grace period covers the preStop pause, the drain delay and the drain timeout.
    pause = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    drain = float(settings.get("ROTARY_DRAIN_DELAY", 0)) + float(settings.get("ROTARY_DRAIN_TIMEOUT", 10))
    grace = pod["spec"].get("terminationGracePeriodSeconds", 30)
    need(pause > 0, "no preStop pause: the pod would stop before the Service stops sending to it")
    need(grace > pause + drain, f"terminationGracePeriodSeconds {grace} <= preStop {pause} + drain {drain}")
    # Security.
    user = int(re.search(r"useradd [^\n]*--uid (\d+)", dockerfile).group(1))
    pod_security, security = pod["spec"].get("securityContext", {}), container.get("securityContext", {})
    need(pod_security.get("runAsNonRoot") is True and pod_security.get("runAsUser") == user,
         f"not run as the Dockerfile's non-root user {user}")
    need(security.get("readOnlyRootFilesystem") is True, "the root filesystem is writable")
    need(security.get("allowPrivilegeEscalation") is False, "privilege escalation allowed")
    # Selectors reach the pods; the autoscaler and the budget name the Deployment's pods.
    labels = pod["metadata"]["labels"]
    def selects(selector):
        return bool(selector) and all(labels.get(k) == v for k, v in selector.items())
    need(selects(deployment["spec"]["selector"]["matchLabels"]), "the Deployment's selector misses its pods")
    need(selects(docs["Service"]["spec"]["selector"]), "the Service selects no pod")
    need(selects(docs["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"]), "the PodDisruptionBudget selects no pod")
    target = docs["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    need(target["kind"] == "Deployment" and target["name"] == deployment["metadata"]["name"], "the autoscaler scales something else")
    metrics = docs["HorizontalPodAutoscaler"]["spec"]["metrics"]
    need(any(m["type"] == "Resource" and m["resource"]["name"] == "cpu" for m in metrics), "the autoscaler does not follow CPU")
    need(docs["HorizontalPodAutoscaler"]["spec"]["minReplicas"] > docs["PodDisruptionBudget"]["spec"].get("maxUnavailable", 0),
         "the budget may take every pod the autoscaler keeps")
    return problems


def overlay_problems(deployment, serve_reads):
    problems = []
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    model = next((e.get("value") for e in container.get("env", []) if e["name"] == "ROTARY_MODEL"), None)
    mounts = {m["name"]: m for m in container.get("volumeMounts", [])}
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"].get("volumes", [])}
    claim = load(DEPLOY / "model-volume" / "model-pvc.yaml")["metadata"]["name"]
    holding = [m for m in mounts.values() if model and model.startswith(m["mountPath"].rstrip("/") + "/")]
    if "ROTARY_MODEL" not in serve_reads or not model or not model.endswith(".gguf"):
        problems.append(f"the overlay's ROTARY_MODEL is {model!r}")
    if not holding or volumes.get(holding[0]["name"], {}).get("persistentVolumeClaim", {}).get("claimName") != claim:
        problems.append(f"the overlay's model {model} is not on the {claim} volume")
    if holding and not holding[0].get("readOnly"):
        problems.append("the model volume is mounted writable")
    return problems


def main():
    failures = []
    docs = resources()
    deployment_with_volume = overlay_deployment(docs["Deployment"])
    with tempfile.TemporaryDirectory() as work:
        patched = pathlib.Path(work) / "model-volume-deployment.yaml"
        patched.write_text(yaml.safe_dump(deployment_with_volume))
        files = [DEPLOY / n for n in load(DEPLOY / "kustomization.yaml")["resources"]]
        files += [DEPLOY / "secret.example.yaml", DEPLOY / "model-volume" / "model-pvc.yaml", patched]
        failures += validate(files)
    dockerfile = (ROOT / "Dockerfile").read_text()
    openapi = load(ROOT / "openapi.yaml")
    serve_reads = variables_serve_reads()
    problems = fact_problems(docs, dockerfile, openapi, serve_reads) + overlay_problems(deployment_with_volume, serve_reads)
    print(("ok  " if not problems else "FAIL"), f"manifests against the server: {len(problems)} problems",
          *[f"\n     {p}" for p in problems])
    failures += problems
    # The checks can fail: each broken copy must be reported.
    def broken(change):
        copy_ = copy.deepcopy(docs)
        change(copy_, copy_["Deployment"]["spec"]["template"]["spec"]["containers"][0], copy_["ConfigMap"]["data"])
        return fact_problems(copy_, dockerfile, openapi, serve_reads)
    breakages = {
        "a misspelt variable": lambda d, c, s: s.update(ROTARY_COMPUTE_THREAD="2"),
        "threads above the CPU limit": lambda d, c, s: s.update(ROTARY_COMPUTE_THREADS="4"),
        "readiness on /health": lambda d, c, s: c["readinessProbe"]["httpGet"].update(path="/health"),
        "another port": lambda d, c, s: s.update(ROTARY_PORT="9090"),
        "a short grace period": lambda d, c, s: d["Deployment"]["spec"]["template"]["spec"].update(terminationGracePeriodSeconds=20),
        "the image's CMD kept": lambda d, c, s: c.pop("args"),
        "a Service selecting nothing": lambda d, c, s: d["Service"]["spec"].update(selector={"app": "other"}),
    }
    missed = [name for name, change in breakages.items() if not broken(change)]
    print(("ok  " if not missed else "FAIL"), f"{len(breakages) - len(missed)} of {len(breakages)} broken copies caught",
          f"(missed: {', '.join(missed)})" if missed else "")
    failures += missed
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
