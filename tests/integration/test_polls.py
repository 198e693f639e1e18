"""Polls: a poll message sent over REST and both WebSocket encodings, votes
(single and multiple choice, changed and retracted), options added by
members, closing by hand and by time, results on message pages and in `poll`
events (coalesced under load, exact at rest), 500 members voting at once,
and bad input."""

import threading
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from harness import ServerTest, ws_connect
from test_collab import metric
from test_ws_proto import PROTO, ProtoClient, id_of, pb

VOTERS = 500


class PollTest(ServerTest):
    SETTINGS = {"auth.login_ip_max_attempts": "100000", "limits.max_poll_options": "5"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_poll")
        cls.ben = cls.server.register("ben_poll")
        cls.eve = cls.server.register("eve_poll")
        cls.sent = 0

    def conversation(self, members=None):
        ids = members or [self.ben["user"]["id"]]
        status, _, c = self.server.request("POST", "/api/conversations",
                                           {"kind": "group", "title": "polls", "members": ids[:1]},
                                           token=self.ann["access_token"])
        self.assertEqual(status, 201, c)
        for uid in ids[1:]:
            st, _, body = self.server.request("POST", f"/api/conversations/{c['id']}/members",
                                              {"user_id": uid}, token=self.ann["access_token"])
            self.assertEqual(st, 201, body)
        return c["id"]

    def send_poll(self, conv, question="Lunch?", who=None, **poll):
        PollTest.sent += 1
        poll.setdefault("options", ["Pizza", "Sushi", "Salad"])
        return self.server.request("POST", f"/api/conversations/{conv}/messages",
                                   {"client_id": f"poll-{PollTest.sent}", "body": question, "poll": poll},
                                   token=(who or self.ann)["access_token"])

    def vote(self, conv, seq, ids, who=None):
        return self.server.request("PUT", f"/api/conversations/{conv}/messages/{seq}/poll/votes",
                                   {"option_ids": ids}, token=(who or self.ann)["access_token"])

    def votes(self, poll):
        return [o["votes"] for o in poll["options"]]

    def test_single_choice_votes_change_and_retract_and_show_on_pages(self):
        conv = self.conversation()
        st, _, m = self.send_poll(conv)
        self.assertEqual(st, 201, m)
        self.assertEqual([o["text"] for o in m["poll"]["options"]], ["Pizza", "Sushi", "Salad"])
        self.assertEqual((m["poll"]["max_votes"], m["poll"]["anonymous"]), (1, False))
        seq = m["seq"]
        before = metric(self.server, "parley_poll_votes_total")
        st, _, p = self.vote(conv, seq, [2])
        self.assertEqual((st, self.votes(p), p["voters"]), (200, [0, 1, 0], 1), p)
        self.assertEqual([o["me"] for o in p["options"]], [False, True, False])
        self.assertEqual(p["options"][1]["voters"], [self.ann["user"]["id"]])
        _, _, p = self.vote(conv, seq, [1])  # a change, not a second vote
        self.assertEqual(self.votes(p), [1, 0, 0])
        _, _, p = self.vote(conv, seq, [1], who=self.ben)
        self.assertEqual((self.votes(p), p["voters"]), ([2, 0, 0], 2))
        _, _, p = self.vote(conv, seq, [])  # retract
        self.assertEqual((self.votes(p), p["voters"]), ([1, 0, 0], 1))
        self.assertEqual(metric(self.server, "parley_poll_votes_total"), before + 4)
        _, _, page = self.server.request("GET", f"/api/conversations/{conv}/messages",
                                         token=self.ben["access_token"])
        shown = page["messages"][0]["poll"]
        self.assertEqual((self.votes(shown), [o["me"] for o in shown["options"]]), ([1, 0, 0], [True, False, False]))
        self.assertEqual(shown["question"], "Lunch?")

    def test_multiple_choice_anonymous_added_options_and_closing(self):
        conv = self.conversation()
        _, _, m = self.send_poll(conv, "Which days?", options=["Mon", "Tue", "Wed"], max_votes=2,
                                 anonymous=True, open_options=True)
        seq = m["seq"]
        _, _, p = self.vote(conv, seq, [1, 3])
        self.assertEqual(self.votes(p), [1, 0, 1])
        self.assertNotIn("voters", p["options"][0], "an anonymous poll names nobody")
        st, _, body = self.vote(conv, seq, [1, 2, 3])
        self.assertEqual(st, 400, body)
        self.assertIn("at most 2", body["detail"])
        st, _, p = self.server.request("POST", f"/api/conversations/{conv}/messages/{seq}/poll/options",
                                       {"text": "Thu"}, token=self.ben["access_token"])
        self.assertEqual((st, [o["text"] for o in p["options"]]), (201, ["Mon", "Tue", "Wed", "Thu"]), p)
        self.assertEqual(self.vote(conv, seq, [4], who=self.ben)[0], 200)
        st, _, body = self.server.request("POST", f"/api/conversations/{conv}/messages/{seq}/poll/options",
                                          {"text": "Thu"}, token=self.ben["access_token"])
        self.assertEqual(st, 409, body)
#Only the creator or an admin closes it; then votes are refused.
        st, _, _ = self.server.request("POST", f"/api/conversations/{conv}/messages/{seq}/poll/close",
                                       token=self.ben["access_token"])
        self.assertEqual(st, 403)
        st, _, p = self.server.request("POST", f"/api/conversations/{conv}/messages/{seq}/poll/close",
                                       token=self.ann["access_token"])
        self.assertEqual((st, p["closed"]), (200, True))
        st, _, body = self.vote(conv, seq, [2])
        self.assertEqual(st, 409, body)
        self.assertIn("closed", body["detail"])
        _, _, p = self.server.request("GET", f"/api/conversations/{conv}/messages/{seq}/poll",
                                      token=self.ben["access_token"])
        self.assertEqual(self.votes(p), [1, 0, 1, 1], "closing keeps the results")

    def test_a_poll_closes_at_its_closing_time(self):
        conv = self.conversation()
        closes = int(time.time() * 1000) + 1500
        _, _, m = self.send_poll(conv, closes_at=closes)
        self.assertEqual(self.vote(conv, m["seq"], [1])[0], 200)
        time.sleep(max(0, (closes - time.time() * 1000) / 1000) + 0.2)
        st, _, body = self.vote(conv, m["seq"], [2])
        self.assertEqual(st, 409, body)
        _, _, p = self.server.request("GET", f"/api/conversations/{conv}/messages/{m['seq']}/poll",
                                      token=self.ann["access_token"])
        self.assertEqual((p["closed"], self.votes(p)), (True, [1, 0, 0]))

    def test_polls_over_both_encodings_and_their_events(self):
        conv = self.conversation()
        ben = ws_connect(self.server, self.ben["access_token"])
        self.assertTrue(ben.request("subscribe", conversations=[{"conv": conv}])["ok"])
        ann = ProtoClient(ws_connect(self.server, self.ann["access_token"], protocol=PROTO))
        sub = ann.request(subscribe=pb.Subscribe(conversations=[pb.Subscribe.Entry(conv=id_of(conv))]))
        self.assertTrue(sub.ok, sub)
        r = ben.request("send", conv=conv, client_id="poll-ws-1", body="Tea or coffee?",
                        poll={"options": ["Tea", "Coffee"]})
        self.assertTrue(r["ok"], r)
        ev = ben.event("message.new")
        self.assertEqual([o["text"] for o in ev["message"]["poll"]["options"]], ["Tea", "Coffee"])
        pe = ann.event("message_new")
        self.assertIn("Coffee", pe.message_new.message.poll)
        reply = ann.request(send=pb.Send(conv=id_of(conv), client_id="poll-pb-1", body="Now?",
                                         poll=pb.PollInput(options=["Yes", "No", "Later"], max_votes=2)))
        self.assertTrue(reply.ok, reply)
        ev = ben.event("message.new")
        self.assertEqual((ev["message"]["poll"]["max_votes"], len(ev["message"]["poll"]["options"])), (2, 3))
        self.vote(conv, r["result"]["seq"], [2])
        ev = ben.event("poll")
        self.assertEqual((ev["conv"], ev["poll"]["seq"], self.votes(ev["poll"]), ev["poll"]["voters"]),
                         (conv, r["result"]["seq"], [0, 1], 1))
        self.assertNotIn("me", ev["poll"]["options"][0], "events carry no one's own votes")
        pe = ann.event("poll")
        self.assertEqual(([o.votes for o in pe.poll.options], pe.poll.voters), ([0, 1], 1))
        bad = ben.request("send", conv=conv, client_id="poll-ws-2", body="x", poll={"options": ["only"]})
        self.assertEqual((bad["ok"], bad["error"]["code"]), (False, "bad_request"))
        ben.close()
        ann.ws.close()

    def test_bad_input_is_refused_with_a_clear_error_and_nothing_is_stored(self):
        conv = self.conversation()
        _, _, m = self.send_poll(conv)
        seq = m["seq"]
        future = int(time.time() * 1000) + 60_000
        cases = [
            ({"options": ["one"]}, "2 to 5 options"),
            ({"options": ["a", "b", "c", "d", "e", "f"]}, "2 to 5 options"),
            ({"options": ["a", "a"]}, "twice"),
            ({"options": ["a", ""]}, "1 to 200 bytes"),
            ({"options": ["a", "x" * 201]}, "1 to 200 bytes"),
            ({"options": ["a", 5]}, "strings"),
            ({"options": "a,b"}, "options"),
            ({"options": ["a", "b"], "max_votes": 3}, "max_votes"),
            ({"options": ["a", "b"], "max_votes": 0}, "max_votes"),
            ({"options": ["a", "b"], "max_votes": "2"}, "max_votes"),
            ({"options": ["a", "b"], "anonymous": "no"}, "anonymous"),
            ({"options": ["a", "b"], "closes_at": 1000}, "closes_at"),
            ({"options": ["a", "b"], "closes_at": future * 1000}, "closes_at"),
        ]
        for poll, detail in cases:
            st, _, body = self.send_poll(conv, **poll)
            self.assertEqual(st, 400, (poll, body))
            self.assertIn(detail, body["detail"], poll)
        st, _, body = self.server.request("POST", f"/api/conversations/{conv}/messages",
                                          {"client_id": "poll-bad-type", "body": "q", "poll": ["a", "b"]},
                                          token=self.ann["access_token"])
        self.assertEqual(st, 400, body)
        _, _, c = self.server.request("GET", f"/api/conversations/{conv}", token=self.ann["access_token"])
        self.assertEqual(c["last_seq"], seq, "nothing was stored")
        for ids, status in (([9], 400), ([1, 1], 400), (["1"], 400), ([0], 400), ([1, 2], 400)):
            st, _, body = self.vote(conv, seq, ids)
            self.assertEqual(st, status, (ids, body))
        self.assertEqual(self.vote(conv, seq, [1], who=self.eve)[0], 404, "not a member")
        _, _, plain = self.server.request("POST", f"/api/conversations/{conv}/messages",
                                          {"client_id": "poll-plain", "body": "no poll here"},
                                          token=self.ann["access_token"])
        self.assertEqual(self.vote(conv, plain["seq"], [1])[0], 404)
        st, _, body = self.server.request("POST", f"/api/conversations/{conv}/messages/{seq}/poll/options",
                                          {"text": "Tacos"}, token=self.ben["access_token"])
        self.assertEqual(st, 403, "options are the creator's unless open_options")
        st, _, body = self.server.request("PATCH", f"/api/conversations/{conv}/messages/{seq}",
                                          {"body": "Dinner?"}, token=self.ann["access_token"])
        self.assertEqual(st, 409, body)
        _, _, p = self.server.request("GET", f"/api/conversations/{conv}/messages/{seq}/poll",
                                      token=self.ann["access_token"])
        self.assertEqual((self.votes(p), p["voters"], len(p["options"])), ([0, 0, 0], 0, 3))

    def test_five_hundred_members_voting_at_once_are_counted_exactly(self):
        with ThreadPoolExecutor(16) as pool:
            users = list(pool.map(lambda i: self.server.register(f"voter{i}_poll"), range(VOTERS)))
        conv = self.conversation([u["user"]["id"] for u in users])
        _, _, m = self.send_poll(conv, "Big vote", options=["A", "B", "C"])
        seq = m["seq"]
        watcher = ws_connect(self.server, self.ann["access_token"])
        self.assertTrue(watcher.request("subscribe", conversations=[{"conv": conv}])["ok"])
        start = threading.Barrier(32)

        def vote(i):
            if i < 32:
                start.wait()
            st, _, body = self.vote(conv, seq, [i % 3 + 1], who=users[i])
            return st

        with ThreadPoolExecutor(32) as pool:
            statuses = list(pool.map(vote, range(VOTERS)))
        self.assertEqual(statuses, [200] * VOTERS)
        want = [len(range(k, VOTERS, 3)) for k in range(3)]
        _, _, p = self.server.request("GET", f"/api/conversations/{conv}/messages/{seq}/poll",
                                      token=self.ann["access_token"])
        self.assertEqual((self.votes(p), p["voters"]), (want, VOTERS))
#Events : far fewer than votes, and the last one is the state at rest
#(the coalesced tail goes out within a sweep, 250 ms).
        time.sleep(1.0)
        watcher.request("ping")  # every event sent before its reply has arrived
        events = [e for e in watcher.events if e.get("type") == "poll"]
        self.assertTrue(events, "no poll event")
        self.assertEqual((self.votes(events[-1]["poll"]), events[-1]["poll"]["voters"]), (want, VOTERS))
        self.assertLess(len(events), VOTERS / 5, "coalesced")
        print(f"\n500 voters: {len(events)} poll events", flush=True)
        watcher.close()


if __name__ == "__main__":
    unittest.main()
