"""Conversations and members over REST."""

import unittest

from harness import ServerTest


class ConversationTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.users = {}
        for name in ["ann", "ben", "cat", "dan"]:
            reg = cls.server.register(name + "_c")
            cls.users[name] = (reg["user"]["id"], reg["access_token"])

    def tok(self, name):
        return self.users[name][1]

    def uid(self, name):
        return self.users[name][0]

    def create(self, who, **body):
        return self.server.request("POST", "/api/conversations", body, token=self.tok(who))

    def test_people_are_found_by_name_prefix(self):
        self.server.register("zoe_finder", display_name="Zoe Quinn")
        status, _, found = self.server.request("GET", "/api/users?q=zoe", token=self.tok("ann"))
        self.assertEqual(status, 200)
        self.assertEqual([u["username"] for u in found["users"]], ["zoe_finder"])
        _, _, by_word = self.server.request("GET", "/api/users?q=QUI", token=self.tok("ann"))
        self.assertEqual([u["username"] for u in by_word["users"]], ["zoe_finder"])
        _, _, many = self.server.request("GET", "/api/users?q=_&limit=5", token=self.tok("ann"))
        self.assertEqual(many["users"], [])  # '_' matches only itself
        _, _, ones = self.server.request("GET", "/api/users?q=a&limit=1", token=self.tok("ann"))
        self.assertEqual(len(ones["users"]), 1)
        self.assertProblem(self.server.request("GET", "/api/users?q=", token=self.tok("ann")), 400)
        self.assertProblem(self.server.request("GET", "/api/users?q=" + "x" * 65, token=self.tok("ann")), 400)
        self.assertEqual(self.server.request("GET", "/api/users?q=zoe")[0], 401)

    def test_group_lifecycle(self):
        status, headers, conv = self.create("ann", kind="group", title="Project", members=[self.uid("ben")])
        self.assertEqual(status, 201)
        self.assertEqual(headers["location"], f"/api/conversations/{conv['id']}")
        self.assertEqual(conv["my_role"], "owner")
        self.assertEqual(conv["member_count"], 2)
        cid = conv["id"]
        # ben sees it; cat does not (and cannot tell it exists).
        self.assertEqual(self.server.request("GET", f"/api/conversations/{cid}", token=self.tok("ben"))[2]["my_role"], "member")
        self.assertProblem(self.server.request("GET", f"/api/conversations/{cid}", token=self.tok("cat")), 404)
        # rename: owner yes, member no
        self.assertProblem(self.server.request("PATCH", f"/api/conversations/{cid}", {"title": "Mine"}, token=self.tok("ben")), 403)
        status, _, renamed = self.server.request("PATCH", f"/api/conversations/{cid}", {"title": "Renamed"}, token=self.tok("ann"))
        self.assertEqual((status, renamed["title"]), (200, "Renamed"))
        # members: add cat, promote ben, ben (admin) removes cat, cat cannot return by herself
        status, _, m = self.server.request("POST", f"/api/conversations/{cid}/members", {"user_id": self.uid("cat")}, token=self.tok("ann"))
        self.assertEqual((status, m["role"]), (201, "member"))
        self.assertProblem(self.server.request("POST", f"/api/conversations/{cid}/members", {"user_id": self.uid("dan")}, token=self.tok("cat")), 403)
        status, _, m = self.server.request("PATCH", f"/api/conversations/{cid}/members/{self.uid('ben')}", {"role": "admin"}, token=self.tok("ann"))
        self.assertEqual((status, m["role"]), (200, "admin"))
        self.assertEqual(self.server.request("DELETE", f"/api/conversations/{cid}/members/{self.uid('cat')}", token=self.tok("ben"))[0], 204)
        self.assertProblem(self.server.request("GET", f"/api/conversations/{cid}/members", token=self.tok("cat")), 404)
        status, _, members = self.server.request("GET", f"/api/conversations/{cid}/members", token=self.tok("ann"))
        self.assertEqual(sorted(x["username"] for x in members["members"]), ["ann_c", "ben_c"])
        # the owner leaves: ben (admin) inherits
        self.assertEqual(self.server.request("POST", f"/api/conversations/{cid}/leave", token=self.tok("ann"))[0], 204)
        self.assertEqual(self.server.request("GET", f"/api/conversations/{cid}", token=self.tok("ben"))[2]["my_role"], "owner")

    def test_direct_conversation_is_unique_per_pair(self):
        status, _, first = self.create("ann", kind="direct", members=[self.uid("dan")])
        self.assertEqual(status, 201)
        status, _, again = self.create("dan", kind="direct", members=[self.uid("ann")])
        self.assertEqual(status, 200)
        self.assertEqual(again["id"], first["id"])
        self.assertProblem(self.create("ann", kind="direct", members=[]), 400, "exactly one")
        self.assertProblem(self.create("ann", kind="direct", title="x", members=[self.uid("ben")]), 400)
        self.assertProblem(self.server.request("PATCH", f"/api/conversations/{first['id']}", {"title": "x"}, token=self.tok("ann")), 400)

    def test_channels_are_joinable_by_anyone(self):
        _, _, ch = self.create("ben", kind="channel", title="announcements")
        cid = ch["id"]
        status, _, view = self.server.request("GET", f"/api/conversations/{cid}", token=self.tok("cat"))
        self.assertEqual((status, view["my_role"]), (200, None))
        self.assertProblem(self.server.request("GET", f"/api/conversations/{cid}/messages", token=self.tok("cat")), 403, "join")
        status, _, _ = self.server.request("POST", f"/api/conversations/{cid}/members", {"user_id": self.uid("cat")}, token=self.tok("cat"))
        self.assertEqual(status, 201)
        self.assertEqual(self.server.request("GET", f"/api/conversations/{cid}/messages", token=self.tok("cat"))[0], 200)

    def test_list_is_paginated_by_activity_with_unread_and_last_message(self):
        reg = self.server.register("lister_c")
        me, token = reg["user"]["id"], reg["access_token"]
        ids = []
        for i in range(5):
            _, _, c = self.server.request("POST", "/api/conversations",
                                          {"kind": "group", "title": f"c{i}", "members": [self.uid("ann")]}, token=token)
            ids.append(c["id"])
        # ann writes in the oldest one: it moves to the top with 1 unread for me.
        self.server.request("POST", f"/api/conversations/{ids[0]}/messages", {"client_id": "l1", "body": "ping"}, token=self.tok("ann"))
        status, _, page1 = self.server.request("GET", "/api/conversations?limit=2", token=token)
        self.assertEqual(status, 200)
        self.assertEqual([c["id"] for c in page1["conversations"]], [ids[0], ids[4]])
        top = page1["conversations"][0]
        self.assertEqual(top["unread"], 1)
        self.assertEqual(top["last_message"]["body"], "ping")
        self.assertIsNone(page1["conversations"][1]["last_message"])
        _, _, page2 = self.server.request("GET", f"/api/conversations?limit=2&cursor={page1['next_cursor']}", token=token)
        _, _, page3 = self.server.request("GET", f"/api/conversations?limit=2&cursor={page2['next_cursor']}", token=token)
        seen = [c["id"] for p in (page1, page2, page3) for c in p["conversations"]]
        self.assertEqual(seen, [ids[0], ids[4], ids[3], ids[2], ids[1]])
        self.assertIsNone(page3["next_cursor"])
        self.assertProblem(self.server.request("GET", "/api/conversations?cursor=zzz", token=token), 400, "cursor")
        self.assertProblem(self.server.request("GET", "/api/conversations?limit=0", token=token), 400, "limit")
        self.assertProblem(self.server.request("GET", "/api/conversations?limit=100000", token=token), 400, "limit")

    def test_bad_inputs(self):
        self.assertProblem(self.create("ann"), 400, "'kind'")
        self.assertProblem(self.create("ann", kind="lobby", title="x"), 400, "'kind'")
        self.assertProblem(self.create("ann", kind="group"), 400, "'title'")
        self.assertProblem(self.create("ann", kind="group", title="t" * 129), 400, "'title'")
        self.assertProblem(self.create("ann", kind="group", title="bad\u0007bell"), 400, "control")
        self.assertProblem(self.create("ann", kind="group", title="t", members="everyone"), 400, "'members'")
        self.assertProblem(self.create("ann", kind="group", title="t", members=[{"id": 1}]), 400, "members[]")
        self.assertProblem(self.create("ann", kind="group", title="t", members=["123"]), 400, "unknown user")
        self.assertProblem(self.server.request("GET", "/api/conversations/not-an-id", token=self.tok("ann")), 404)
        self.assertProblem(self.server.request("GET", "/api/conversations/999999999", token=self.tok("ann")), 404)
        self.assertProblem(self.server.request("GET", "/api/conversations"), 401)


if __name__ == "__main__":
    unittest.main()
