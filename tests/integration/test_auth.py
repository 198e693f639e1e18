"""Accounts, tokens, refresh rotation, throttling."""

import json
import os
import re
import sqlite3
import unittest

from harness import (DATABASE, PASSWORD, Server, ServerTest, claims, forge_jwt, forged_tokens, postgres_url_for,
                     psql)


class AuthTest(ServerTest):
    def test_register_login_me(self):
        reg = self.server.register("alice_auth", display_name="Alice A.")
        self.assertEqual(reg["token_type"], "Bearer")
        self.assertEqual(reg["expires_in"], 900)
        self.assertEqual(reg["user"]["display_name"], "Alice A.")
        status, _, me = self.server.request("GET", "/api/auth/me", token=reg["access_token"])
        self.assertEqual(status, 200)
        self.assertEqual(me["username"], "alice_auth")
        status, _, body = self.server.login("alice_auth")
        self.assertEqual(status, 200)
        self.assertNotEqual(body["refresh_token"], reg["refresh_token"])
        header = json.loads(__import__("base64").urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))
        self.assertEqual(header, {"alg": "HS256", "typ": "JWT", "kid": "k1"})

    def test_duplicate_and_invalid_registrations(self):
        self.server.register("dup_user")
        self.assertProblem(self.server.request("POST", "/api/auth/register",
                                               {"username": "dup_user", "password": PASSWORD}), 409)
        self.assertProblem(self.server.request("POST", "/api/auth/register",
                                               {"username": "Bad Name", "password": PASSWORD}), 400, "'username'")
        self.assertProblem(self.server.request("POST", "/api/auth/register",
                                               {"username": "shorty", "password": "short"}), 400, "'password'")
        self.assertProblem(self.server.request("POST", "/api/auth/register",
                                               {"username": "x" * 100, "password": PASSWORD}), 400, "'username'")
        self.assertProblem(self.server.request("POST", "/api/auth/register",
                                               {"username": 5, "password": PASSWORD}), 400, "'username' must be a string")
        self.assertProblem(self.server.request("POST", "/api/auth/register", {"username": "nopass"}), 400, "'password'")

    def test_huge_password_is_refused_before_hashing(self):
        self.assertProblem(self.server.request("POST", "/api/auth/register",
                                               {"username": "bigpw", "password": "p" * 1_000_000}), 400, "'password'")
        self.assertProblem(self.server.login("bigpw", "p" * 1_000_000), 400, "'password'")

    def test_unknown_user_and_wrong_password_answer_alike(self):
        self.server.register("carol_auth")
        wrong = self.server.login("carol_auth", "wrong password!")
        unknown = self.server.login("nobody_here", "wrong password!")
        self.assertEqual(wrong[0], 401)
        self.assertEqual(unknown[0], 401)
        strip = lambda b: {k: v for k, v in b.items() if k not in ("request_id",)}
        self.assertEqual(strip(wrong[2]), strip(unknown[2]))
        self.assertEqual(wrong[1]["www-authenticate"], "Bearer")

    def test_refresh_rotates_and_reuse_revokes_the_family(self):
        reg = self.server.register("dave_auth")
        first = reg["refresh_token"]
        status, _, rotated = self.server.request("POST", "/api/auth/refresh", {"refresh_token": first})
        self.assertEqual(status, 200)
        second = rotated["refresh_token"]
        self.assertNotEqual(first, second)
        self.assertEqual(self.server.request("GET", "/api/auth/me", token=rotated["access_token"])[0], 200)
        # Someone replays the first token: refused, and the live one dies with it.
        self.assertProblem(self.server.request("POST", "/api/auth/refresh", {"refresh_token": first}), 401, "already used")
        self.assertProblem(self.server.request("POST", "/api/auth/refresh", {"refresh_token": second}), 401)
        # Another login (another family) is unaffected.
        status, _, other = self.server.login("dave_auth")
        self.assertEqual(self.server.request("POST", "/api/auth/refresh",
                                             {"refresh_token": other["refresh_token"]})[0], 200)

    def test_logout_revokes_refresh(self):
        reg = self.server.register("erin_auth")
        status, _, _ = self.server.request("POST", "/api/auth/logout", {"refresh_token": reg["refresh_token"]})
        self.assertEqual(status, 204)
        self.assertProblem(self.server.request("POST", "/api/auth/refresh",
                                               {"refresh_token": reg["refresh_token"]}), 401)
        self.assertEqual(self.server.request("POST", "/api/auth/logout", {"refresh_token": "unknown"})[0], 204)
        self.assertProblem(self.server.request("POST", "/api/auth/refresh", {"refresh_token": "garbage"}), 401)

    def test_forged_and_broken_tokens_get_401(self):
        uid = self.server.register("frank_auth")["user"]["id"]
        good = forge_jwt({"alg": "HS256", "typ": "JWT", "kid": "k1"}, claims(uid))
        self.assertEqual(self.server.request("GET", "/api/auth/me", token=good)[0], 200)  # the forge helper is right
        bad = forged_tokens(uid)
        for name, token in bad.items():
            with self.subTest(name):
                self.assertProblem(self.server.request("GET", "/api/auth/me", token=token), 401)
        self.assertProblem(self.server.request("GET", "/api/auth/me"), 401, "missing bearer token")
        # A megabyte token never reaches the JWT parser (the request head is
        # capped at 16 KiB), and is refused as the bad credential it is.
        status, headers, body = self.server.request("GET", "/api/auth/me", token="a" * 1_000_000)
        self.assertProblem((status, headers, body), 401, "Authorization header is too large")
        self.assertEqual(headers.get("www-authenticate"), 'Bearer error="invalid_token"')
        big_jwt = forge_jwt({"alg": "HS256", "typ": "JWT", "kid": "k1"}, {**claims(uid), "pad": "x" * 1_000_000})
        self.assertProblem(self.server.request("GET", "/api/auth/me", token=big_jwt), 401)
        # Any other header past the cap is still 431.
        self.assertProblem(self.server.request("GET", "/api/auth/me", headers={"X-Filler": "f" * 1_000_000}), 431)
        self.assertProblem(self.server.request("GET", "/api/auth/me", headers={"Authorization": "Basic abc"}), 401)

    def test_user_lookup(self):
        token = self.server.register("gina_auth")["access_token"]
        status, _, user = self.server.request("GET", "/api/users?username=gina_auth", token=token)
        self.assertEqual(status, 200)
        self.assertNotIn("password_hash", user)
        self.assertEqual(self.server.request("GET", f"/api/users/{user['id']}", token=token)[2]["username"], "gina_auth")
        self.assertProblem(self.server.request("GET", "/api/users?username=nobody_x", token=token), 404)
        self.assertProblem(self.server.request("GET", "/api/users/abc", token=token), 404)
        self.assertProblem(self.server.request("GET", "/api/users?username=gina_auth"), 401)


