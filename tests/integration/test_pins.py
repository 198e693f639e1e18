"""Pins: pin and unpin (idempotent), who may is the conversation's pin_role,
the pinned list newest first with its cursor, `pinned` on message pages, a
`pin` event in both encodings, a deleted message leaving the list, bad input."""

import unittest

from harness import ServerTest, ws_connect
from test_ws_proto import PROTO, ProtoClient, id_of, pb


class PinTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_p")
        cls.ben = cls.server.register("ben_p")
        cls.eve = cls.server.register("eve_p")
        cls.sent = 0

    def conversation_with(self, n):
        status, _, c = self.server.request("POST", "/api/conversations",
                                           {"kind": "group", "title": "p", "members": [self.ben["user"]["id"]]},
                                           token=self.ann["access_token"])
        self.assertEqual(status, 201)
        for i in range(n):
            PinTest.sent += 1
            st, _, _ = self.server.request("POST", f"/api/conversations/{c['id']}/messages",
                                           {"client_id": f"p-{PinTest.sent}", "body": f"message {i + 1}"},
                                           token=self.ann["access_token"])
            self.assertEqual(st, 201)
        return c["id"]

    def pin(self, conv, seq, who=None, method="PUT"):
        return self.server.request(method, f"/api/conversations/{conv}/pins/{seq}",
                                   token=(who or self.ann)["access_token"])

    def pinned(self, conv, query=""):
        _, _, page = self.server.request("GET", f"/api/conversations/{conv}/pins{query}",
                                         token=self.ben["access_token"])
        return page

    def test_pin_and_unpin_are_idempotent_and_listed_newest_first(self):
        conv = self.conversation_with(4)
        st, _, r = self.pin(conv, 2)
        self.assertEqual((st, r), (201, {"seq": 2, "pinned": True, "changed": True}))
        st, _, r = self.pin(conv, 2)
        self.assertEqual((st, r["changed"]), (200, False))
        self.assertEqual(self.pin(conv, 4, who=self.ben)[0], 201, "any member pins by default")
        page = self.pinned(conv)
        self.assertEqual([m["seq"] for m in page["messages"]], [4, 2])
        self.assertEqual(page["messages"][1]["pinned"]["by"], self.ann["user"]["id"])
        self.assertEqual(page["messages"][0]["body"], "message 4")
        p1 = self.pinned(conv, "?limit=1")
        self.assertEqual(([m["seq"] for m in p1["messages"]], p1["has_more"]), ([4], True))
        self.assertEqual([m["seq"] for m in self.pinned(conv, "?before=4")["messages"]], [2])
        _, _, msgs = self.server.request("GET", f"/api/conversations/{conv}/messages",
                                         token=self.ann["access_token"])
        self.assertEqual({m["seq"]: "pinned" in m for m in msgs["messages"]},
                         {1: False, 2: True, 3: False, 4: True})
        st, _, r = self.pin(conv, 2, method="DELETE")
        self.assertEqual((st, r["pinned"], r["changed"]), (200, False, True))
        self.assertEqual(self.pin(conv, 2, method="DELETE")[2]["changed"], False)
        # Deleting a message unpins it.
        self.server.request("DELETE", f"/api/conversations/{conv}/messages/4", token=self.ann["access_token"])
        self.assertEqual(self.pinned(conv)["messages"], [])
        self.assertEqual(self.pin(conv, 4)[0], 409, "a deleted message cannot be pinned")

    def test_pin_role_admin_leaves_pinning_to_owners_and_admins(self):
        conv = self.conversation_with(2)
        st, _, body = self.server.request("PATCH", f"/api/conversations/{conv}", {"pin_role": "admin"},
                                          token=self.ben["access_token"])
        self.assertEqual(st, 403, body)
        ben = ws_connect(self.server, self.ben["access_token"])
        self.assertTrue(ben.request("subscribe", conversations=[{"conv": conv}])["ok"])
        st, _, c = self.server.request("PATCH", f"/api/conversations/{conv}", {"pin_role": "admin"},
                                       token=self.ann["access_token"])
        self.assertEqual((st, c["pin_role"]), (200, "admin"))
        self.assertEqual(ben.event("conversation.updated")["conversation"]["pin_role"], "admin")
        st, _, body = self.pin(conv, 1, who=self.ben)
        self.assertEqual(st, 403, body)
        self.assertIn("owners and admins", body["detail"])
        self.assertEqual(self.pin(conv, 1)[0], 201)
        self.assertEqual(self.pin(conv, 1, who=self.ben, method="DELETE")[0], 403)
        _, _, c = self.server.request("GET", f"/api/conversations/{conv}", token=self.ben["access_token"])
        self.assertEqual(c["pin_role"], "admin")
        ben.close()

    def test_members_hear_pins_in_json_and_in_protocol_buffers(self):
        conv = self.conversation_with(1)
        ben = ws_connect(self.server, self.ben["access_token"])
        self.assertTrue(ben.request("subscribe", conversations=[{"conv": conv}])["ok"])
        ann = ProtoClient(ws_connect(self.server, self.ann["access_token"], protocol=PROTO))
        sub = ann.request(subscribe=pb.Subscribe(conversations=[pb.Subscribe.Entry(conv=id_of(conv))]))
        self.assertTrue(sub.ok, sub)
        self.pin(conv, 1)
        ev = ben.event("pin")
        self.assertEqual((ev["conv"], ev["seq"], ev["user_id"], ev["pinned"]),
                         (conv, 1, self.ann["user"]["id"], True))
        pe = ann.event("pin")
        self.assertEqual((pe.conv, pe.pin.seq, pe.pin.pinned), (id_of(conv), 1, True))
        self.pin(conv, 1)  # nothing changed: no event
        self.pin(conv, 1, who=self.ben, method="DELETE")
        ev = ben.event("pin")
        self.assertEqual((ev["pinned"], ev["user_id"]), (False, self.ben["user"]["id"]))
        ben.close()
        ann.ws.close()

    def test_bad_input_is_refused_and_changes_nothing(self):
        conv = self.conversation_with(1)
        self.assertEqual(self.pin(conv, 99)[0], 404)
        self.assertEqual(self.pin(conv, 0)[0], 404)
        self.assertEqual(self.pin(conv, "x")[0], 404, "a path that names no message")
        self.assertEqual(self.pin(conv, 1, who=self.eve)[0], 404, "not a member: not there")
        st, _, _ = self.server.request("GET", f"/api/conversations/{conv}/pins", token=self.eve["access_token"])
        self.assertEqual(st, 404)
        for body in ({"pin_role": "everyone"}, {"pin_role": 3}, {}):
            st, _, b = self.server.request("PATCH", f"/api/conversations/{conv}", body,
                                           token=self.ann["access_token"])
            self.assertEqual(st, 400, (body, b))
        self.assertEqual(self.pinned(conv)["messages"], [])


if __name__ == "__main__":
    unittest.main()
