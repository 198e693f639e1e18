"""Messages over REST: idempotent sends, seq, pagination, edits, tombstones, read state."""

import threading
import unittest

from harness import ServerTest


class MessageTest(ServerTest):
    SETTINGS = {"limits.max_message_bytes": "2000"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_m")
        cls.ben = cls.server.register("ben_m")
        cls.eve = cls.server.register("eve_m")

    def new_conversation(self):
        status, _, c = self.server.request("POST", "/api/conversations",
                                           {"kind": "group", "title": "t", "members": [self.ben["user"]["id"]]},
                                           token=self.ann["access_token"])
        self.assertEqual(status, 201)
        return c["id"]

    def send(self, cid, client_id, body, who=None):
        who = who or self.ann
        return self.server.request("POST", f"/api/conversations/{cid}/messages",
                                   {"client_id": client_id, "body": body}, token=who["access_token"])

    def test_retry_with_same_client_id_returns_the_first_message(self):
        cid = self.new_conversation()
        status, headers, first = self.send(cid, "retry-x", "once only")
        self.assertEqual(status, 201)
        self.assertEqual(first["seq"], 1)
        self.assertTrue(headers["location"].endswith("/messages/1"))
        status, _, again = self.send(cid, "retry-x", "once only")
        self.assertEqual(status, 200)
        self.assertEqual(again["id"], first["id"])
        _, _, page = self.server.request("GET", f"/api/conversations/{cid}/messages", token=self.ann["access_token"])
        self.assertEqual(len(page["messages"]), 1)

    def test_concurrent_sends_get_gapless_unique_seqs(self):
        cid = self.new_conversation()
        results = []
        lock = threading.Lock()

        def worker(t):
            for i in range(15):
                status, _, m = self.send(cid, f"t{t}-{i}", f"message {t}-{i}")
                with lock:
                    results.append((status, m["seq"]))

        threads = [threading.Thread(target=worker, args=(t,)) for t in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertTrue(all(s == 201 for s, _ in results))
        self.assertEqual(sorted(seq for _, seq in results), list(range(1, 91)))
        _, _, page = self.server.request("GET", f"/api/conversations/{cid}/messages?after=0&limit=200", token=self.ben["access_token"])
        self.assertEqual([m["seq"] for m in page["messages"]], list(range(1, 91)))

    def test_pagination_both_directions(self):
        cid = self.new_conversation()
        for i in range(12):
            self.send(cid, f"p{i}", f"m{i}")
        tok = self.ben["access_token"]
        _, _, newest = self.server.request("GET", f"/api/conversations/{cid}/messages?limit=5", token=tok)
        self.assertEqual([m["seq"] for m in newest["messages"]], [12, 11, 10, 9, 8])
        self.assertEqual((newest["order"], newest["has_more"]), ("desc", True))
        _, _, older = self.server.request("GET", f"/api/conversations/{cid}/messages?limit=5&before=8", token=tok)
        self.assertEqual([m["seq"] for m in older["messages"]], [7, 6, 5, 4, 3])
        _, _, forward = self.server.request("GET", f"/api/conversations/{cid}/messages?after=9&limit=5", token=tok)
        self.assertEqual([m["seq"] for m in forward["messages"]], [10, 11, 12])
        self.assertEqual((forward["order"], forward["has_more"]), ("asc", False))
        self.assertProblem(self.server.request("GET", f"/api/conversations/{cid}/messages?after=1&before=5", token=tok), 400)
        self.assertProblem(self.server.request("GET", f"/api/conversations/{cid}/messages?after=-1", token=tok), 400, "'after'")
        self.assertProblem(self.server.request("GET", f"/api/conversations/{cid}/messages?limit=abc", token=tok), 400, "'limit'")

    def test_edit_and_delete(self):
        cid = self.new_conversation()
        _, _, m = self.send(cid, "e1", "typo", who=self.ben)
        seq = m["seq"]
        self.assertProblem(self.server.request("PATCH", f"/api/conversations/{cid}/messages/{seq}", {"body": "x"}, token=self.ann["access_token"]), 403)
        status, _, edited = self.server.request("PATCH", f"/api/conversations/{cid}/messages/{seq}", {"body": "fixed"}, token=self.ben["access_token"])
        self.assertEqual((status, edited["body"]), (200, "fixed"))
        self.assertIsNotNone(edited["edited_at"])
        # ann owns the conversation, so she may delete ben's message
        status, _, gone = self.server.request("DELETE", f"/api/conversations/{cid}/messages/{seq}", token=self.ann["access_token"])
        self.assertEqual((status, gone["deleted"], gone["body"]), (200, True, ""))
        _, _, fetched = self.server.request("GET", f"/api/conversations/{cid}/messages/{seq}", token=self.ben["access_token"])
        self.assertTrue(fetched["deleted"])
        self.assertProblem(self.server.request("PATCH", f"/api/conversations/{cid}/messages/{seq}", {"body": "back"}, token=self.ben["access_token"]), 409)
        self.assertProblem(self.server.request("GET", f"/api/conversations/{cid}/messages/99", token=self.ben["access_token"]), 404)
        self.assertProblem(self.server.request("GET", f"/api/conversations/{cid}/messages/x", token=self.ben["access_token"]), 404)

    def test_read_markers_and_unread(self):
        cid = self.new_conversation()
        for i in range(4):
            self.send(cid, f"r{i}", "hi")
        tok = self.ben["access_token"]
        self.assertEqual(self.server.request("GET", f"/api/conversations/{cid}", token=tok)[2]["unread"], 4)
        status, _, r = self.server.request("POST", f"/api/conversations/{cid}/read", {"seq": 3}, token=tok)
        self.assertEqual((status, r["last_read_seq"], r["unread"]), (200, 3, 1))
        _, _, r = self.server.request("POST", f"/api/conversations/{cid}/read", {"seq": 1}, token=tok)
        self.assertEqual(r["last_read_seq"], 3)  # never backwards
        _, _, r = self.server.request("POST", f"/api/conversations/{cid}/read", {"seq": 10**12}, token=tok)
        self.assertEqual((r["last_read_seq"], r["unread"]), (4, 0))
        self.assertProblem(self.server.request("POST", f"/api/conversations/{cid}/read", {"seq": "3"}, token=tok), 400, "'seq'")

    def test_outsiders_cannot_read_or_write(self):
        cid = self.new_conversation()
        self.send(cid, "secret", "for members only")
        eve = self.eve["access_token"]
        self.assertProblem(self.server.request("GET", f"/api/conversations/{cid}/messages", token=eve), 404)
        self.assertProblem(self.send(cid, "sneak", "hi", who=self.eve), 404)
        self.assertProblem(self.server.request("GET", f"/api/conversations/{cid}/messages/1", token=eve), 404)
        self.assertProblem(self.server.request("DELETE", f"/api/conversations/{cid}/messages/1", token=eve), 404)
        self.assertProblem(self.server.request("POST", f"/api/conversations/{cid}/read", {"seq": 1}, token=eve), 404)

    def test_bodies_are_stored_verbatim_and_validated(self):
        cid = self.new_conversation()
        tricky = "'); DROP TABLE messages; -- <script>alert(1)</script> \u00e9\u6f22\U0001F600\n\ttab"
        status, _, m = self.send(cid, "sql-1", tricky)
        self.assertEqual(status, 201)
        _, _, got = self.server.request("GET", f"/api/conversations/{cid}/messages/{m['seq']}", token=self.ann["access_token"])
        self.assertEqual(got["body"], tricky)
        self.assertProblem(self.send(cid, "big", "x" * 2001), 413, "'body'")
        self.assertProblem(self.send(cid, "empty", ""), 400, "'body'")
        self.assertProblem(self.send(cid, "nul", "a\u0000b"), 400, "control")
        self.assertProblem(self.send(cid, "c" * 65, "x"), 400, "'client_id'")
        self.assertProblem(self.send(cid, "with space", "x"), 400, "'client_id'")
        self.assertProblem(self.server.request("POST", f"/api/conversations/{cid}/messages", {"body": "no id"}, token=self.ann["access_token"]), 400, "'client_id'")
        self.assertProblem(self.server.request("POST", f"/api/conversations/{cid}/messages", {"client_id": "n", "body": 42}, token=self.ann["access_token"]), 400, "'body'")
        raw_invalid = b'{"client_id":"u1","body":"\xff\xfe"}'
        self.assertProblem(self.server.request("POST", f"/api/conversations/{cid}/messages", raw=raw_invalid,
                                               headers={"Content-Type": "application/json"}, token=self.ann["access_token"]), 400)


if __name__ == "__main__":
    unittest.main()
