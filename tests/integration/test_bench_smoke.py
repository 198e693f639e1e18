"""parley-bench --smoke against the real server: correctness only (no loss, no
duplicate, no reordering, every acked message delivered to every subscriber);
timing is never judged here."""

import json
import os
import subprocess
import unittest

from harness import ServerTest

BENCH = os.environ.get("PARLEY_BENCH", os.path.join(os.path.dirname(__file__), "../../build/dev/parley_bench"))


class BenchSmokeTest(ServerTest):
    SETTINGS = {"ws.max_connections_per_user": "1000", "ws.rate_per_s": "100000",
                "ws.rate_burst": "100000", "log.access_log": "false"}

    def test_fanout_smoke_loses_nothing(self):
        self.smoke([])

    def test_fanout_smoke_loses_nothing_with_binary_subscribers(self):
        self.assertEqual(self.smoke(["--proto"])["encoding"], "parley.v1.proto")

    def smoke(self, extra):
        r = subprocess.run([BENCH, "--port", str(self.server.port), "--smoke", *extra],
                           capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        summary = json.loads(r.stdout.strip().splitlines()[-1])
        self.assertEqual((summary["lost"], summary["duplicates"], summary["reordered"], summary["errors"]),
                         (0, 0, 0, 0))
        self.assertGreater(summary["acked"], 0)
        self.assertEqual(summary["deliveries"], summary["expected_deliveries"])
        self.assertNotIn("failure", summary)
        return summary


if __name__ == "__main__":
    unittest.main()
