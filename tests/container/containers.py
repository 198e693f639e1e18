"""Podman for the container tests: the Debian base image (debootstrap,
scripts/container-base.sh), Parley's image (deploy/docker/Dockerfile) built
from what a clean clone holds, and the stand-ins for the compose stack's
upstream images (tests/container/images). Everything runs with
tests/container/containers.conf (runc, no default ulimits)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

from harness import Server  # noqa: E402

ENV = {**os.environ, "CONTAINERS_CONF": os.path.join(HERE, "containers.conf")}
BASE = "localhost/debian:bookworm-slim"
IMAGE = os.environ.get("PARLEY_TEST_IMAGE", "localhost/parley:test")
SERVICES = {name: f"localhost/parley-test-{name}:latest"
            for name in ("postgres", "redis", "nginx", "prometheus")}
BUILD_CACHE = "localhost/parley-build:cache"
UID = 10001
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # for npm behind a TLS-intercepting proxy


def podman(*args, check=True, timeout=900, input=None):
    out = subprocess.run(["podman", *args], env=ENV, capture_output=True, text=True,
                         timeout=timeout, input=input)
    if check and out.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: exit {out.returncode}\n{out.stderr[-3000:]}")
    return out


def inspect(kind, name):
    return json.loads(podman(kind, "inspect", name).stdout)[0]


_unavailable = None


def skip_unless_podman():
    """Skips (with the reason) where podman cannot build and run containers."""
    global _unavailable
    if _unavailable is None:
        _unavailable = ""
        for tool in ("podman", "debootstrap"):
            if not shutil.which(tool):
                _unavailable = f"{tool} is not installed (scripts/install-deps.sh installs it)"
        if not _unavailable:
            if os.geteuid() != 0:
                _unavailable = "needs root (rootful podman with bridge networking)"
            else:
                base = subprocess.run(["bash", os.path.join(ROOT, "scripts", "container-base.sh"), BASE],
                                      env=ENV, capture_output=True, text=True, timeout=900)
                if base.returncode != 0:
                    _unavailable = "cannot make the base image: " + base.stderr[-800:]
                else:
                    run = podman("run", "--rm", BASE, "true", check=False, timeout=120)
                    if run.returncode != 0:
                        _unavailable = "podman cannot run a container here: " + run.stderr[-800:]
    if _unavailable:
        print(f"container tests skipped: {_unavailable}", flush=True)
        raise unittest.SkipTest(_unavailable)


def clean_context():
    """A build context holding what a clean clone would: tracked files and new
    ones not ignored, with this tree's edits, and no build output."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                           cwd=ROOT, capture_output=True, check=True).stdout.split(b"\0")
    ctx = tempfile.mkdtemp(prefix="parley-ctx-")
    for rel in filter(None, (f.decode() for f in files)):
        src = os.path.join(ROOT, rel)
        if not os.path.isfile(src):  # deleted in the work tree
            continue
        dst = os.path.join(ctx, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copy2(src, dst)
    return ctx


def commit():
    out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


_built = {}


def build_parley():
    """Builds IMAGE once per process; returns the seconds it took."""
    if "parley" not in _built:
        ctx = clean_context()
        try:
            args = ["build", "--format", "docker", "--pull=never", "--build-arg", f"BASE_IMAGE={BASE}",
                    "--build-arg", f"PARLEY_COMMIT={commit()}", "-f",
                    os.path.join(ctx, "deploy", "docker", "Dockerfile")]
            if os.path.exists(CA_BUNDLE):
                args += ["--secret", f"id=build-ca,src={CA_BUNDLE}"]
            started = time.monotonic()
            # The build stage is tagged too, so that pruning the layers older
            # builds left behind keeps the ones the next build reuses.
            podman(*args, "--target", "build", "-t", BUILD_CACHE, ctx, timeout=3000)
            podman(*args, "-t", IMAGE, ctx, timeout=3000)
            _built["parley"] = time.monotonic() - started
            podman("image", "prune", "-f", check=False)
        finally:
            shutil.rmtree(ctx, ignore_errors=True)
        print(f"built {IMAGE} in {_built['parley']:.0f} s", flush=True)
    return _built["parley"]


def build_services():
    for name, tag in SERVICES.items():
        if name in _built:
            continue
        started = time.monotonic()
        podman("build", "--format", "docker", "--pull=never", "--build-arg", f"BASE_IMAGE={BASE}",
               "-f", os.path.join(HERE, "images", f"{name}.Containerfile"), "-t", tag,
               os.path.join(HERE, "images"), timeout=900)
        _built[name] = time.monotonic() - started


def wait_until(what, check, timeout=90, interval=0.5):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            result = check()
            if result:
                return result
        except Exception as e:  # noqa: BLE001 - the last error is reported
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}" + (f": {last!r}" if last else ""))


def http_get(url, token=None, timeout=5):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class Remote(Server):
    """A Parley reached at host:port (a container), with the harness's helpers."""

    def __init__(self, host, port):  # pylint: disable=super-init-not-called
        self.host, self.port = host, port
        self.lines = []

    def ready(self):
        return http_get(f"http://{self.host}:{self.port}/api/ready")[0] == 200
