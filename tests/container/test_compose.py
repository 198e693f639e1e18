"""deploy/docker/compose.yaml brought up with podman-compose: three Parley
nodes, PostgreSQL, Redis, nginx and Prometheus (Grafana's image cannot be made
here, so it is left out; its provisioning is checked as files). The upstream
images are replaced by stand-ins built from Debian's packages through the
compose file's own variables (tests/container/images)."""

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import unittest

import yaml

from containers import (ENV, IMAGE, ROOT, SERVICES, UID, Remote, build_parley, build_services,
                        http_get, inspect, podman, skip_unless_podman, wait_until)
from harness import ResilientClient, ws_connect

COMPOSE = os.path.join(ROOT, "deploy", "docker", "compose.yaml")
NODES = ["parley-1", "parley-2", "parley-3"]
STACK = NODES + ["postgres", "redis", "nginx", "prometheus"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ComposeFileTest(unittest.TestCase):
    """What the stack promises, read from the file itself (no podman needed)."""

    def setUp(self):
        with open(COMPOSE) as f:
            self.doc = yaml.safe_load(f)
        self.services = self.doc["services"]

    def test_every_service_is_production_shaped(self):
        for name, svc in self.services.items():
            self.assertEqual(svc.get("restart"), "unless-stopped", name)
            self.assertIn("healthcheck", svc, name)
            self.assertEqual(svc["healthcheck"]["test"][0], "CMD-SHELL", name)
            limits = svc["deploy"]["resources"]["limits"]
            self.assertTrue(limits.get("cpus") and limits.get("memory"), name)
            self.assertEqual(svc["logging"]["driver"], "json-file", name)
            self.assertIn("max-size", svc["logging"]["options"], name)
            self.assertRegex(svc["image"], r"^\$\{[A-Z_]+_IMAGE:-[a-z0-9./-]+(:[\w.]+)?\}$", name)

    def test_nodes_have_distinct_ids_and_secrets_only_by_file(self):
        ids = [self.services[n]["environment"]["PARLEY_SERVER_NODE_ID"] for n in NODES]
        self.assertEqual(len(set(ids)), 3)
        with open(COMPOSE) as f:
            text = f.read()
        for svc in self.services.values():
            for key, value in (svc.get("environment") or {}).items():
                if any(word in key for word in ("SECRET", "PASSWORD", "TOKEN", "URL")):
                    self.assertTrue(key.endswith("_FILE") and value.startswith("/run/secrets/"), key)
        self.assertNotRegex(text, r"(?i)password\s*[:=]\s*\w{6,}")
        for name, secret in self.doc["secrets"].items():
            self.assertTrue(secret["file"].endswith("/" + name), name)
        for name in NODES:
            deps = self.services[name]["depends_on"]
            self.assertEqual({d: v["condition"] for d, v in deps.items()},
                             {"postgres": "service_healthy", "redis": "service_healthy"})

    def test_upstream_images_are_named_for_users(self):
        images = {n: self.services[n]["image"] for n in ("postgres", "redis", "nginx", "prometheus", "grafana")}
        self.assertIn("postgres:16", images["postgres"])
        self.assertIn("redis:7", images["redis"])
        self.assertIn("library/nginx:", images["nginx"])
        self.assertIn("prom/prometheus", images["prometheus"])
        self.assertIn("grafana/grafana", images["grafana"])

    def test_grafana_provisioning_points_at_the_stack(self):
        volumes = self.services["grafana"]["volumes"]
        mounted = {v.split(":")[0]: v.split(":")[1] for v in volumes}
        for src in mounted:
            if src.startswith("."):
                self.assertTrue(os.path.exists(os.path.join(ROOT, "deploy", "docker", src)), src)
        with open(os.path.join(ROOT, "deploy", "docker", "grafana", "datasources.yaml")) as f:
            ds = yaml.safe_load(f)["datasources"][0]
        self.assertEqual((ds["type"], ds["url"]), ("prometheus", "http://prometheus:9090"))
        with open(os.path.join(ROOT, "deploy", "docker", "grafana", "dashboards.yaml")) as f:
            provider = yaml.safe_load(f)["providers"][0]
        self.assertEqual(mounted["../grafana/parley-dashboard.json"].rsplit("/", 1)[0],
                         provider["options"]["path"])


class ComposeStackTest(unittest.TestCase):
    torn_down = False

    @classmethod
    def setUpClass(cls):
        skip_unless_podman()
        if not shutil.which("podman-compose"):
            raise unittest.SkipTest("podman-compose is not installed")
        build_parley()
        build_services()
        cls.project = "parleyit" + secrets.token_hex(3)
        cls.secret_dir = tempfile.mkdtemp(prefix="parley-secrets-")
        cls.http_port, cls.prom_port = free_port(), free_port()
        cls.env = {**ENV, "PARLEY_SECRETS_DIR": cls.secret_dir, "PARLEY_IMAGE": IMAGE,
                   "PARLEY_HTTP_PORT": f"127.0.0.1:{cls.http_port}",
                   "PROMETHEUS_PORT": f"127.0.0.1:{cls.prom_port}",
                   **{f"{name.upper()}_IMAGE": tag for name, tag in SERVICES.items()}}
        subprocess.run(["bash", os.path.join(ROOT, "deploy", "docker", "secrets.sh")], env=cls.env,
                       check=True, capture_output=True, timeout=60)
        try:
            cls.compose("up", "-d", *STACK)
            cls.front = Remote("127.0.0.1", cls.http_port)
            wait_until("the stack's /api/ready through nginx", cls.front.ready, timeout=180)
            cls.nodes = {n: Remote(cls.address(n), 8080) for n in NODES}
            for name, node in cls.nodes.items():
                wait_until(f"{name} ready", node.ready, timeout=120)
        except BaseException:
            cls.dump_logs()
            cls.down()
            raise

    @classmethod
    def tearDownClass(cls):
        if not cls.torn_down:
            cls.down()
        shutil.rmtree(cls.secret_dir, ignore_errors=True)

    @classmethod
    def compose(cls, *args, check=True, timeout=600):
        out = subprocess.run(["podman-compose", "-p", cls.project, "-f", COMPOSE, *args], env=cls.env,
                             capture_output=True, text=True, timeout=timeout)
        if check and out.returncode != 0:
            raise AssertionError(f"podman-compose {' '.join(args)}: {out.returncode}\n"
                                 f"{out.stdout[-3000:]}\n{out.stderr[-3000:]}")
        return out

    @classmethod
    def down(cls):
        cls.compose("down", "-v", "-t", "30", check=False)
        podman("network", "rm", f"{cls.project}_default", check=False)
        cls.torn_down = True

    @classmethod
    def container(cls, service):
        return f"{cls.project}_{service}_1"

    @classmethod
    def address(cls, service):
        networks = inspect("container", cls.container(service))["NetworkSettings"]["Networks"]
        return next(iter(networks.values()))["IPAddress"]

    @classmethod
    def dump_logs(cls):
        for service in STACK:
            logs = podman("logs", "--tail", "20", cls.container(service), check=False)
            print(f"--- {service}\n{logs.stdout[-2000:]}{logs.stderr[-2000:]}")

    def secret(self, name):
        with open(os.path.join(self.secret_dir, name)) as f:
            return f.read().strip()

    def test_1_containers_run_as_the_file_says(self):
        for name in NODES:
            info = inspect("container", self.container(name))
            host = info["HostConfig"]
            self.assertEqual(host["Memory"], 1 << 30, name)
            self.assertEqual(host["NanoCpus"], 2_000_000_000, name)
            self.assertEqual(host["RestartPolicy"]["Name"], "unless-stopped", name)
            self.assertIn(host["LogConfig"]["Type"], ("json-file", "k8s-file"), name)
            size = host["LogConfig"].get("Size") or host["LogConfig"]["Config"].get("max-size")
            self.assertIn(str(size).lower(), ("10mb", "10m"), name)
            self.assertEqual(info["Config"]["User"], f"{UID}:{UID}", name)
            self.assertTrue(host["ReadonlyRootfs"], name)
            self.assertEqual(info["EffectiveCaps"] or [], [], name)
            self.assertIn("no-new-privileges", " ".join(host.get("SecurityOpt") or []), name)
            dumped = json.dumps(info)
            for secret in ("postgres_password", "redis_password", "jwt_secret", "metrics_token"):
                self.assertNotIn(self.secret(secret), dumped, f"{secret} visible in {name}'s inspect")
            podman("healthcheck", "run", self.container(name))
        for name in ("postgres", "redis", "nginx", "prometheus"):
            podman("healthcheck", "run", self.container(name))

    def test_2_a_message_through_nginx_reaches_every_node(self):
        alice, bob = self.front.register("alice"), self.front.register("bob")
        type(self).alice, type(self).bob = alice, bob
        status, _, conv = self.front.request("POST", "/api/conversations",
                                             {"kind": "group", "title": "stack", "members": [bob["user"]["id"]]},
                                             token=alice["access_token"])
        self.assertEqual(status, 201, conv)
        type(self).conv = conv["id"]
        readers = {name: ws_connect(node, bob["access_token"]) for name, node in self.nodes.items()}
        readers["nginx"] = ws_connect(self.front, bob["access_token"])
        for r in readers.values():
            self.assertTrue(r.request("subscribe", conversations=[{"conv": conv["id"]}])["ok"])
        status, _, sent = self.front.request("POST", f"/api/conversations/{conv['id']}/messages",
                                             {"client_id": "m1", "body": "to every node"},
                                             token=alice["access_token"])
        self.assertEqual(status, 201, sent)
        for name, r in readers.items():
            event = r.event("message.new")
            self.assertEqual((event["seq"], event["message"]["body"]), (sent["seq"], "to every node"), name)
            r.close()

    def test_3_the_service_stays_up_with_a_node_stopped(self):
        token = self.alice["access_token"]
        readers = {n: ws_connect(self.nodes[n], self.bob["access_token"]) for n in ("parley-1", "parley-3")}
        for r in readers.values():
            self.assertTrue(r.request("subscribe", conversations=[{"conv": self.conv}])["ok"])
        podman("stop", "-t", "30", self.container("parley-2"))
        try:
            seqs = []
            for i in range(20):
                status, _, sent = self.front.request("POST", f"/api/conversations/{self.conv}/messages",
                                                     {"client_id": f"down-{i}", "body": f"n{i}"}, token=token)
                self.assertEqual(status, 201, sent)
                seqs.append(sent["seq"])
            for name, r in readers.items():
                self.assertEqual([r.event("message.new")["seq"] for _ in seqs], seqs, name)
                r.close()
        finally:
            podman("start", self.container("parley-2"))
        node = Remote(self.address("parley-2"), 8080)
        wait_until("parley-2 back", node.ready, timeout=120)
        # Back on the restarted node, a client catches up from where it was.
        c = ws_connect(node, self.bob["access_token"])
        self.assertTrue(c.request("subscribe", conversations=[{"conv": self.conv, "since": seqs[0] - 1}])["ok"])
        self.assertEqual([c.event("message.new")["seq"] for _ in seqs], seqs)
        c.close()

    def test_4_prometheus_scrapes_every_node_with_the_rules_loaded(self):
        base = f"http://127.0.0.1:{self.prom_port}"

        def all_up():
            status, body = http_get(base + "/api/v1/targets")
            targets = [t for t in json.loads(body)["data"]["activeTargets"] if t["labels"]["job"] == "parley"]
            health = {t["labels"]["instance"]: t["health"] for t in targets}
            return health if sorted(health) == [f"{n}:8080" for n in NODES] and \
                set(health.values()) == {"up"} else None

        wait_until("every node's target up in Prometheus", all_up, timeout=120, interval=2)
        _, body = http_get(base + "/api/v1/rules")
        groups = [g["name"] for g in json.loads(body)["data"]["groups"]]
        self.assertIn("parley", groups)
        # The scrape needs the token: without it a node refuses.
        status, _ = http_get(f"http://{self.address('parley-1')}:8080/metrics")
        self.assertEqual(status, 401)
        status, _ = http_get(f"http://{self.address('parley-1')}:8080/metrics", token=self.secret("metrics_token"))
        self.assertEqual(status, 200)

    def test_5_the_readme_backup_holds_the_messages(self):
        # README "Containers": pg_dump inside the postgres service, custom format.
        dump = subprocess.run(["podman", "exec", self.container("postgres"), "pg_dump", "-U", "parley", "-Fc",
                               "parley"], env=ENV, capture_output=True, timeout=120, check=True).stdout
        self.assertGreater(len(dump), 1000)
        listing = subprocess.run(["podman", "exec", "-i", self.container("postgres"), "pg_restore", "-l"],
                                 env=ENV, input=dump, capture_output=True, timeout=120, check=True).stdout
        self.assertIn(b"TABLE DATA public messages", listing)
        # The dump restores into an empty database with every message.
        exec_sql = ["podman", "exec", self.container("postgres"), "psql", "-U", "parley", "-qtAc"]
        subprocess.run(exec_sql + ["CREATE DATABASE restored"], env=ENV, check=True, capture_output=True)
        subprocess.run(["podman", "exec", "-i", self.container("postgres"), "pg_restore", "-U", "parley",
                        "-d", "restored"], env=ENV, input=dump, check=True, capture_output=True, timeout=120)
        count = subprocess.run(["podman", "exec", self.container("postgres"), "psql", "-U", "parley", "-d",
                                "restored", "-qtAc", "SELECT count(*) FROM messages"],
                               env=ENV, check=True, capture_output=True, text=True).stdout.strip()
        self.assertEqual(int(count), 21)  # one in test 2, twenty with a node down

    def test_6_a_rolling_upgrade_loses_nothing(self):
        # README "Containers": one node at a time, recreated (drained with
        # SIGTERM, a new container on the same volume), while a client sends
        # through nginx and another reads; both follow their node's going away.
        sender = ResilientClient(self.http_port, self.alice["access_token"], self.conv)
        reader = ResilientClient(self.http_port, self.bob["access_token"], self.conv)
        acks, done = [], threading.Event()

        failures = []

        def send():
            try:
                i = 0
                while not done.is_set() or i < 50:
                    acks.append(sender.send(f"roll-{i}", f"r{i}"))
                    i += 1
                    time.sleep(0.02)
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(f"sender: {e!r}")

        def read():
            try:
                while not done.is_set():
                    reader.drain(len(reader.seqs) + 1, timeout=1)
            except Exception as e:  # noqa: BLE001 - reported below
                failures.append(f"reader: {e!r}")

        thread = threading.Thread(target=send)
        thread.start()
        reading = threading.Thread(target=read)
        reading.start()
        try:
            for name in NODES:
                # podman-compose 1.0's `up --force-recreate` stops the
                # dependencies too and passes `-t 30.0`, which podman refuses:
                # stop and remove the node with podman, then `up` it alone.
                podman("stop", "-t", "30", self.container(name))
                podman("rm", self.container(name))
                self.compose("up", "-d", "--no-deps", name)
                node = Remote(self.address(name), 8080)
                wait_until(f"{name} recreated", node.ready, timeout=120)
                # The new container has a new address, which nginx learns on a
                # reload (it resolves upstream names when it loads its config).
                podman("exec", self.container("nginx"), "nginx", "-s", "reload")
                time.sleep(1)
        finally:
            done.set()
            thread.join(timeout=120)
            reading.join(timeout=120)
        self.assertFalse(thread.is_alive() or reading.is_alive(), "a client is stuck")
        # Without the nginx reload: "sender: ConnectionError('handshake 502')".
        self.assertEqual(failures, [])
        self.assertEqual(acks, list(range(acks[0], acks[0] + len(acks))), "acks not gapless")
        reader.drain(acks[-1], timeout=60)
        self.assertEqual(reader.errors, [])
        self.assertEqual(reader.seqs, list(range(1, acks[-1] + 1)))
        # Every node was replaced, so both clients had to move at least once.
        self.assertGreaterEqual(min(sender.reconnects, reader.reconnects), 1, "a client was not moved")
        print(f"rolling upgrade: {len(acks)} messages, reconnects: sender {sender.reconnects}, "
              f"reader {reader.reconnects}")
        sender.close()
        reader.close()

    def test_9_down_leaves_nothing_behind(self):
        type(self).torn_down = True
        self.compose("down", "-v", "-t", "30")
        label = f"label=io.podman.compose.project={self.project}"
        self.assertEqual(podman("ps", "-a", "-q", "--filter", label).stdout.strip(), "")
        self.assertEqual(podman("volume", "ls", "-q", "--filter", label).stdout.strip(), "")
        processes = subprocess.run(["pgrep", "-af", self.project], capture_output=True, text=True).stdout
        self.assertEqual(processes.strip(), "")
        # podman-compose 1.0 leaves the project's network (docker compose removes
        # it): nothing runs in it; README says to remove it, as done here.
        leftover = [n for n in podman("network", "ls", "--format", "{{.Name}}").stdout.split() if
                    n.startswith(self.project)]
        self.assertIn(leftover, ([], [f"{self.project}_default"]))
        for network in leftover:
            self.assertEqual(podman("ps", "-a", "-q", "--filter", f"network={network}").stdout.strip(), "")
            podman("network", "rm", network)


if __name__ == "__main__":
    unittest.main()
