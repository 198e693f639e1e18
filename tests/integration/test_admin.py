"""User administration: the first account is admin; disabling cuts access at once."""

import unittest

from harness import ServerTest


class AdminTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.root = cls.server.register("root_a")    # first account: admin
        cls.bob = cls.server.register("bob_a")

    def test_first_account_is_admin_and_others_are_users(self):
        self.assertEqual(self.root["user"]["role"], "admin")
        self.assertEqual(self.bob["user"]["role"], "user")

    def test_only_admins_administer(self):
        self.assertProblem(self.server.request("GET", "/api/admin/users", token=self.bob["access_token"]), 403)
        self.assertProblem(self.server.request("PATCH", f"/api/admin/users/{self.root['user']['id']}",
                                               {"disabled": True}, token=self.bob["access_token"]), 403)
        status, _, page = self.server.request("GET", "/api/admin/users?limit=1", token=self.root["access_token"])
        self.assertEqual(status, 200)
        self.assertEqual(len(page["users"]), 1)
        _, _, rest = self.server.request("GET", f"/api/admin/users?after={page['next_after']}",
                                         token=self.root["access_token"])
        self.assertIn("bob_a", [u["username"] for u in rest["users"]])

    def test_disabling_a_user_cuts_access_and_enabling_restores_it(self):
        carl = self.server.register("carl_a")
        uid = carl["user"]["id"]
        self.assertEqual(self.server.request("GET", "/api/auth/me", token=carl["access_token"])[0], 200)
        status, _, user = self.server.request("PATCH", f"/api/admin/users/{uid}", {"disabled": True},
                                              token=self.root["access_token"])
        self.assertEqual((status, user["disabled"]), (200, True))
        self.assertProblem(self.server.request("GET", "/api/auth/me", token=carl["access_token"]), 401, "disabled")
        self.assertProblem(self.server.request("GET", "/api/conversations", token=carl["access_token"]), 401)
        self.assertProblem(self.server.request("POST", "/api/auth/refresh",
                                               {"refresh_token": carl["refresh_token"]}), 401)
        self.assertProblem(self.server.login("carl_a"), 401)
        self.server.request("PATCH", f"/api/admin/users/{uid}", {"disabled": False}, token=self.root["access_token"])
        self.assertEqual(self.server.login("carl_a")[0], 200)

    def test_roles_change_and_admins_cannot_lock_themselves_out(self):
        dina = self.server.register("dina_a")
        status, _, user = self.server.request("PATCH", f"/api/admin/users/{dina['user']['id']}", {"role": "admin"},
                                              token=self.root["access_token"])
        self.assertEqual((status, user["role"]), (200, "admin"))
        # The role is read from the store, so dina's existing token works as admin at once.
        self.assertEqual(self.server.request("GET", "/api/admin/users", token=dina["access_token"])[0], 200)
        rid = self.root["user"]["id"]
        self.assertProblem(self.server.request("PATCH", f"/api/admin/users/{rid}", {"disabled": True},
                                               token=self.root["access_token"]), 400)
        self.assertProblem(self.server.request("PATCH", f"/api/admin/users/{rid}", {"role": "user"},
                                               token=self.root["access_token"]), 400)
        self.assertProblem(self.server.request("PATCH", f"/api/admin/users/{rid}", {"role": "god"},
                                               token=self.root["access_token"]), 400)
        self.assertProblem(self.server.request("PATCH", f"/api/admin/users/{rid}", {"disabled": "yes"},
                                               token=self.root["access_token"]), 400)
        self.assertProblem(self.server.request("PATCH", f"/api/admin/users/{rid}", {},
                                               token=self.root["access_token"]), 400)
        self.assertProblem(self.server.request("PATCH", "/api/admin/users/12345", {"role": "user"},
                                               token=self.root["access_token"]), 404)


if __name__ == "__main__":
    unittest.main()
