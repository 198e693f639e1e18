"""Replies and threads: sent over REST and both WebSocket encodings, a reply
to a reply joining the root's thread, summaries on message pages, the thread
page with its cursor, events that carry reply_to, and bad input."""

import unittest

from harness import ServerTest, ws_connect
from test_collab import metric
from test_ws_proto import PROTO, ProtoClient, id_of, pb


class ThreadTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_t")
        cls.ben = cls.server.register("ben_t")
        cls.eve = cls.server.register("eve_t")
        cls.sent = 0

    def conversation(self):
        status, _, c = self.server.request("POST", "/api/conversations",
                                           {"kind": "group", "title": "t", "members": [self.ben["user"]["id"]]},
                                           token=self.ann["access_token"])
        self.assertEqual(status, 201)
        return c["id"]

    def send(self, conv, body, who=None, **fields):
        ThreadTest.sent += 1
        return self.server.request("POST", f"/api/conversations/{conv}/messages",
                                   {"client_id": f"t-{ThreadTest.sent}", "body": body, **fields},
                                   token=(who or self.ann)["access_token"])

    def thread(self, conv, seq, query="", who=None):
        return self.server.request("GET", f"/api/conversations/{conv}/messages/{seq}/thread{query}",
                                   token=(who or self.ann)["access_token"])

    def test_replies_join_the_roots_thread_and_roots_carry_a_summary(self):
        conv = self.conversation()
        replies_before = metric(self.server, "parley_thread_replies_total")
        st, _, root = self.send(conv, "root")
        self.assertEqual(st, 201)
        self.assertNotIn("reply_to", root, "a message of the conversation has no reply_to")
        st, _, r1 = self.send(conv, "one", who=self.ben, reply_to=root["seq"])
        self.assertEqual((st, r1["reply_to"], r1["broadcast"]), (201, root["seq"], False))
        # A reply to a reply joins the root's thread: threads do not nest.
        st, _, r2 = self.send(conv, "two", reply_to=r1["seq"], broadcast=True)
        self.assertEqual((st, r2["reply_to"], r2["broadcast"]), (201, root["seq"], True))
        self.send(conv, "not in the thread")
        self.assertEqual(metric(self.server, "parley_thread_replies_total"), replies_before + 2)

        _, _, page = self.server.request("GET", f"/api/conversations/{conv}/messages",
                                         token=self.ben["access_token"])
        by_seq = {m["seq"]: m for m in page["messages"]}
        t = by_seq[root["seq"]]["thread"]
        self.assertEqual((t["reply_count"], t["last_reply_seq"]), (2, r2["seq"]))
        self.assertEqual(t["last_reply_at"], r2["created_at"])
        self.assertEqual(t["participants"], [self.ben["user"]["id"], self.ann["user"]["id"]])
        self.assertNotIn("thread", by_seq[r1["seq"]])
        _, _, one = self.server.request("GET", f"/api/conversations/{conv}/messages/{root['seq']}",
                                        token=self.ann["access_token"])
        self.assertEqual(one["thread"]["reply_count"], 2)

        # The thread, from its root or from any reply, paged by cursor.
        st, _, th = self.thread(conv, r2["seq"])
        self.assertEqual(st, 200, th)
        self.assertEqual(th["root"]["seq"], root["seq"])
        self.assertEqual([m["body"] for m in th["replies"]], ["one", "two"])
        self.assertEqual((th["has_more"], th["next_after"]), (False, None))
        _, _, p1 = self.thread(conv, root["seq"], "?limit=1")
        self.assertEqual(([m["seq"] for m in p1["replies"]], p1["has_more"]), ([r1["seq"]], True))
        _, _, p2 = self.thread(conv, root["seq"], f"?limit=1&after={p1['next_after']}")
        self.assertEqual([m["seq"] for m in p2["replies"]], [r2["seq"]])

        # A deleted reply keeps its seq in the thread and leaves the count.
        self.server.request("DELETE", f"/api/conversations/{conv}/messages/{r1['seq']}",
                            token=self.ben["access_token"])
        _, _, th = self.thread(conv, root["seq"])
        self.assertEqual(th["root"]["thread"]["reply_count"], 1)
        self.assertEqual([m["deleted"] for m in th["replies"]], [True, False])
        self.assertEqual(th["root"]["thread"]["participants"], [self.ann["user"]["id"]])

        # A retry of a reply is the same reply.
        st, _, again = self.server.request("POST", f"/api/conversations/{conv}/messages",
                                           {"client_id": r2["client_id"], "body": "two", "reply_to": r1["seq"]},
                                           token=self.ann["access_token"])
        self.assertEqual((st, again["seq"], again["reply_to"]), (200, r2["seq"], root["seq"]))

    def test_replies_over_both_encodings_and_their_events(self):
        conv = self.conversation()
        _, _, root = self.send(conv, "root")
        ben = ws_connect(self.server, self.ben["access_token"])
        self.assertTrue(ben.request("subscribe", conversations=[{"conv": conv}])["ok"])
        ann = ProtoClient(ws_connect(self.server, self.ann["access_token"], protocol=PROTO))
        sub = ann.request(subscribe=pb.Subscribe(conversations=[pb.Subscribe.Entry(conv=id_of(conv))]))
        self.assertTrue(sub.ok, sub)

        r = ben.request("send", conv=conv, client_id="t-ws-1", body="json reply", reply_to=root["seq"])
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["result"]["reply_to"], root["seq"])
        ev = ben.event("message.new")
        self.assertEqual((ev["message"]["reply_to"], ev["message"]["broadcast"]), (root["seq"], False))
        pe = ann.event("message_new")
        self.assertEqual((pe.message_new.message.reply_to, pe.message_new.message.broadcast), (root["seq"], False))

        reply = ann.request(send=pb.Send(conv=id_of(conv), client_id="t-pb-1", body="proto reply",
                                         reply_to=r["result"]["seq"], broadcast=True))
        self.assertTrue(reply.ok, reply)
        self.assertEqual(reply.send.reply_to, root["seq"])
        ev = ben.event("message.new")
        self.assertEqual((ev["message"]["body"], ev["message"]["reply_to"], ev["message"]["broadcast"]),
                         ("proto reply", root["seq"], True))
        pe = ann.event("message_new")
        self.assertTrue(pe.message_new.message.broadcast)

        # A plain message's event has no reply fields in either encoding.
        self.send(conv, "plain")
        self.assertNotIn("reply_to", ben.event("message.new")["message"])
        self.assertEqual(ann.event("message_new").message_new.message.reply_to, 0)

        # Refused over the WebSocket as over REST.
        bad = ben.request("send", conv=conv, client_id="t-ws-2", body="x", reply_to=999)
        self.assertEqual((bad["ok"], bad["error"]["code"]), (False, "bad_request"))
        bad = ben.request("send", conv=conv, client_id="t-ws-3", body="x", reply_to="1")
        self.assertEqual(bad["error"]["code"], "bad_request")
        bad = ben.request("send", conv=conv, client_id="t-ws-4", body="x", broadcast=True)
        self.assertEqual(bad["error"]["code"], "bad_request")
        ben.close()
        ann.ws.close()

    def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_stored(self):
        conv = self.conversation()
        _, _, root = self.send(conv, "root")
        other = self.conversation()
        _, _, elsewhere = self.send(other, "elsewhere")
        _, _, elsewhere2 = self.send(other, "elsewhere 2")
        cases = [
            ({"reply_to": 999}, "no message 999"),
            ({"reply_to": elsewhere2["seq"]}, "no message"),  # a seq only the other conversation has
            ({"reply_to": 0}, "reply_to"),
            ({"reply_to": -1}, "reply_to"),
            ({"reply_to": "1"}, "reply_to"),
            ({"reply_to": 1.5}, "reply_to"),
            ({"broadcast": True}, "needs 'reply_to'"),
            ({"reply_to": root["seq"], "broadcast": "yes"}, "broadcast"),
        ]
        for fields, detail in cases:
            st, _, body = self.send(conv, "bad", **fields)
            self.assertEqual(st, 400, (fields, body))
            self.assertIn(detail, body["detail"], fields)
        _, _, c = self.server.request("GET", f"/api/conversations/{conv}", token=self.ann["access_token"])
        self.assertEqual(c["last_seq"], root["seq"], "nothing was stored")
        self.assertEqual(elsewhere["seq"], 1)
        # Not a member: neither the conversation nor its threads are there.
        st, _, _ = self.send(conv, "intrude", who=self.eve, reply_to=root["seq"])
        self.assertEqual(st, 404)
        self.assertEqual(self.thread(conv, root["seq"], who=self.eve)[0], 404)
        self.assertEqual(self.thread(conv, 999)[0], 404)
        self.assertEqual(self.thread(conv, root["seq"], "?after=-1")[0], 400)
        # A message with no replies is a thread with none.
        st, _, th = self.thread(conv, root["seq"])
        self.assertEqual((st, th["replies"], "thread" in th["root"]), (200, [], False))


if __name__ == "__main__":
    unittest.main()
