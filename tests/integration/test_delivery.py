"""Delivery receipts beside read receipts: a member's delivered marker moved
by REST and the `delivered` op (both encodings), heard by the others as a
`delivered` event, moved along by reading, shown in the member list, and off
(stored, not announced) above limits.receipts_max_members."""

import unittest

from harness import ServerTest, ws_connect
from test_ws_proto import PROTO, ProtoClient, id_of, pb


class DeliveryTest(ServerTest):
    SETTINGS = {"limits.receipts_max_members": "3"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_d")
        cls.ben = cls.server.register("ben_d")
        cls.cat = cls.server.register("cat_d")
        cls.dan = cls.server.register("dan_d")
        cls.sent = 0

    def conversation(self, *others):
        status, _, c = self.server.request("POST", "/api/conversations",
                                           {"kind": "group", "title": "d", "members": [o["user"]["id"] for o in others]},
                                           token=self.ann["access_token"])
        self.assertEqual(status, 201)
        return c["id"]

    def send(self, conv, n=1):
        for _ in range(n):
            DeliveryTest.sent += 1
            st, _, m = self.server.request("POST", f"/api/conversations/{conv}/messages",
                                           {"client_id": f"d-{DeliveryTest.sent}", "body": "hi"},
                                           token=self.ann["access_token"])
            self.assertEqual(st, 201)
        return m

    def marker(self, conv, who):
        _, _, page = self.server.request("GET", f"/api/conversations/{conv}/members", token=self.ann["access_token"])
        m = next(m for m in page["members"] if m["user_id"] == who["user"]["id"])
        return m["delivered_seq"], m["last_read_seq"]

    def test_delivered_moves_forward_is_heard_and_reading_moves_it_too(self):
        conv = self.conversation(self.ben)
        self.send(conv, 3)
        ann = ws_connect(self.server, self.ann["access_token"])
        self.assertTrue(ann.request("subscribe", conversations=[{"conv": conv}])["ok"])
        ben = ws_connect(self.server, self.ben["access_token"])
        r = ben.request("delivered", conv=conv, seq=2)
        self.assertEqual((r["ok"], r["result"]), (True, {"delivered_seq": 2}), r)
        ev = ann.event("delivered")
        self.assertEqual((ev["conv"], ev["user_id"], ev["seq"]), (conv, self.ben["user"]["id"], 2))
        self.assertEqual(self.marker(conv, self.ben), (2, 0))
        # Backwards changes nothing; past the newest is clamped.
        self.assertEqual(ben.request("delivered", conv=conv, seq=1)["result"]["delivered_seq"], 2)
        st, _, r = self.server.request("POST", f"/api/conversations/{conv}/delivered", {"seq": 99},
                                       token=self.ben["access_token"])
        self.assertEqual((st, r["delivered_seq"]), (200, 3))
        self.assertEqual(ann.event("delivered")["seq"], 3)
        # Reading is receiving: a read marker past the delivered one moves it.
        self.send(conv, 1)
        self.server.request("POST", f"/api/conversations/{conv}/read", {"seq": 4}, token=self.ben["access_token"])
        self.assertEqual(self.marker(conv, self.ben), (4, 4))
        ann.close()
        ben.close()

    def test_the_delivered_op_in_protocol_buffers(self):
        conv = self.conversation(self.ben)
        self.send(conv, 2)
        ann = ProtoClient(ws_connect(self.server, self.ann["access_token"], protocol=PROTO))
        sub = ann.request(subscribe=pb.Subscribe(conversations=[pb.Subscribe.Entry(conv=id_of(conv))]))
        self.assertTrue(sub.ok, sub)
        ben = ProtoClient(ws_connect(self.server, self.ben["access_token"], protocol=PROTO))
        reply = ben.request(delivered=pb.Delivered(conv=id_of(conv), seq=2))
        self.assertTrue(reply.ok, reply)
        self.assertEqual(reply.delivered.delivered_seq, 2)
        pe = ann.event("delivered")
        self.assertEqual((pe.conv, pe.delivered.user_id, pe.delivered.seq), (id_of(conv), id_of(self.ben["user"]["id"]), 2))
        ann.ws.close()
        ben.ws.close()

    def test_above_the_member_limit_receipts_are_stored_but_not_announced(self):
        conv = self.conversation(self.ben, self.cat, self.dan)  # 4 members > 3
        self.send(conv, 2)
        ann = ws_connect(self.server, self.ann["access_token"])
        self.assertTrue(ann.request("subscribe", conversations=[{"conv": conv}])["ok"])
        st, _, r = self.server.request("POST", f"/api/conversations/{conv}/delivered", {"seq": 2},
                                       token=self.cat["access_token"])
        self.assertEqual((st, r["delivered_seq"]), (200, 2))
        self.assertEqual(self.marker(conv, self.cat), (2, 0))
        ann.request("ping")  # every event sent before its reply has arrived
        self.assertEqual([e for e in ann.events if e.get("type") == "delivered"], [])
        ann.close()

    def test_bad_input(self):
        conv = self.conversation(self.ben)
        for body in ({}, {"seq": -1}, {"seq": "2"}):
            st, _, b = self.server.request("POST", f"/api/conversations/{conv}/delivered", body,
                                           token=self.ben["access_token"])
            self.assertEqual(st, 400, (body, b))
        st, _, _ = self.server.request("POST", f"/api/conversations/{conv}/delivered", {"seq": 1},
                                       token=self.dan["access_token"])
        self.assertEqual(st, 404, "not a member")
        ws = ws_connect(self.server, self.ben["access_token"])
        bad = ws.request("delivered", conv=conv, seq="x")
        self.assertEqual((bad["ok"], bad["error"]["code"]), (False, "bad_request"))
        ws.close()


if __name__ == "__main__":
    unittest.main()
