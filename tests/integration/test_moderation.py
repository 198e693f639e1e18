"""Moderation: mutes and slow mode enforced on REST and the WebSocket alike,
bans that remove and keep out, deletion of any message by admins, reports
filed by members and resolved by server admins, every action in the audit
trail, and who may do what."""

import time
import unittest

from harness import ServerTest, ws_connect
from test_collab import metric


class ModerationTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.server.register("root_mod")  # the first account is the server admin
        cls.ann = cls.server.register("ann_mod")
        cls.ben = cls.server.register("ben_mod")
        cls.cat = cls.server.register("cat_mod")
        cls.sent = 0

    def conversation(self, kind="group"):
        status, _, c = self.server.request("POST", "/api/conversations",
                                           {"kind": kind, "title": "mod",
                                            "members": [self.ben["user"]["id"], self.cat["user"]["id"]]},
                                           token=self.ann["access_token"])
        self.assertEqual(status, 201, c)
        return c["id"]

    def send(self, conv, who, body="hi"):
        ModerationTest.sent += 1
        return self.server.request("POST", f"/api/conversations/{conv}/messages",
                                   {"client_id": f"mod-{ModerationTest.sent}", "body": body},
                                   token=who["access_token"])

    def audit(self, action):
        _, _, page = self.server.request("GET", f"/api/admin/audit?action={action}",
                                         token=self.root["access_token"])
        return page["events"]

    def test_a_muted_member_cannot_send_on_rest_or_websocket_until_unmuted(self):
        conv = self.conversation()
        before = metric(self.server, "parley_moderation_actions_total")
        st, _, m = self.server.request("POST", f"/api/conversations/{conv}/members/{self.ben['user']['id']}/mute",
                                       {"seconds": 60}, token=self.ann["access_token"])
        self.assertEqual(st, 200, m)
        self.assertGreater(m["muted_until"], time.time() * 1000 + 50_000)
        st, _, body = self.send(conv, self.ben)
        self.assertEqual(st, 403, body)
        self.assertIn("muted", body["detail"])
        ws = ws_connect(self.server, self.ben["access_token"])
        r = ws.request("send", conv=conv, client_id="mod-ws-muted", body="x")
        self.assertEqual((r["ok"], r["error"]["code"]), (False, "forbidden"))
        self.assertEqual(self.send(conv, self.cat)[0], 201, "others still send")
        self.assertEqual(len(self.audit("moderation.muted")), 1)
        st, _, m = self.server.request("POST", f"/api/conversations/{conv}/members/{self.ben['user']['id']}/mute",
                                       {"seconds": 0}, token=self.ann["access_token"])
        self.assertEqual((st, m["muted_until"]), (200, None))
        r = ws.request("send", conv=conv, client_id="mod-ws-unmuted", body="back")
        self.assertTrue(r["ok"], r)
        self.assertEqual(metric(self.server, "parley_moderation_actions_total"), before + 2)
        # A member mutes nobody; nobody mutes the owner.
        st, _, _ = self.server.request("POST", f"/api/conversations/{conv}/members/{self.cat['user']['id']}/mute",
                                       {"seconds": 60}, token=self.ben["access_token"])
        self.assertEqual(st, 403)
        self.server.request("PATCH", f"/api/conversations/{conv}/members/{self.ben['user']['id']}",
                            {"role": "admin"}, token=self.ann["access_token"])
        st, _, _ = self.server.request("POST", f"/api/conversations/{conv}/members/{self.ann['user']['id']}/mute",
                                       {"seconds": 60}, token=self.ben["access_token"])
        self.assertEqual(st, 403)
        ws.close()

    def test_slow_mode_lets_a_member_send_once_per_interval_and_spares_admins(self):
        conv = self.conversation()
        st, _, body = self.server.request("PATCH", f"/api/conversations/{conv}", {"slow_mode_s": 2},
                                          token=self.ben["access_token"])
        self.assertEqual(st, 403, body)
        st, _, c = self.server.request("PATCH", f"/api/conversations/{conv}", {"slow_mode_s": 2},
                                       token=self.ann["access_token"])
        self.assertEqual((st, c["slow_mode_s"]), (200, 2))
        self.assertEqual(self.send(conv, self.ben)[0], 201)
        st, headers, body = self.send(conv, self.ben)
        self.assertEqual(st, 429, body)
        self.assertIn("slow mode", body["detail"])
        ws = ws_connect(self.server, self.ben["access_token"])
        r = ws.request("send", conv=conv, client_id="mod-ws-slow", body="x")
        self.assertEqual(r["error"]["code"], "too_many_requests")
        self.assertEqual(self.send(conv, self.ann)[0], 201, "the owner is not slowed")
        self.assertEqual(self.send(conv, self.ann)[0], 201)
        time.sleep(2.1)
        self.assertEqual(self.send(conv, self.ben)[0], 201, "after the interval")
        self.assertEqual(self.audit("moderation.slow_mode")[0]["detail"]["seconds"], 2)
        self.server.request("PATCH", f"/api/conversations/{conv}", {"slow_mode_s": 0}, token=self.ann["access_token"])
        self.assertEqual(self.send(conv, self.ben)[0], 201)
        self.assertEqual(self.send(conv, self.ben)[0], 201, "off again")
        ws.close()

    def test_a_ban_removes_and_keeps_out_until_lifted(self):
        conv = self.conversation()
        ws = ws_connect(self.server, self.cat["access_token"])
        self.assertTrue(ws.request("subscribe", conversations=[{"conv": conv}])["ok"])
        st, _, body = self.server.request("POST", f"/api/conversations/{conv}/bans",
                                          {"user_id": self.cat["user"]["id"], "reason": "spam"},
                                          token=self.ann["access_token"])
        self.assertEqual(st, 204, body)
        self.assertEqual(self.send(conv, self.cat)[0], 404, "not a member any more")
        st, _, _ = self.server.request("POST", f"/api/conversations/{conv}/members",
                                       {"user_id": self.cat["user"]["id"]}, token=self.ann["access_token"])
        self.assertEqual(st, 403, "a banned user cannot be added")
        _, _, page = self.server.request("GET", f"/api/conversations/{conv}/bans", token=self.ann["access_token"])
        self.assertEqual([(b["user_id"], b["reason"]) for b in page["bans"]], [(self.cat["user"]["id"], "spam")])
        self.assertEqual(self.server.request("GET", f"/api/conversations/{conv}/bans",
                                             token=self.ben["access_token"])[0], 403)
        self.assertEqual(self.audit("moderation.banned")[0]["target_id"], self.cat["user"]["id"])
        st, _, _ = self.server.request("DELETE", f"/api/conversations/{conv}/bans/{self.cat['user']['id']}",
                                       token=self.ann["access_token"])
        self.assertEqual(st, 204)
        st, _, _ = self.server.request("POST", f"/api/conversations/{conv}/members",
                                       {"user_id": self.cat["user"]["id"]}, token=self.ann["access_token"])
        self.assertEqual(st, 201, "back in after the ban is lifted")
        self.assertEqual(self.server.request("DELETE", f"/api/conversations/{conv}/bans/{self.cat['user']['id']}",
                                             token=self.ann["access_token"])[0], 404)
        ws.close()

    def test_reports_are_filed_once_seen_by_server_admins_and_resolved(self):
        conv = self.conversation()
        _, _, m = self.send(conv, self.ben, "something awful")
        before = metric(self.server, "parley_reports_total")
        st, _, r = self.server.request("POST", f"/api/conversations/{conv}/messages/{m['seq']}/reports",
                                       {"reason": "abusive"}, token=self.cat["access_token"])
        self.assertEqual((st, r["reason"], r["resolution"]), (201, "abusive", None), r)
        st, _, _ = self.server.request("POST", f"/api/conversations/{conv}/messages/{m['seq']}/reports",
                                       {"reason": "again"}, token=self.cat["access_token"])
        self.assertEqual(st, 409, "one open report per member and message")
        self.assertEqual(metric(self.server, "parley_reports_total"), before + 1)
        self.assertEqual(self.server.request("GET", "/api/admin/reports", token=self.ann["access_token"])[0], 403)
        _, _, page = self.server.request("GET", "/api/admin/reports", token=self.root["access_token"])
        self.assertIn(r["id"], [x["id"] for x in page["reports"]])
        st, _, done = self.server.request("POST", f"/api/admin/reports/{r['id']}/resolve",
                                          {"action": "delete_message"}, token=self.root["access_token"])
        self.assertEqual((st, done["resolution"]), (200, "message_deleted"), done)
        _, _, msg = self.server.request("GET", f"/api/conversations/{conv}/messages/{m['seq']}",
                                        token=self.ann["access_token"])
        self.assertTrue(msg["deleted"])
        _, _, page = self.server.request("GET", "/api/admin/reports", token=self.root["access_token"])
        self.assertNotIn(r["id"], [x["id"] for x in page["reports"]], "resolved: not open")
        _, _, page = self.server.request("GET", "/api/admin/reports?status=all", token=self.root["access_token"])
        self.assertIn(r["id"], [x["id"] for x in page["reports"]])
        self.assertEqual(self.server.request("POST", f"/api/admin/reports/{r['id']}/resolve", {"action": "dismiss"},
                                             token=self.root["access_token"])[0], 409)
        self.assertTrue(self.audit("moderation.reported"))
        self.assertTrue(self.audit("moderation.report_resolved"))

    def test_admins_delete_any_message_and_it_is_audited(self):
        conv = self.conversation()
        _, _, m = self.send(conv, self.ben, "off topic")
        self.assertEqual(self.server.request("DELETE", f"/api/conversations/{conv}/messages/{m['seq']}",
                                             token=self.cat["access_token"])[0], 403)
        self.assertEqual(self.server.request("DELETE", f"/api/conversations/{conv}/messages/{m['seq']}",
                                             token=self.ann["access_token"])[0], 200)
        events = self.audit("moderation.message_deleted")
        self.assertEqual((events[0]["actor_id"], events[0]["target_id"]), (self.ann["user"]["id"], self.ben["user"]["id"]))

    def test_bad_input(self):
        conv = self.conversation()
        path = f"/api/conversations/{conv}/members/{self.ben['user']['id']}/mute"
        for body in ({}, {"seconds": -1}, {"seconds": 10 ** 9}, {"seconds": "60"}):
            self.assertEqual(self.server.request("POST", path, body, token=self.ann["access_token"])[0], 400, body)
        for body in ({"slow_mode_s": -1}, {"slow_mode_s": 100000}):
            st, _, b = self.server.request("PATCH", f"/api/conversations/{conv}", body, token=self.ann["access_token"])
            self.assertEqual(st, 400, (body, b))
        _, _, m = self.send(conv, self.ben)
        rpath = f"/api/conversations/{conv}/messages/{m['seq']}/reports"
        for body in ({}, {"reason": ""}, {"reason": "x" * 1001}, {"reason": "bad\u0007"}):
            st, _, b = self.server.request("POST", rpath, body, token=self.cat["access_token"])
            self.assertEqual(st, 400, (body, b))
        self.assertEqual(self.server.request("POST", f"/api/conversations/{conv}/messages/999/reports",
                                             {"reason": "x"}, token=self.cat["access_token"])[0], 404)
        st, _, _ = self.server.request("POST", f"/api/conversations/{conv}/bans", {"user_id": "999999"},
                                       token=self.ann["access_token"])
        self.assertEqual(st, 404)
        _, _, direct = self.server.request("POST", "/api/conversations",
                                           {"kind": "direct", "members": [self.ben["user"]["id"]]},
                                           token=self.ann["access_token"])
        st, _, _ = self.server.request("POST", f"/api/conversations/{direct['id']}/bans",
                                       {"user_id": self.ben["user"]["id"]}, token=self.ann["access_token"])
        self.assertEqual(st, 400)
        self.assertEqual(self.server.request("POST", "/api/admin/reports/1/resolve", {"action": "explode"},
                                             token=self.root["access_token"])[0], 400)


if __name__ == "__main__":
    unittest.main()
