"""Reactions over REST, live to members over both WebSocket encodings:
idempotent adds, removes, per-user caps, counts on message pages, bad input."""

import unittest
from urllib.parse import quote

from harness import ServerTest, ws_connect
from test_collab import metric
from test_ws_proto import PROTO, ProtoClient, id_of, pb


class ReactionTest(ServerTest):
    SETTINGS = {"limits.max_reactions_per_user": "3"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_r")
        cls.ben = cls.server.register("ben_r")
        cls.eve = cls.server.register("eve_r")

    def conversation_with_a_message(self):
        status, _, c = self.server.request("POST", "/api/conversations",
                                           {"kind": "group", "title": "r", "members": [self.ben["user"]["id"]]},
                                           token=self.ann["access_token"])
        self.assertEqual(status, 201)
        status, _, m = self.server.request("POST", f"/api/conversations/{c['id']}/messages",
                                           {"client_id": f"m-{c['id']}", "body": "react to me"},
                                           token=self.ann["access_token"])
        self.assertEqual(status, 201)
        return c["id"], m["seq"]

    def react(self, conv, seq, reaction, who=None):
        return self.server.request("POST", f"/api/conversations/{conv}/messages/{seq}/reactions",
                                   {"reaction": reaction}, token=(who or self.ann)["access_token"])

    def unreact(self, conv, seq, reaction, who=None):
        return self.server.request("DELETE",
                                   f"/api/conversations/{conv}/messages/{seq}/reactions?reaction={quote(reaction)}",
                                   token=(who or self.ann)["access_token"])

    def test_adding_is_idempotent_and_counts_show_on_the_message(self):
        conv, seq = self.conversation_with_a_message()
        st, _, r = self.react(conv, seq, "👍")
        self.assertEqual((st, r["count"], r["me"]), (201, 1, True))
        st, _, r = self.react(conv, seq, "👍")
        self.assertEqual((st, r["count"]), (200, 1), "a second add changes nothing")
        st, _, r = self.react(conv, seq, "👍", who=self.ben)
        self.assertEqual((st, r["count"]), (201, 2))
        self.react(conv, seq, ":tada:", who=self.ben)
        _, _, page = self.server.request("GET", f"/api/conversations/{conv}/messages",
                                         token=self.ann["access_token"])
        self.assertEqual(page["messages"][0]["reactions"],
                         [{"reaction": "👍", "count": 2, "me": True},
                          {"reaction": ":tada:", "count": 1, "me": False}])
        _, _, one = self.server.request("GET", f"/api/conversations/{conv}/messages/{seq}",
                                        token=self.ben["access_token"])
        self.assertEqual([r["me"] for r in one["reactions"]], [True, True])
        _, _, who = self.server.request(
            "GET", f"/api/conversations/{conv}/messages/{seq}/reactions?reaction={quote('👍')}",
            token=self.ben["access_token"])
        self.assertEqual(who["user_ids"], sorted([self.ann["user"]["id"], self.ben["user"]["id"]], key=int))
        st, _, r = self.unreact(conv, seq, "👍")
        self.assertEqual((st, r["count"], r["me"]), (200, 1, False))
        _, _, summary = self.server.request("GET", f"/api/conversations/{conv}/messages/{seq}/reactions",
                                            token=self.ann["access_token"])
        self.assertEqual(summary["reactions"][0], {"reaction": "👍", "count": 1, "me": False})

    def test_members_hear_reactions_live_in_json_and_in_protocol_buffers(self):
        conv, seq = self.conversation_with_a_message()
        ben = ws_connect(self.server, self.ben["access_token"])
        self.assertTrue(ben.request("subscribe", conversations=[{"conv": conv}])["ok"])
        ann = ProtoClient(ws_connect(self.server, self.ann["access_token"], protocol=PROTO))
        sub = ann.request(subscribe=pb.Subscribe(conversations=[pb.Subscribe.Entry(conv=id_of(conv))]))
        self.assertTrue(sub.ok, sub)
        self.react(conv, seq, "❤️", who=self.ben)
        ev = ben.event("reaction")
        self.assertEqual((ev["conv"], ev["seq"], ev["reaction"], ev["user_id"], ev["action"], ev["count"]),
                         (conv, seq, "❤️", self.ben["user"]["id"], "added", 1))
        pe = ann.event("reaction")
        self.assertEqual((pe.conv, pe.reaction.seq, pe.reaction.reaction, pe.reaction.user_id,
                          pe.reaction.added, pe.reaction.count),
                         (id_of(conv), seq, "❤️", id_of(self.ben["user"]["id"]), True, 1))
        self.unreact(conv, seq, "❤️", who=self.ben)
        ev = ben.event("reaction")
        self.assertEqual((ev["action"], ev["count"]), ("removed", 0))
        self.assertFalse(ann.event("reaction").reaction.added)
        # Removing what is not there says so in the count and sends nothing;
        # the next event is the next real change.
        self.unreact(conv, seq, "❤️", who=self.ben)
        self.react(conv, seq, ":+1:")
        self.assertEqual(ben.event("reaction")["reaction"], ":+1:")
        ben.close()
        ann.ws.close()

    def test_the_react_op_over_both_encodings(self):
        conv, seq = self.conversation_with_a_message()
        ben = ws_connect(self.server, self.ben["access_token"])
        r = ben.request("react", conv=conv, seq=seq, reaction="👀")
        self.assertTrue(r["ok"], r)
        self.assertEqual(r["result"], {"seq": seq, "reaction": "👀", "count": 1, "me": True})
        bad = ben.request("react", conv=conv, seq=seq, reaction="nope")
        self.assertEqual((bad["ok"], bad["error"]["code"]), (False, "bad_request"))
        bad = ben.request("react", conv=conv, seq=seq, reaction="👀", remove="yes")
        self.assertEqual(bad["error"]["code"], "bad_request")
        ann = ProtoClient(ws_connect(self.server, self.ann["access_token"], protocol=PROTO))
        reply = ann.request(react=pb.React(conv=id_of(conv), seq=seq, reaction="👀"))
        self.assertTrue(reply.ok, reply)
        self.assertEqual((reply.react.count, reply.react.me), (2, True))
        reply = ann.request(react=pb.React(conv=id_of(conv), seq=seq, reaction="👀", remove=True))
        self.assertEqual((reply.react.count, reply.react.me), (1, False))
        r = ben.request("react", conv=conv, seq=seq, reaction="👀", remove=True)
        self.assertEqual(r["result"]["count"], 0)
        ben.close()
        ann.ws.close()

    def test_a_user_has_at_most_the_configured_reactions_on_one_message(self):
        conv, seq = self.conversation_with_a_message()
        refused = metric(self.server, "parley_reactions_refused_total")
        for r in ("😀", "😃", "😄"):
            self.assertEqual(self.react(conv, seq, r)[0], 201)
        st, _, body = self.react(conv, seq, "😁")
        self.assertEqual(st, 409, body)
        self.assertIn("at most 3", body["detail"])
        self.assertEqual(self.react(conv, seq, "😀")[0], 200, "one already there is still fine")
        self.assertEqual(metric(self.server, "parley_reactions_refused_total"), refused + 1)
        self.assertEqual(self.react(conv, seq, "😁", who=self.ben)[0], 201, "the cap is per user")

    def test_bad_input_is_refused_with_a_clear_error_and_changes_nothing(self):
        conv, seq = self.conversation_with_a_message()
        for bad in ("", "ok", "<script>", " 👍", "中", ":Bad Code:", "👍" * 40):
            st, _, body = self.react(conv, seq, bad)
            self.assertEqual(st, 400, (bad, body))
        st, _, body = self.server.request("POST", f"/api/conversations/{conv}/messages/{seq}/reactions",
                                          {"reaction": 5}, token=self.ann["access_token"])
        self.assertEqual(st, 400, body)
        self.assertEqual(self.react(conv, 999, "👍")[0], 404)
        # Not a member: the conversation is not there for them.
        self.assertEqual(self.react(conv, seq, "👍", who=self.eve)[0], 404)
        st, _, body = self.server.request("DELETE", f"/api/conversations/{conv}/messages/{seq}/reactions",
                                          token=self.ann["access_token"])
        self.assertEqual(st, 400, body)
        _, _, summary = self.server.request("GET", f"/api/conversations/{conv}/messages/{seq}/reactions",
                                            token=self.ann["access_token"])
        self.assertEqual(summary["reactions"], [])
        # A deleted message takes its reactions and takes no more.
        self.assertEqual(self.react(conv, seq, "👍")[0], 201)
        self.server.request("DELETE", f"/api/conversations/{conv}/messages/{seq}", token=self.ann["access_token"])
        self.assertEqual(self.react(conv, seq, "👍")[0], 409)
        _, _, summary = self.server.request("GET", f"/api/conversations/{conv}/messages/{seq}/reactions",
                                            token=self.ann["access_token"])
        self.assertEqual(summary["reactions"], [])


if __name__ == "__main__":
    unittest.main()