class ThrottleTest(ServerTest):
    SETTINGS = {"auth.login_account_max_failures": "3", "auth.login_account_window_s": "600"}

    def test_login_failures_throttle_the_account(self):
        self.server.register("henry_auth")
        for _ in range(3):
            self.assertEqual(self.server.login("henry_auth", "wrong password!")[0], 401)
        response = self.server.login("henry_auth", "wrong password!")
        self.assertProblem(response, 429)
        self.assertGreater(int(response[1]["retry-after"]), 0)
        # Even the right password waits: the account is cooling down.
        self.assertProblem(self.server.login("henry_auth"), 429)
        # An unknown account behaves the same way (no user enumeration).
        for _ in range(3):
            self.assertEqual(self.server.login("ghost_user", "wrong password!")[0], 401)
        self.assertProblem(self.server.login("ghost_user", "wrong password!"), 429)
        status, _, text = self.server.request("GET", "/metrics")
        self.assertRegex(text, r"parley_auth_throttled_total [1-9]")


class PasswordAttackTest(ServerTest):
    """Default settings: 200 wrong passwords against one account."""

    def test_two_hundred_wrong_passwords_are_throttled_and_the_stored_hash_is_strong_argon2id(self):
        user = self.server.register("ivan_auth")
        codes = [self.server.login("ivan_auth", f"wrong password {i}")[0] for i in range(200)]
        self.assertEqual(codes[:5], [401] * 5)  # auth.login_account_max_failures
        self.assertEqual(set(codes[5:]), {429})
        # Only the first five were hashed: the rest were refused before argon2 ran.
        _, _, text = self.server.request("GET", "/metrics")
        self.assertRegex(text, r'(?m)^parley_auth_logins_total\{outcome="failure"\} 5$')
        self.assertProblem(self.server.login("ivan_auth"), 429)  # even the right one, for now

        # What is stored: argon2id, at least 19 MiB and 2 passes (OWASP's floor).
        if DATABASE == "postgres":
            with open(os.path.join(self.server.data_dir, "postgres-database")) as f:
                stored = psql(f"SELECT password_hash FROM users WHERE id = {int(user['user']['id'])}",
                              postgres_url_for(f.read().strip()))
        else:
            db = sqlite3.connect(os.path.join(self.server.data_dir, "parley.db"))
            stored = db.execute("SELECT password_hash FROM users WHERE username = 'ivan_auth'").fetchone()[0]
            db.close()
        m = re.match(r"^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=\d+\$", stored)
        self.assertIsNotNone(m, stored)
        self.assertGreaterEqual(int(m.group(1)), 19456)
        self.assertGreaterEqual(int(m.group(2)), 2)
        self.assertNotIn("correct horse", stored)


class IpThrottleTest(ServerTest):
    SETTINGS = {"auth.login_ip_max_attempts": "5", "auth.login_ip_window_s": "600"}

    def test_attempts_per_ip_are_limited(self):
        codes = [self.server.login(f"user{i}", "wrong password!")[0] for i in range(7)]
        self.assertEqual(codes[:5], [401] * 5)
        self.assertEqual(codes[5:], [429, 429])


class RegistrationClosedTest(ServerTest):
    SETTINGS = {"auth.registration_open": "false"}

    def test_registration_can_be_closed(self):
        self.assertProblem(self.server.request("POST", "/api/auth/register",
                                               {"username": "late", "password": PASSWORD}), 403, "closed")


if __name__ == "__main__":
    unittest.main()
