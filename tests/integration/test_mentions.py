"""Mentions: explicit in the send (user ids, here, all), checked by the
server, kept on the message, counted unread per member, a `mention` event on
every connection of the mentioned user (subscribed or not, both encodings),
the notification level, and bad input."""

import unittest

from harness import ServerTest, ws_connect
from test_collab import metric
from test_ws_proto import PROTO, ProtoClient, id_of, pb


class MentionTest(ServerTest):
    SETTINGS = {"limits.max_mentions": "2"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_m")
        cls.ben = cls.server.register("ben_m")
        cls.cat = cls.server.register("cat_m")
        cls.eve = cls.server.register("eve_m")
        cls.sent = 0

    def conversation(self):
        members = [self.ben["user"]["id"], self.cat["user"]["id"]]
        status, _, c = self.server.request("POST", "/api/conversations",
                                           {"kind": "group", "title": "m", "members": members},
                                           token=self.ann["access_token"])
        self.assertEqual(status, 201)
        return c["id"]

    def send(self, conv, body, who=None, **fields):
        MentionTest.sent += 1
        return self.server.request("POST", f"/api/conversations/{conv}/messages",
                                   {"client_id": f"mn-{MentionTest.sent}", "body": body, **fields},
                                   token=(who or self.ann)["access_token"])

    def summary(self, conv, who):
        _, _, page = self.server.request("GET", "/api/conversations", token=who["access_token"])
        return next(c for c in page["conversations"] if c["id"] == conv)

    def test_a_mention_is_kept_counted_and_heard_by_the_mentioned_member_only(self):
        conv = self.conversation()
        before = metric(self.server, "parley_mentions_total")
        # Ben listens without subscribing to the conversation; Cat subscribes.
        ben = ws_connect(self.server, self.ben["access_token"])
        cat = ws_connect(self.server, self.cat["access_token"])
        self.assertTrue(cat.request("subscribe", conversations=[{"conv": conv}])["ok"])
        ben_id = self.ben["user"]["id"]
        st, _, m = self.send(conv, "@ben have a look", mentions={"user_ids": [ben_id, ben_id,
                                                                                self.ann["user"]["id"]]})
        self.assertEqual(st, 201, m)
        self.assertEqual(m["mentions"], {"user_ids": [ben_id], "here": False, "all": False},
                         "duplicates and the sender are dropped")
        ev = ben.event("mention")
        self.assertEqual((ev["conv"], ev["seq"], ev["sender_id"], ev["kind"]),
                         (conv, m["seq"], self.ann["user"]["id"], "user"))
        new = cat.event("message.new")
        self.assertEqual(new["message"]["mentions"]["user_ids"], [ben_id])
        self.assertEqual(metric(self.server, "parley_mentions_total"), before + 1)

        self.assertEqual(self.summary(conv, self.ben)["unread_mentions"], 1)
        self.assertEqual(self.summary(conv, self.cat)["unread_mentions"], 0)
        _, _, one = self.server.request("GET", f"/api/conversations/{conv}", token=self.ben["access_token"])
        self.assertEqual((one["unread_mentions"], one["notify"]), (1, "all"))
        _, _, page = self.server.request("GET", f"/api/conversations/{conv}/messages",
                                         token=self.cat["access_token"])
        self.assertEqual(page["messages"][0]["mentions"]["user_ids"], [ben_id])
        # Reading clears it.
        st, _, r = self.server.request("POST", f"/api/conversations/{conv}/read", {"seq": m["seq"]},
                                       token=self.ben["access_token"])
        self.assertEqual((st, r["unread_mentions"]), (200, 0))
        ben.close()
        cat.close()

    def test_all_and_here_are_for_owners_and_admins_and_reach_every_member(self):
        conv = self.conversation()
        st, _, body = self.send(conv, "@all hi", who=self.ben, mentions={"all": True})
        self.assertEqual(st, 403, body)
        self.assertIn("owners and admins", body["detail"])
        ben = ProtoClient(ws_connect(self.server, self.ben["access_token"], protocol=PROTO))
        cat = ws_connect(self.server, self.cat["access_token"])
        st, _, m = self.send(conv, "@here standup", mentions={"here": True})
        self.assertEqual(st, 201, m)
        self.assertEqual(cat.event("mention")["kind"], "here")
        pe = ben.event("mention")
        self.assertEqual((pe.conv, pe.mention.seq, pe.mention.kind, pe.mention.sender_id),
                         (id_of(conv), m["seq"], "here", id_of(self.ann["user"]["id"])))
        self.assertEqual(self.summary(conv, self.cat)["unread_mentions"], 1)
        self.assertEqual(self.summary(conv, self.ann)["unread_mentions"], 0, "not one's own")

        # A member whose level is none hears no mention event (the count stays).
        st, _, v = self.server.request("PUT", f"/api/conversations/{conv}/notify", {"notify": "none"},
                                       token=self.cat["access_token"])
        self.assertEqual((st, v["notify"]), (200, "none"))
        self.send(conv, "@all again", mentions={"all": True})
        self.assertEqual(ben.event("mention").mention.kind, "all")
        self.send(conv, "@cat?", mentions={"user_ids": [self.cat["user"]["id"]]})
        cat.request("ping")  # everything sent before the ping's reply has arrived
        self.assertEqual([e for e in cat.events if e.get("type") == "mention"], [])
        self.assertEqual(self.summary(conv, self.cat)["unread_mentions"], 3)
        ben.ws.close()
        cat.close()

    def test_mentions_over_the_websocket_in_both_encodings(self):
        conv = self.conversation()
        cat = ws_connect(self.server, self.cat["access_token"])
        ben = ws_connect(self.server, self.ben["access_token"])
        r = ben.request("send", conv=conv, client_id="mn-ws-1", body="@cat",
                        mentions={"user_ids": [self.cat["user"]["id"]]})
        self.assertTrue(r["ok"], r)
        self.assertEqual(cat.event("mention")["seq"], r["result"]["seq"])
        ann = ProtoClient(ws_connect(self.server, self.ann["access_token"], protocol=PROTO))
        sub = ann.request(subscribe=pb.Subscribe(conversations=[pb.Subscribe.Entry(conv=id_of(conv))]))
        self.assertTrue(sub.ok, sub)
        reply = ann.request(send=pb.Send(conv=id_of(conv), client_id="mn-pb-1", body="@ben @cat",
                                         mentions=pb.Mentions(user_ids=[id_of(self.ben["user"]["id"]),
                                                                        id_of(self.cat["user"]["id"])])))
        self.assertTrue(reply.ok, reply)
        self.assertEqual(ben.event("mention")["seq"], reply.send.seq)
        pe = ann.event("message_new")
        self.assertEqual(sorted(pe.message_new.message.mentions.user_ids),
                         sorted([id_of(self.ben["user"]["id"]), id_of(self.cat["user"]["id"])]))
        bad = ben.request("send", conv=conv, client_id="mn-ws-2", body="x",
                          mentions={"user_ids": [self.eve["user"]["id"]]})
        self.assertEqual((bad["ok"], bad["error"]["code"]), (False, "bad_request"))
        bad = ben.request("send", conv=conv, client_id="mn-ws-3", body="x", mentions={"all": True})
        self.assertEqual(bad["error"]["code"], "forbidden")
        cat.close()
        ben.close()
        ann.ws.close()

    def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_stored(self):
        conv = self.conversation()
        _, _, first = self.send(conv, "first")
        cases = [
            ({"user_ids": [self.eve["user"]["id"]]}, 400, "not a member"),
            ({"user_ids": ["999999"]}, 400, "not a member"),
            ({"user_ids": ["abc"]}, 400, "user ids"),
            ({"user_ids": [5]}, 400, "user ids"),
            ({"user_ids": "x"}, 400, "user_ids"),
            ({"user_ids": [self.ben["user"]["id"], self.cat["user"]["id"], self.ann["user"]["id"]]}, 201, ""),
            ({"here": "yes"}, 400, "here"),
            ("@ben", 400, "mentions"),
        ]
        for mentions, status, detail in cases:
            st, _, body = self.send(conv, "bad", mentions=mentions)
            self.assertEqual(st, status, (mentions, body))
            if detail:
                self.assertIn(detail, body["detail"], mentions)
        three = [self.ben["user"]["id"], self.cat["user"]["id"], str(int(self.ben["user"]["id"]) + 1)]
        st, _, body = self.send(conv, "bad", mentions={"user_ids": three})
        self.assertEqual(st, 400, body)
        self.assertIn("more than 2", body["detail"])
        _, _, c = self.server.request("GET", f"/api/conversations/{conv}", token=self.ann["access_token"])
        self.assertEqual(c["last_seq"], first["seq"] + 1, "only the good one was stored")
        st, _, body = self.server.request("PUT", f"/api/conversations/{conv}/notify", {"notify": "loud"},
                                          token=self.ann["access_token"])
        self.assertEqual(st, 400, body)
        st, _, _ = self.server.request("PUT", f"/api/conversations/{conv}/notify", {"notify": "none"},
                                       token=self.eve["access_token"])
        self.assertEqual(st, 404)
        # A mention may come with a reply.
        st, _, r = self.send(conv, "reply @ben", reply_to=first["seq"],
                             mentions={"user_ids": [self.ben["user"]["id"]]})
        self.assertEqual((st, r["reply_to"]), (201, first["seq"]), r)


if __name__ == "__main__":
    unittest.main()
