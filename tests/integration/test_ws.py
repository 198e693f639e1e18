"""The WebSocket gateway, protocol v1, against the real binary."""

import json
import re
import socket
import struct
import threading
import time
import unittest

from harness import Server, ServerTest, WsClient, WsClosed, claims, forge_jwt, forged_tokens, ws_connect


class GatewayTest(ServerTest):
    SETTINGS = {"cors.allowed_origins": "https://app.example.com", "ws.replay_limit": "20",
                "ws.presence_grace_ms": "400"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_w")
        cls.ben = cls.server.register("ben_w")
        cls.cat = cls.server.register("cat_w")
        cls.eve = cls.server.register("eve_w")

    def conversation(self, members=("ben", "cat")):
        ids = [getattr(self, m)["user"]["id"] for m in members]
        status, _, c = self.server.request("POST", "/api/conversations", {"kind": "group", "title": "w", "members": ids},
                                           token=self.ann["access_token"])
        self.assertEqual(status, 201)
        return c["id"]

    def connect(self, who, **kw):
        return ws_connect(self.server, getattr(self, who)["access_token"], **kw)

    # Handshake ---------------------------------------------------------------

    def test_handshake_checks(self):
        port = self.server.port
        self.assertEqual(WsClient(port, protocol=None).status, 400)
        bad_version = WsClient(port, headers={"Sec-WebSocket-Version": "8"})
        self.assertEqual(bad_version.status, 400)
        self.assertIn("Sec-WebSocket-Version: 13", bad_version.handshake)
        self.assertEqual(WsClient(port, origin="http://evil").status, 403)
        self.assertEqual(WsClient(port, origin="null").status, 403)
        # The server's own pages (the web app) are the same origin as the Host.
        own = WsClient(port, origin=f"http://127.0.0.1:{port}")
        self.assertEqual(own.status, 101)
        own.close()
        self.assertEqual(WsClient(port, origin=f"http://127.0.0.1:{port + 1}").status, 403)
        ok = WsClient(port, origin="https://app.example.com")
        self.assertEqual(ok.status, 101)
        self.assertIn("Sec-WebSocket-Protocol: parley.v1", ok.handshake)
        ok.close()
        self.assertEqual(WsClient(port, path="/ws?ticket=forged").status, 401)

    def test_a_new_member_hears_conversation_added_without_subscribing(self):
        eve = self.connect("eve")   # subscribed to nothing
        ann = self.connect("ann")
        # A direct conversation created with eve.
        status, _, direct = self.server.request("POST", "/api/conversations",
                                                {"kind": "direct", "members": [self.eve["user"]["id"]]},
                                                token=self.ann["access_token"])
        self.assertEqual(status, 201)
        ev = eve.event("conversation.added")
        self.assertEqual((ev["conv"], ev["role"]), (direct["id"], "member"))
        mine = ann.event("conversation.added")  # the creator's other tabs learn it too
        self.assertEqual((mine["conv"], mine["role"]), (direct["id"], "member"))
        # Added to an existing group later.
        conv = self.conversation(members=("ben",))
        self.assertEqual(ann.event("conversation.added")["role"], "owner")
        status, _, _ = self.server.request("POST", f"/api/conversations/{conv}/members",
                                           {"user_id": self.eve["user"]["id"]}, token=self.ann["access_token"])
        self.assertEqual(status, 201)
        ev = eve.event("conversation.added")
        self.assertEqual((ev["conv"], ev["role"]), (conv, "member"))
        # Asking for the direct conversation again creates nothing, so says nothing.
        self.server.request("POST", "/api/conversations", {"kind": "direct", "members": [self.eve["user"]["id"]]},
                            token=self.ann["access_token"])
        eve.request("ping")
        self.assertFalse([e for e in eve.events if e.get("type") == "conversation.added"], eve.events)
        eve.close()
        ann.close()

    def test_tickets_are_single_use(self):
        _, _, t = self.server.request("POST", "/api/ws/ticket", token=self.ann["access_token"])
        first = WsClient(self.server.port, path=t["url"])
        self.assertEqual(first.status, 101)
        self.assertEqual(WsClient(self.server.port, path=t["url"]).status, 401)
        first.close()
        self.assertEqual(self.server.request("POST", "/api/ws/ticket")[0], 401)

    def test_tokens_never_reach_the_access_log(self):
        _, _, t = self.server.request("POST", "/api/ws/ticket", token=self.ann["access_token"])
        c = WsClient(self.server.port, path=t["url"])
        c.request("auth", token=self.ann["access_token"])
        c.close()
        time.sleep(0.2)
        log = "\n".join(self.server.lines)
        self.assertNotIn(t["ticket"], log)
        self.assertNotIn(self.ann["access_token"], log)

    # Authentication ----------------------------------------------------------

    def test_ops_before_auth_close_with_4001(self):
        c = WsClient(self.server.port)
        c.send_frame(0x1, json.dumps({"id": "1", "op": "subscribe", "conversations": []}))
        reply = c.recv()
        self.assertEqual(reply["error"]["code"], "unauthorized")
        self.assertEqual(c.expect_close(), 4001)

    def test_every_forged_token_closes_with_4001(self):
        uid = self.ann["user"]["id"]
        good = forge_jwt({"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims(uid))
        ok = WsClient(self.server.port)
        self.assertTrue(ok.request("auth", token=good)["ok"])  # the forge helper is right
        ok.close()
        for name, token in forged_tokens(uid).items():
            with self.subTest(name):
                c = WsClient(self.server.port)
                reply = c.request("auth", token=token)
                self.assertFalse(reply["ok"])
                self.assertEqual(reply["error"]["code"], "unauthorized")
                self.assertEqual(c.expect_close(), 4001)

    def test_a_megabyte_token_closes_with_4001_and_authenticated_messages_may_be_large(self):
        c = WsClient(self.server.port)
        c.send_frame(0x1, json.dumps({"id": "1", "op": "auth", "token": "a" * 1_000_000}))
        self.assertEqual(c.expect_close(), 4001)  # not 1009: before auth it is a bad credential
        # Authenticated by an auth frame, the full ws.max_message_bytes applies again.
        c = WsClient(self.server.port)
        self.assertTrue(c.request("auth", token=self.ann["access_token"])["ok"])
        _, _, conv = self.server.request("POST", "/api/conversations", {"kind": "group", "title": "big"},
                                         token=self.ann["access_token"])
        reply = c.request("send", conv=conv["id"], client_id="big-1", body="b" * 60000)
        self.assertTrue(reply["ok"], reply)
        c.close()

    def test_bad_token_closes_with_4001(self):
        c = WsClient(self.server.port)
        reply = c.request("auth", token="not-a-token")
        self.assertFalse(reply["ok"])
        self.assertEqual(c.expect_close(), 4001)

    # Delivery ------------------------------------------------------------------

    def test_every_member_gets_every_message_once_in_order(self):
        conv = self.conversation()
        readers = [self.connect("ben"), self.connect("cat"), self.connect("ann")]
        for r in readers:
            self.assertTrue(r.request("subscribe", conversations=[{"conv": conv}])["ok"])
        senders = [self.connect("ann"), self.connect("ben")]
        acks = []

        def send_all(client, tag):
            for i in range(40):
                reply = client.request("send", conv=conv, client_id=f"{tag}-{i}", body=f"{tag} {i}")
                assert reply["ok"], reply
                acks.append(reply["result"]["seq"])

        threads = [threading.Thread(target=send_all, args=(s, f"s{n}")) for n, s in enumerate(senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(acks), list(range(1, 81)))
        for r in readers:
            seqs = [r.event("message.new")["seq"] for _ in range(80)]
            self.assertEqual(seqs, list(range(1, 81)))
        for c in readers + senders:
            c.close()

    def test_retried_send_gets_the_first_ack(self):
        conv = self.conversation()
        c = self.connect("ann")
        first = c.request("send", conv=conv, client_id="same", body="x")["result"]
        again = c.request("send", conv=conv, client_id="same", body="x")["result"]
        self.assertEqual((again["message_id"], again["seq"], again["duplicate"]),
                         (first["message_id"], first["seq"], True))
        self.assertFalse(first["duplicate"])
        c.close()

    def test_rest_sends_and_changes_are_delivered_live(self):
        conv = self.conversation()
        ben = self.connect("ben")
        ben.request("subscribe", conversations=[{"conv": conv}])
        tok = self.ann["access_token"]
        self.server.request("POST", f"/api/conversations/{conv}/messages", {"client_id": "r1", "body": "via rest"}, token=tok)
        self.assertEqual(ben.event("message.new")["message"]["body"], "via rest")
        self.server.request("PATCH", f"/api/conversations/{conv}/messages/1", {"body": "edited"}, token=tok)
        self.assertEqual(ben.event("message.updated")["message"]["body"], "edited")
        self.server.request("DELETE", f"/api/conversations/{conv}/messages/1", token=tok)
        self.assertTrue(ben.event("message.deleted")["message"]["deleted"])
        self.server.request("POST", f"/api/conversations/{conv}/read", {"seq": 1}, token=self.cat["access_token"])
        read = ben.event("read")
        self.assertEqual((read["user_id"], read["seq"]), (self.cat["user"]["id"], 1))
        ben.close()

    def test_read_edit_delete_over_the_socket(self):
        conv = self.conversation()
        ann = self.connect("ann")
        seq = ann.request("send", conv=conv, client_id="e1", body="typo")["result"]["seq"]
        self.assertTrue(ann.request("edit", conv=conv, seq=seq, body="fixed")["ok"])
        ben = self.connect("ben")
        self.assertEqual(ben.request("edit", conv=conv, seq=seq, body="hijack")["error"]["code"], "forbidden")
        self.assertEqual(ben.request("read", conv=conv, seq=seq)["result"]["unread"], 0)
        self.assertTrue(ann.request("delete", conv=conv, seq=seq)["result"]["deleted"])
        ann.close()
        ben.close()

    # Resume --------------------------------------------------------------------

    def test_resume_after_disconnect_has_no_gap_and_no_duplicate(self):
        conv = self.conversation()
        ann = self.connect("ann")
        ben = self.connect("ben")
        ben.request("subscribe", conversations=[{"conv": conv}])
        for i in range(5):
            ann.request("send", conv=conv, client_id=f"a{i}", body=str(i))
        seen = [ben.event("message.new")["seq"] for _ in range(5)]
        ben.sock.close()  # dropped without a close handshake
        for i in range(5, 12):
            ann.request("send", conv=conv, client_id=f"a{i}", body=str(i))
        ben = self.connect("ben")
        # Keep sending while ben resubscribes: replay and live must meet exactly.
        stop = threading.Event()

        def keep_sending():
            i = 12
            while not stop.is_set() and i < 40:
                ann.request("send", conv=conv, client_id=f"a{i}", body=str(i))
                i += 1

        t = threading.Thread(target=keep_sending)
        t.start()
        reply = ben.request("subscribe", conversations=[{"conv": conv, "since": seen[-1]}])
        self.assertTrue(reply["ok"], reply)
        t.join()
        stop.set()
        got = []
        while len(got) < 35:
            got.append(ben.event("message.new")["seq"])
        self.assertEqual(got, list(range(6, 41)))
        ann.close()
        ben.close()

    def test_replay_past_the_limit_is_truncated_to_the_newest_page(self):
        conv = self.conversation()
        ann = self.connect("ann")
        for i in range(30):
            ann.request("send", conv=conv, client_id=f"t{i}", body=str(i))
        ben = self.connect("ben")
        reply = ben.request("subscribe", conversations=[{"conv": conv, "since": 2}])
        sub = reply["result"]["subscribed"][0]
        self.assertEqual((sub["truncated"], sub["replayed"], sub["last_seq"]), (True, 20, 30))
        seqs = [ben.event("message.new")["seq"] for _ in range(20)]
        self.assertEqual(seqs, list(range(11, 31)))
        ann.close()
        ben.close()

    # Authorization ---------------------------------------------------------------

    def test_non_members_cannot_subscribe_send_or_see_events(self):
        conv = self.conversation()
        eve = self.connect("eve")
        reply = eve.request("subscribe", conversations=[{"conv": conv}])
        self.assertEqual(reply["result"]["errors"], [{"conv": conv, "code": "not_found"}])
        self.assertEqual(reply["result"]["subscribed"], [])
        self.assertEqual(eve.request("send", conv=conv, client_id="x", body="x")["error"]["code"], "not_found")
        ann = self.connect("ann")
        ann.request("send", conv=conv, client_id="secret", body="members only")
        # eve receives nothing: her next reply comes with no event before it.
        self.assertTrue(eve.request("ping")["ok"])
        self.assertEqual(eve.events, [])
        eve.close()
        ann.close()

    def test_membership_changes_are_events_and_removal_ends_the_subscription(self):
        conv = self.conversation()
        ben, cat = self.connect("ben"), self.connect("cat")
        for c in (ben, cat):
            c.request("subscribe", conversations=[{"conv": conv}])
        tok = self.ann["access_token"]
        self.server.request("POST", f"/api/conversations/{conv}/members", {"user_id": self.eve["user"]["id"]}, token=tok)
        joined = ben.event("member.joined")
        self.assertEqual((joined["user_id"], joined["role"]), (self.eve["user"]["id"], "member"))
        self.server.request("PATCH", f"/api/conversations/{conv}", {"title": "renamed"}, token=tok)
        self.assertEqual(ben.event("conversation.updated")["conversation"]["title"], "renamed")
        self.server.request("DELETE", f"/api/conversations/{conv}/members/{self.cat['user']['id']}", token=tok)
        self.assertEqual(cat.event("member.left")["user_id"], self.cat["user"]["id"])
        self.assertEqual(ben.event("member.left")["user_id"], self.cat["user"]["id"])
        self.server.request("POST", f"/api/conversations/{conv}/messages", {"client_id": "after-removal", "body": "not for cat"}, token=tok)
        self.assertEqual(ben.event("message.new")["message"]["body"], "not for cat")
        cat.events.clear()
        self.assertTrue(cat.request("ping")["ok"])
        self.assertEqual([e for e in cat.events if e.get("type") == "message.new"], [])
        ben.close()
        cat.close()

    def test_logout_closes_that_logins_sockets_only(self):
        reg = self.server.register("dan_w")
        other = self.server.login("dan_w")[2]  # a second login (another device)
        a = ws_connect(self.server, reg["access_token"])                 # via ticket
        b = ws_connect(self.server, reg["access_token"], ticket=False)   # via auth frame
        c = ws_connect(self.server, other["access_token"])
        started = time.time()
        self.assertEqual(self.server.request("POST", "/api/auth/logout", {"refresh_token": reg["refresh_token"]})[0], 204)
        self.assertEqual(a.expect_close(), 4001)
        self.assertEqual(b.expect_close(), 4001)
        self.assertLess(time.time() - started, 5)
        self.assertTrue(c.request("ping")["ok"])  # the other login is untouched
        c.close()

    def test_disabling_a_user_closes_all_their_sockets(self):
        # ann_w is the first account on this server, so she is admin.
        reg = self.server.register("fay_w")
        a = ws_connect(self.server, reg["access_token"])
        b = ws_connect(self.server, self.server.login("fay_w")[2]["access_token"], ticket=False)
        started = time.time()
        status, _, _ = self.server.request("PATCH", f"/api/admin/users/{reg['user']['id']}", {"disabled": True},
                                           token=self.ann["access_token"])
        self.assertEqual(status, 200)
        self.assertEqual(a.expect_close(), 4001)
        self.assertEqual(b.expect_close(), 4001)
        self.assertLess(time.time() - started, 5)

    def test_typing_is_relayed_throttled_and_needs_a_subscription(self):
        conv = self.conversation()
        ben, cat = self.connect("ben"), self.connect("cat")
        for c in (ben, cat):
            c.request("subscribe", conversations=[{"conv": conv}])
        self.assertFalse(ben.request("typing", conv=conv)["result"]["throttled"])
        ev = cat.event("typing")
        self.assertEqual((ev["user_id"], ev["conv"], ev["expires_in_ms"]), (self.ben["user"]["id"], conv, 5000))
        self.assertTrue(ben.request("typing", conv=conv)["result"]["throttled"])
        other = self.conversation(members=("ben",))
        self.assertEqual(ben.request("typing", conv=other)["error"]["code"], "forbidden")
        ben.close()
        cat.close()

    def test_presence_goes_online_at_once_and_offline_after_the_grace(self):
        gus = self.server.register("gus_w")
        _, _, c = self.server.request("POST", "/api/conversations",
                                      {"kind": "group", "title": "p", "members": [gus["user"]["id"]]},
                                      token=self.ann["access_token"])
        ann = self.connect("ann")
        ann.request("subscribe", conversations=[{"conv": c["id"]}])
        def presence_of_gus():
            while True:
                e = ann.event("presence")
                if e["user_id"] == gus["user"]["id"]:
                    return e

        g1 = ws_connect(self.server, gus["access_token"])
        ev = presence_of_gus()
        self.assertEqual((ev["user_id"], ev["status"], ev["conv"]), (gus["user"]["id"], "online", c["id"]))
        g2 = ws_connect(self.server, gus["access_token"], ticket=False)
        g1.close()  # one of two connections: still online
        time.sleep(0.8)
        status = ann.request("presence", users=[gus["user"]["id"]])["result"]["users"][0]
        self.assertEqual(status["status"], "online")
        g2.close()
        ev = presence_of_gus()
        self.assertEqual(ev["status"], "offline")
        self.assertIsInstance(ev["last_seen"], int)
        status = ann.request("presence", users=[gus["user"]["id"]])["result"]["users"][0]
        self.assertEqual(status["status"], "offline")
        ann.close()

    # Protocol errors ---------------------------------------------------------------

    def test_protocol_violations_close_with_their_codes(self):
        cases = [
            ("unmasked", lambda c: c.send_frame(0x1, "{}", mask=False), 1002),
            ("reserved bit", lambda c: c.send_frame(0x1, "{}", rsv=4), 1002),
            ("bad utf-8", lambda c: c.send_frame(0x1, b'{"op":"\xff"}'), 1007),
            ("binary", lambda c: c.send_frame(0x2, b"\x00"), 1003),
            ("too big", lambda c: c.send_frame(0x1, "x" * 200_000), 1009),
            ("bad close code", lambda c: c.send_frame(0x8, struct.pack("!H", 1005)), 1002),
        ]
        for name, act, code in cases:
            with self.subTest(name):
                c = self.connect("ann")
                act(c)
                self.assertEqual(c.expect_close(), code)

    def test_client_close_is_echoed_and_pings_are_answered(self):
        c = self.connect("ann")
        c.send_frame(0x9, b"hello")
        opcode, _, payload = c.recv_frame()
        self.assertEqual((opcode, payload), (0xA, b"hello"))
        c.send_frame(0x8, struct.pack("!H", 1000) + b"bye")
        opcode, _, payload = c.recv_frame()
        self.assertEqual((opcode, struct.unpack("!H", payload[:2])[0]), (0x8, 1000))

    def test_bad_json_gets_an_error_reply_not_a_crash(self):
        c = self.connect("ann")
        for frame in ["not json", "[1,2]", '{"op": 5}', '{"id": "1", "op": "warp"}',
                      '{"id":"2","op":"send","conv":"abc","client_id":"x","body":"y"}',
                      '{"id":"3","op":"subscribe","conversations":"all"}',
                      '{"a":' + "[" * 100 + "]" * 100 + "}"]:
            c.send_frame(0x1, frame)
            reply = c.recv()
            self.assertFalse(reply["ok"], frame)
        self.assertTrue(c.request("ping")["ok"])
        c.close()

    def test_metrics(self):
        _, _, text = self.server.request("GET", "/metrics")
        for family in ["parley_ws_connections", "parley_ws_frames_in_total", "parley_ws_frames_out_total",
                       "parley_ws_deliveries_total", "parley_ws_send_ack_seconds",
                       "parley_ws_slow_consumer_closes_total", "parley_ws_subscriptions",
                       "parley_ws_publish_to_deliver_seconds", "parley_ws_closes_total"]:
            self.assertIn(f"# TYPE {family} ", text)


class ManyClientsTest(ServerTest):
    SETTINGS = {"ws.max_connections_per_user": "100"}

    def test_fifty_subscribers_five_senders_each_sees_every_message_once_in_order(self):
        owner = self.server.register("owner_m")
        members = [self.server.register(f"member{i}_m") for i in range(10)]
        _, _, conv = self.server.request("POST", "/api/conversations",
                                         {"kind": "group", "title": "many", "members": [m["user"]["id"] for m in members]},
                                         token=owner["access_token"])
        readers = [ws_connect(self.server, members[i % 10]["access_token"], ticket=i % 2 == 0) for i in range(50)]
        for r in readers:
            self.assertTrue(r.request("subscribe", conversations=[{"conv": conv["id"]}])["ok"])
        senders = [ws_connect(self.server, members[i]["access_token"]) for i in range(5)]
        errors = []

        def send_all(n, client):
            try:
                for i in range(20):
                    reply = client.request("send", conv=conv["id"], client_id=f"m{n}-{i}", body=f"{n}:{i}")
                    if not reply["ok"]:
                        errors.append(reply)
            except Exception as e:  # surfaced below
                errors.append(repr(e))

        threads = [threading.Thread(target=send_all, args=(n, c)) for n, c in enumerate(senders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        for r in readers:
            got = [r.event("message.new") for _ in range(100)]
            self.assertEqual([e["seq"] for e in got], list(range(1, 101)))
            # Per sender, its messages arrive in the order it sent them.
            for n in range(5):
                mine = [int(e["message"]["body"].split(":")[1]) for e in got if e["message"]["body"].startswith(f"{n}:")]
                self.assertEqual(mine, list(range(20)))
        for c in readers + senders:
            c.close()


class LimitsTest(ServerTest):
    SETTINGS = {"ws.rate_per_s": "5", "ws.rate_burst": "10", "ws.max_connections_per_user": "2",
                "ws.auth_timeout_ms": "300", "ws.max_outbound_bytes": "65536",
                "ws.ping_interval_ms": "300", "ws.idle_timeout_ms": "1500"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_l")
        cls.ben = cls.server.register("ben_l")

    def test_rate_limit_closes_with_4008(self):
        c = ws_connect(self.server, self.ann["access_token"])
        for i in range(30):
            try:
                c.send_frame(0x1, json.dumps({"id": str(i), "op": "ping"}))
            except OSError:
                break
        self.assertEqual(c.expect_close(), 4008)

    def test_connections_per_user_are_capped(self):
        held = [ws_connect(self.server, self.ben["access_token"]) for _ in range(2)]
        _, _, t = self.server.request("POST", "/api/ws/ticket", token=self.ben["access_token"])
        self.assertEqual(WsClient(self.server.port, path=t["url"]).status, 429)
        extra = WsClient(self.server.port)
        extra.request("auth", token=self.ben["access_token"])
        self.assertEqual(extra.expect_close(), 4008)
        for c in held:
            c.close()

    def test_auth_deadline(self):
        c = WsClient(self.server.port)
        self.assertEqual(c.expect_close(), 4001)

    def test_idle_connections_are_pinged_and_dead_ones_closed(self):
        c = ws_connect(self.server, self.ann["access_token"])
        opcode, _, _ = c.recv_frame()
        self.assertEqual(opcode, 0x9)  # the server's ping, unanswered on purpose
        started = time.time()
        with self.assertRaises((WsClosed, OSError)):
            while True:
                c.recv_frame()
        self.assertLess(time.time() - started, 5)

class SlowConsumerTest(ServerTest):
    # Pings and the dead-peer timeout at their defaults, so that the reader
    # that reads nothing is cut off for its queue, not for missing pongs,
    # however slow the build (under TSan the flood takes seconds).
    SETTINGS = {"ws.max_outbound_bytes": "65536"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_sc")
        cls.ben = cls.server.register("ben_sc")

    def test_slow_consumer_is_closed_and_others_are_unaffected(self):
        _, _, conv = self.server.request("POST", "/api/conversations",
                                         {"kind": "group", "title": "s", "members": [self.ben["user"]["id"]]},
                                         token=self.ann["access_token"])
        slow = ws_connect(self.server, self.ben["access_token"], rcvbuf=4096)
        slow.request("subscribe", conversations=[{"conv": conv["id"]}])
        fast = ws_connect(self.server, self.ann["access_token"])
        fast.request("subscribe", conversations=[{"conv": conv["id"]}])
        body = "x" * 60000
        # 200 x 60 KB = 12 MB to a reader that reads nothing: more than the
        # kernel buffers hold, so the server's queue passes 64 KiB.
        for i in range(200):
            status, _, _ = self.server.request("POST", f"/api/conversations/{conv['id']}/messages",
                                               {"client_id": f"flood{i}", "body": body}, token=self.ann["access_token"])
            self.assertEqual(status, 201)
            fast.event("message.new")  # the fast reader keeps up
        code = None
        try:
            while True:
                slow.recv()
        except WsClosed as e:
            code = e.code
        self.assertIn(code, (4009, 1006))
        _, _, text = self.server.request("GET", "/metrics")
        self.assertIsNotNone(re.search(r"parley_ws_slow_consumer_closes_total [1-9]", text), "no slow-consumer close counted")
        self.assertTrue(fast.request("ping")["ok"])
        fast.close()


class BackpressureTest(ServerTest):
    SETTINGS = {"ws.max_outbound_bytes": str(64 << 20)}

    def test_a_paused_reader_gets_every_frame_intact_after_backpressure(self):
        """Regression for partial writes: frames cut by a full socket buffer continue
        where they stopped (the first gathered non-blocking write, then the write loop)."""
        ann, ben = self.server.register("ann_bp"), self.server.register("ben_bp")
        _, _, conv = self.server.request("POST", "/api/conversations",
                                         {"kind": "group", "title": "bp", "members": [ben["user"]["id"]]},
                                         token=ann["access_token"])
        reader = ws_connect(self.server, ben["access_token"], rcvbuf=4096)
        self.assertTrue(reader.request("subscribe", conversations=[{"conv": conv["id"]}])["ok"])
        # 150 x 60 KB = 9 MB while the reader reads nothing: far past the kernel buffers.
        bodies = [f"{i:05d}" + chr(ord("a") + i % 26) * 59995 for i in range(150)]
        for i, body in enumerate(bodies):
            status, _, _ = self.server.request("POST", f"/api/conversations/{conv['id']}/messages",
                                               {"client_id": f"bp{i}", "body": body}, token=ann["access_token"])
            self.assertEqual(status, 201)
        for i, body in enumerate(bodies):
            event = reader.event("message.new")
            self.assertEqual(event["seq"], i + 1)
            self.assertEqual(event["message"]["body"], body)
        self.assertTrue(reader.request("ping")["ok"])
        reader.close()


class ReplayBudgetTest(ServerTest):
    SETTINGS = {"ws.max_outbound_bytes": "65536"}

    def test_a_replay_larger_than_the_outbound_queue_is_truncated_not_cut_off(self):
        """Regression: 40 missed 8 KB messages (320 KB) replayed into a 64 KiB
        queue closed the subscribing connection with 4009, and every
        resubscribe did the same. The replay keeps the newest that fit half the
        queue, says truncated, and the rest comes over REST."""
        ann, ben = self.server.register("ann_rb"), self.server.register("ben_rb")
        _, _, conv = self.server.request("POST", "/api/conversations",
                                         {"kind": "group", "title": "rb", "members": [ben["user"]["id"]]},
                                         token=ann["access_token"])
        for i in range(40):
            status, _, _ = self.server.request("POST", f"/api/conversations/{conv['id']}/messages",
                                               {"client_id": f"rb{i}", "body": f"{i:03d}" + "y" * 7997},
                                               token=ann["access_token"])
            self.assertEqual(status, 201)
        c = ws_connect(self.server, ben["access_token"])
        reply = c.request("subscribe", conversations=[{"conv": conv["id"], "since": 0}])
        self.assertTrue(reply["ok"], reply)
        result = reply["result"]["subscribed"][0]
        self.assertTrue(result["truncated"])
        self.assertEqual(result["last_seq"], 40)
        self.assertTrue(0 < result["replayed"] < 40)
        seqs = [c.event("message.new")["seq"] for _ in range(result["replayed"])]
        self.assertEqual(seqs, list(range(41 - result["replayed"], 41)))
        self.assertTrue(c.request("ping")["ok"])  # still open
        _, _, page = self.server.request(
            "GET", f"/api/conversations/{conv['id']}/messages?after=0&limit={seqs[0] - 1}",
            token=ben["access_token"])
        self.assertEqual([m["seq"] for m in page["messages"]], list(range(1, seqs[0])))
        c.close()


class PerAddressCapTest(ServerTest):
    SETTINGS = {"ws.max_connections_per_ip": "3"}

    def test_connections_per_address_are_capped(self):
        token = self.server.register("ip_cap")["access_token"]
        held = [ws_connect(self.server, token) for _ in range(3)]
        refused = WsClient(self.server.port)
        self.assertEqual(refused.status, 429)
        held[0].close()
        time.sleep(0.3)
        again = ws_connect(self.server, token)  # a slot was freed
        again.close()
        for c in held[1:]:
            c.close()


class ShutdownTest(unittest.TestCase):
    def test_sigterm_closes_sockets_with_1001_and_keeps_every_acked_message(self):
        server = Server().start()
        try:
            ann = server.register("ann_s")
            _, _, conv = server.request("POST", "/api/conversations", {"kind": "group", "title": "s"},
                                        token=ann["access_token"])
            c = ws_connect(server, ann["access_token"])
            acked = [c.request("send", conv=conv["id"], client_id=f"s{i}", body=str(i))["result"]["message_id"]
                     for i in range(30)]
            server.proc.send_signal(15)
            self.assertEqual(c.expect_close(), 1001)
            self.assertEqual(server.proc.wait(20), 0)
            again = Server(data_dir=server.data_dir).start()
            try:
                token = again.login("ann_s")[2]["access_token"]
                _, _, page = again.request("GET", f"/api/conversations/{conv['id']}/messages?after=0&limit=100", token=token)
                self.assertEqual([m["id"] for m in page["messages"]], acked)
                self.assertEqual(again.stop(), 0)
            finally:
                again.kill()
        finally:
            server.cleanup()


if __name__ == "__main__":
    unittest.main()
