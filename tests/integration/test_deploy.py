"""The files in deploy/ are checked, not just shipped: the Prometheus rules
load (promtool check rules) and behave as their unit tests say (promtool test
rules), every metric they and the Grafana dashboard name is one a running
Parley exports (or, for cluster-only ones, registers in its source), and the
systemd unit verifies cleanly (systemd-analyze verify, no warnings)."""

import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from harness import BIN, ServerTest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
RULES = os.path.join(ROOT, "deploy", "prometheus", "parley-rules.yml")
RULE_TESTS = os.path.join(ROOT, "deploy", "prometheus", "parley-rules.test.yml")
UNIT = os.path.join(ROOT, "deploy", "systemd", "parley.service")
DASHBOARD = os.path.join(ROOT, "deploy", "grafana", "parley-dashboard.json")


def source_text():
    chunks = []
    for dirpath, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in files:
            if name.endswith((".cpp", ".hpp")):
                with open(os.path.join(dirpath, name)) as f:
                    chunks.append(f.read())
    return "\n".join(chunks)


class DeployFilesTest(ServerTest):
    SETTINGS = {"backup.dir": "backups", "backup.interval_s": "3600"}

    @unittest.skipUnless(shutil.which("promtool"), "promtool is not installed (scripts/install-deps.sh installs it)")
    def test_prometheus_rules_load_and_pass_their_unit_tests(self):
        for args in (["check", "rules", RULES], ["test", "rules", RULE_TESTS]):
            r = subprocess.run(["promtool", *args], capture_output=True, text=True, timeout=60,
                               cwd=os.path.dirname(RULES))
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def test_every_metric_in_the_rules_exists(self):
        with open(RULES) as f:
            exprs = "\n".join(line for line in f if not line.strip().startswith(("summary", "runbook", "#")))
        self.assert_metrics_exist(exprs)

    def test_the_grafana_dashboard_is_well_formed_and_names_only_real_metrics(self):
        with open(DASHBOARD) as f:
            dash = json.load(f)
        # A data source variable, not an import-time input: Grafana's file
        # provisioning (deploy/docker/grafana) substitutes no __inputs.
        self.assertNotIn("__inputs", dash)
        self.assertEqual([(v["name"], v["type"], v["query"]) for v in dash["templating"]["list"]],
                         [("datasource", "datasource", "prometheus")])
        ids = [p["id"] for p in dash["panels"]]
        self.assertEqual(len(ids), len(set(ids)), "panel ids repeat")
        exprs = []
        for p in dash["panels"]:
            self.assertEqual(p["datasource"]["uid"], "${datasource}", p["title"])
            self.assertTrue({"h", "w", "x", "y"} <= set(p["gridPos"]), p["title"])
            self.assertTrue(p["targets"], p["title"])
            exprs += [t["expr"] for t in p["targets"]]
        self.assert_metrics_exist("\n".join(exprs))

    def assert_metrics_exist(self, exprs):
        names = {re.sub(r"_(bucket|sum|count)$", "", n) for n in re.findall(r"\b((?:parley|process)_[a-z_]+)\b", exprs)}
        self.assertGreater(len(names), 8)
        self.server.request("GET", "/api/live")  # labelled series appear with their first request
        _, _, text = self.server.request("GET", "/metrics")
        exported = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
        source = source_text()
        for name in sorted(names):
            with self.subTest(name):
                # Cluster metrics exist only with redis.url: those must at least be registered.
                self.assertTrue(name in exported or (name.startswith("parley_cluster_") and f'"{name}"' in source),
                                f"{name} is neither exported nor registered")

    @unittest.skipUnless(shutil.which("systemd-analyze"), "systemd-analyze is not installed")
    def test_the_systemd_unit_verifies_without_warnings(self):
        with open(UNIT) as f:
            unit = f.read()
        self.assertIn("ExecStart=/usr/local/bin/parley serve", unit)
        self.assertIn("LimitNOFILE=", unit)
        with tempfile.TemporaryDirectory() as d:
            # The installed path does not exist here: verify against the built binary.
            path = os.path.join(d, "parley.service")
            with open(path, "w") as f:
                f.write(unit.replace("/usr/local/bin/parley", os.path.abspath(BIN)))
            r = subprocess.run(["systemd-analyze", "verify", path], capture_output=True, text=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(r.stderr.strip(), "", "warnings: " + r.stderr)


    def test_the_units_own_command_lines_start_a_production_node_with_the_secret_from_its_credential(self):
        """Runs ExecStartPre and ExecStart as written, with the unit's paths and
        %d (systemd's credentials directory) pointed at a temporary tree: the
        production node starts only if the JWT secret arrives through
        PARLEY_AUTH_JWT_SECRET_FILE (production refuses the development one)."""
        with open(UNIT) as f:
            unit = f.read()
        lines = dict(re.findall(r"^(ExecStartPre|ExecStart|Environment|LoadCredential)=(.*)$", unit, re.M))
        with tempfile.TemporaryDirectory() as d:
            etc, data, creds = (os.path.join(d, n) for n in ("etc", "data", "creds"))
            for x in (etc, data, creds):
                os.makedirs(x)
            with open(os.path.join(etc, "parley.toml"), "w") as f:
                f.write('mode = "production"\n[server]\nport = 0\n[backup]\ndir = "%s"\n' % os.path.join(data, "b"))
            name, source = lines["LoadCredential"].split(":", 1)
            self.assertEqual(source, "/etc/parley/" + name)
            with open(os.path.join(creds, name), "w") as f:
                f.write("c" * 48 + "\n")  # as `openssl rand -base64 48 > file` leaves it: a newline

            def command(line):
                line = line.replace("/usr/local/bin/parley", os.path.abspath(BIN))
                return line.replace("/etc/parley", etc).replace("/var/lib/parley", data).split()

            var, value = lines["Environment"].split("=", 1)
            env = {k: v for k, v in os.environ.items() if not k.startswith("PARLEY_")}
            env[var] = value.replace("%d", creds)
            r = subprocess.run(command(lines["ExecStartPre"]), capture_output=True, text=True, timeout=60, env=env)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertRegex(r.stdout, r"(?m)^ok +mode +production$")
            proc = subprocess.Popen(command(lines["ExecStart"]), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    text=True, env=env)
            try:
                started = None
                for line in proc.stdout:
                    if '"event":"listening"' in line:
                        started = json.loads(line)
                        break
                self.assertIsNotNone(started, "the node did not start")
                self.assertEqual(started["mode"], "production")
            finally:
                proc.terminate()
                proc.wait(20)
            # Without the credential the same production node refuses to start.
            del env[var]
            r = subprocess.run(command(lines["ExecStartPre"]), capture_output=True, text=True, timeout=60, env=env)
            self.assertEqual(r.returncode, 2)
            self.assertIn("development default", r.stderr)


if __name__ == "__main__":
    unittest.main()
