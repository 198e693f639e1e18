"""Parley's production image (deploy/docker/Dockerfile), built from what a clean
clone holds and run with podman: non-root, healthy by its own HEALTHCHECK,
serving REST and WebSocket on the published port, draining on SIGTERM, keeping
its data in the volume, and holding no compiler, source or secret."""

import os
import secrets
import tempfile
import time
import unittest

from containers import (BASE, IMAGE, UID, commit, Remote, build_parley, inspect, podman, skip_unless_podman,
                        wait_until)
from harness import ws_connect

MAX_IMAGE_BYTES = 120 * 1000 * 1000


class ImageTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        skip_unless_podman()
        cls.build_seconds = build_parley()
        cls.image = inspect("image", IMAGE)

    def test_image_metadata(self):
        config = self.image["Config"]
        self.assertEqual(config["User"], f"{UID}:{UID}")
        self.assertEqual(config["StopSignal"], "SIGTERM")
        self.assertIn("8080/tcp", config["ExposedPorts"])
        self.assertIn("/var/lib/parley", config["Volumes"])
        self.assertEqual(config["Entrypoint"], ["/usr/local/bin/parley"])
        check = self.image.get("Healthcheck") or config.get("Healthcheck")
        self.assertIsNotNone(check, "no HEALTHCHECK (built without --format docker?)")
        self.assertIn("healthcheck", " ".join(check["Test"]))
        labels = self.image["Labels"] or config.get("Labels") or {}
        self.assertEqual(labels.get("org.opencontainers.image.revision"), commit())
        self.assertEqual(labels.get("org.opencontainers.image.base.name"), BASE)
        env = dict(e.split("=", 1) for e in config["Env"])
        self.assertEqual(env["PARLEY_MODE"], "production")
        for name in env:
            self.assertNotRegex(name, "SECRET$|PASSWORD$|TOKEN$|_URL$", "a secret in the image's environment")
        print(f"image size {self.image['Size'] / 1e6:.1f} MB, built in {self.build_seconds:.0f} s")
        self.assertLess(self.image["Size"], MAX_IMAGE_BYTES)

    def test_no_compiler_source_or_secret_inside(self):
        script = r"""
for tool in cc gcc g++ c++ clang cmake ninja make node npm git ccache curl; do
  command -v "$tool" && echo "found tool $tool"
done
for dir in /src /build /root/.npm /root/.cache/ccache /usr/include/boost /run/secrets/build-ca; do
  [ -e "$dir" ] && echo "found $dir"
done
find / -xdev \( -name '*.cpp' -o -name '*.hpp' -o -name '*.ts' -o -name CMakeLists.txt \
  -o -name package.json -o -name package-lock.json -o -name '*.pem' -o -name '*.key' \
  -o -name node_modules -o -name .git \) -not -type l -not -path '/proc/*' -not -path '/etc/ssl/certs/*' \
  -not -path '/usr/share/ca-certificates/*' -print 2>/dev/null | sed 's/^/found file /'
grep -rlE 'BEGIN [A-Z ]*PRIVATE KEY' /etc /usr/local /var/lib/parley /root 2>/dev/null | sed 's/^/found key /'
echo done
"""
        out = podman("run", "--rm", "--user", "0", "--entrypoint", "/bin/sh", IMAGE, "-c", script).stdout
        self.assertTrue(out.strip().endswith("done"), out)
        self.assertEqual([l for l in out.splitlines() if l.startswith("found")], [], out)
        # The binary is there, stripped, and says which commit it is.
        version = podman("run", "--rm", IMAGE, "version").stdout
        self.assertIn("parley", version)
        self.assertNotIn("unknown", version)

    def test_run_serve_drain_and_keep_data(self):
        name = "parley-it-" + secrets.token_hex(4)
        volume = name + "-data"
        secret_dir = tempfile.mkdtemp(prefix="parley-secret-")
        with open(os.path.join(secret_dir, "jwt_secret"), "w") as f:
            f.write(secrets.token_urlsafe(48) + "\n")
        os.chmod(os.path.join(secret_dir, "jwt_secret"), 0o444)

        def run():
            # Hardened as compose.yaml runs it: read-only root, no capabilities.
            podman("run", "-d", "--name", name, "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
                   "--security-opt", "no-new-privileges", "-p", "127.0.0.1::8080", "-v", f"{volume}:/var/lib/parley",
                   "-v", f"{secret_dir}/jwt_secret:/run/secrets/jwt_secret:ro",
                   "-e", "PARLEY_AUTH_JWT_SECRET_FILE=/run/secrets/jwt_secret", IMAGE)
            port = int(podman("port", name, "8080/tcp").stdout.strip().rsplit(":", 1)[1])
            server = Remote("127.0.0.1", port)
            wait_until("the container's /api/ready", server.ready, timeout=60)
            return server

        try:
            server = run()
            # Runs as the non-root uid, PID 1 included.
            status = podman("exec", name, "cat", "/proc/1/status").stdout
            uid_line = next(l for l in status.splitlines() if l.startswith("Uid:"))
            self.assertEqual(uid_line.split()[1:], [str(UID)] * 4)
            self.assertEqual(podman("exec", name, "id", "-u").stdout.strip(), str(UID))
            # The image's own HEALTHCHECK turns it healthy (podman runs it on
            # demand here: its timers need systemd).
            podman("healthcheck", "run", name)
            state = inspect("container", name)["State"]
            health = state.get("Health") or state.get("Healthcheck")
            self.assertEqual(health["Status"], "healthy")

            # REST and a WebSocket message through the published port.
            alice, bob = server.register("alice"), server.register("bob")
            status, _, conv = server.request("POST", "/api/conversations",
                                             {"kind": "group", "title": "in a box", "members": [bob["user"]["id"]]},
                                             token=alice["access_token"])
            self.assertEqual(status, 201, conv)
            reader = ws_connect(server, bob["access_token"])
            self.assertTrue(reader.request("subscribe", conversations=[{"conv": conv["id"]}])["ok"])
            writer = ws_connect(server, alice["access_token"])
            ack = writer.request("send", conv=conv["id"], client_id="c1", body="hello from the container")
            self.assertTrue(ack["ok"], ack)
            self.assertEqual(reader.event("message.new")["message"]["body"], "hello from the container")
            writer.close()

            # SIGTERM drains: the open WebSocket is closed with 1001 (going away),
            # and the process exits 0 well within the grace period.
            started = time.monotonic()
            podman("stop", "-t", "30", name)
            elapsed = time.monotonic() - started
            self.assertEqual(reader.expect_close(), 1001)
            state = inspect("container", name)["State"]
            self.assertEqual(state["ExitCode"], 0, podman("logs", name).stderr[-2000:])
            self.assertLess(elapsed, 25)
            logs = podman("logs", name)
            self.assertIn('"event":"shutdown_complete","clean":true', logs.stdout + logs.stderr)

            # A new container on the same volume (an upgrade) has the data.
            podman("rm", name)
            server = run()
            status, _, again = server.login("alice")
            self.assertEqual(status, 200, again)
            status, _, page = server.request("GET", f"/api/conversations/{conv['id']}/messages",
                                             token=again["access_token"])
            self.assertEqual(status, 200, page)
            self.assertEqual([m["body"] for m in page["messages"]], ["hello from the container"])
        finally:
            podman("rm", "-f", "-t", "0", name, check=False)
            podman("volume", "rm", "-f", volume, check=False)


if __name__ == "__main__":
    unittest.main()
