"""server.trusted_proxies takes networks (CIDR) as well as addresses: behind a
proxy in a container network, whose address comes from the network's range,
X-Forwarded-For is believed from that range and from nowhere else."""

import subprocess
import time
import unittest

from harness import BIN, Server


def client_logged(server, request_id):
    deadline = time.time() + 5
    while time.time() < deadline:
        for e in server.log_events("http_request"):
            if e.get("request_id") == request_id:
                return e["client"]
        time.sleep(0.05)
    raise AssertionError("request not logged")


class TrustedNetworkTest(unittest.TestCase):
    def check(self, trusted, believed):
        server = Server({"server.trusted_proxies": trusted, "log.access_log": "true"}).start()
        try:
            status, _, _ = server.request("GET", "/api/live", headers={
                "X-Forwarded-For": "203.0.113.9", "X-Request-Id": "xff-" + str(believed).lower()})
            self.assertEqual(status, 200)
            return client_logged(server, "xff-" + str(believed).lower())
        finally:
            server.stop()
            server.cleanup()

    def test_a_network_that_holds_the_proxy_is_believed(self):
        self.assertEqual(self.check("127.0.0.0/8", True), "203.0.113.9")

    def test_a_network_that_does_not_is_not(self):
        self.assertEqual(self.check("10.0.0.0/8", False), "127.0.0.1")

    def test_a_bad_entry_is_a_clear_configuration_error(self):
        out = subprocess.run([BIN, "config", "check", "--set", "server.trusted_proxies=10.0.0.0/33"],
                             capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)
        self.assertIn("'10.0.0.0/33' is not an IP address or a network", out.stdout + out.stderr)


if __name__ == "__main__":
    unittest.main()
