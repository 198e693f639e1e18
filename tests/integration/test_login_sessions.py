"""Browser sessions (refresh token in an HttpOnly cookie, CSRF checks) and the
two login-throttling faults found from outside: Retry-After must name the
longest of the refusing limits, and a stranger's wrong passwords must not lock
out an owner whose client proves an earlier login (device token)."""

import unittest

from harness import PASSWORD, ServerTest

COOKIE = {"X-Parley-Session": "cookie"}


def set_cookies(headers_list):
    """name -> full Set-Cookie value, from http.client's header list."""
    out = {}
    for k, v in headers_list:
        if k.lower() == "set-cookie":
            out[v.split("=", 1)[0]] = v
    return out


class RawClient:
    """http.client with every response header kept (Set-Cookie repeats)."""

    def __init__(self, port):
        self.port = port

    def post(self, path, body, headers=None):
        import http.client
        import json
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            hdrs = {"Content-Type": "application/json", **(headers or {})}
            conn.request("POST", path, body=json.dumps(body).encode(), headers=hdrs)
            resp = conn.getresponse()
            data = resp.read()
            parsed = json.loads(data) if data else None
            return resp.status, resp.getheaders(), parsed
        finally:
            conn.close()


class LoginThrottlingTest(ServerTest):
    SETTINGS = {
        "server.trusted_proxies": "127.0.0.1",
        "auth.login_ip_max_attempts": "3",
        "auth.login_ip_window_s": "6",
        "auth.login_account_max_failures": "2",
        "auth.login_account_window_s": "360",
    }

    def login_from(self, ip, username, password, device=None):
        body = {"username": username, "password": password}
        if device:
            body["device_token"] = device
        return self.server.request("POST", "/api/auth/login", body, headers={"X-Forwarded-For": ip})

    _n = 0

    def register(self, username):
        # Registrations count against the address's budget too: one address each.
        LoginThrottlingTest._n += 1
        status, _, body = self.server.request("POST", "/api/auth/register",
                                              {"username": username, "password": PASSWORD},
                                              headers={"X-Forwarded-For": f"10.200.0.{self._n}"})
        self.assertEqual(status, 201, body)

    def test_retry_after_is_the_longest_wait_when_ip_and_account_both_refuse(self):
        self.register("rita_lt")
        codes = [self.login_from("10.1.0.1", "rita_lt", "wrong password!")[0] for _ in range(3)]
        self.assertEqual(codes, [401, 401, 429])  # the third: the account's limit
        status, headers, _ = self.login_from("10.1.0.1", "rita_lt", "wrong password!")
        self.assertEqual(status, 429)
        # Both refuse now: the address for ~2 s, the account for ~180 s. Retrying
        # after 2 s would only be refused again (the fault: Retry-After was 2).
        self.assertGreaterEqual(int(headers["retry-after"]), 170, headers)

    def test_strangers_wrong_passwords_do_not_lock_out_an_owner_with_a_device_token(self):
        self.register("olga_lt")
        status, _, owner = self.login_from("10.2.0.1", "olga_lt", PASSWORD)
        self.assertEqual(status, 200)
        device = owner["device_token"]
        self.assertTrue(device.startswith("d1."))
        # A stranger, from many addresses, exhausts the account's budget.
        for i in range(2):
            self.assertEqual(self.login_from(f"10.3.0.{i}", "olga_lt", "guess number %d" % i)[0], 401)
        self.assertEqual(self.login_from("10.3.0.9", "olga_lt", "another guess")[0], 429)
        self.assertEqual(self.login_from("10.3.0.10", "olga_lt", PASSWORD)[0], 429)  # no device token
        # The owner's client is not locked out.
        status, _, again = self.login_from("10.2.0.2", "olga_lt", PASSWORD, device)
        self.assertEqual(status, 200, again)
        # A device token works only for the account it was issued for.
        self.register("other_lt")
        self.assertEqual(self.login_from("10.2.0.3", "olga_lt", PASSWORD, again["device_token"][:-2] + "xx")[0], 429)

    def test_a_device_token_has_its_own_failure_budget(self):
        self.register("pavel_lt")
        device = self.login_from("10.4.0.1", "pavel_lt", PASSWORD)[2]["device_token"]
        codes = [self.login_from(f"10.4.1.{i}", "pavel_lt", "wrong password!", device)[0] for i in range(3)]
        self.assertEqual(codes, [401, 401, 429])
        # The account's own budget is untouched by the device's failures.
        self.assertEqual(self.login_from("10.4.2.1", "pavel_lt", PASSWORD)[0], 200)

    def test_forged_or_foreign_device_tokens_get_the_shared_budget(self):
        self.register("quinn_lt")
        self.register("ursula_lt")
        foreign = self.login_from("10.5.0.1", "ursula_lt", PASSWORD)[2]["device_token"]
        for i in range(2):
            self.login_from(f"10.5.1.{i}", "quinn_lt", "wrong password!")
        for token in (foreign, "d1.cXVpbm5fbHQ.AAAA.99999999999.AAAA", "garbage"):
            self.assertEqual(self.login_from("10.5.2.1", "quinn_lt", PASSWORD, token)[0], 429, token)


class CookieSessionTest(ServerTest):
    SETTINGS = {"server.trusted_proxies": "127.0.0.1", "cors.allowed_origins": "https://app.example.com"}

    def setUp(self):
        self.client = RawClient(self.server.port)

    def register_cookie(self, name, extra=None):
        status, headers, body = self.client.post(
            "/api/auth/register", {"username": name, "password": PASSWORD}, {**COOKIE, **(extra or {})})
        self.assertEqual(status, 201, body)
        return headers, body

    def test_register_sets_an_httponly_strict_cookie_and_keeps_the_token_out_of_the_body(self):
        headers, body = self.register_cookie("carol_cs")
        self.assertNotIn("refresh_token", body)
        self.assertNotIn("device_token", body)
        self.assertTrue(body["access_token"])
        cookies = set_cookies(headers)
        refresh = cookies["parley_refresh"]
        for part in ("HttpOnly", "SameSite=Strict", "Path=/api/auth;"):
            self.assertIn(part, refresh)
        self.assertNotIn("Secure", refresh)  # plain http
        self.assertIn("Path=/api/auth/login;", cookies["parley_device"])

    def test_behind_https_the_cookie_is_secure_and_prefixed(self):
        headers, _ = self.register_cookie("dave_cs", {"X-Forwarded-Proto": "https"})
        cookies = set_cookies(headers)
        self.assertIn("__Secure-parley_refresh", cookies)
        self.assertIn("; Secure", cookies["__Secure-parley_refresh"])

    def refresh_token_of(self, headers):
        return set_cookies(headers)["parley_refresh"].split(";", 1)[0].split("=", 1)[1]

    def test_refresh_and_logout_with_the_cookie(self):
        headers, _ = self.register_cookie("erin_cs")
        token = self.refresh_token_of(headers)
        cookie = {"Cookie": "parley_refresh=" + token}
        origin = {"Origin": f"http://127.0.0.1:{self.server.port}"}
        status, headers2, body = self.client.post("/api/auth/refresh", {}, {**COOKIE, **cookie, **origin})
        self.assertEqual(status, 200, body)
        self.assertNotIn("refresh_token", body)
        rotated = self.refresh_token_of(headers2)
        self.assertNotEqual(rotated, token)
        # An allowed origin may use it too.
        status, headers3, _ = self.client.post("/api/auth/refresh", {},
                                               {**COOKIE, "Cookie": "parley_refresh=" + rotated,
                                                "Origin": "https://app.example.com"})
        self.assertEqual(status, 200)
        current = self.refresh_token_of(headers3)
        status, headers4, _ = self.client.post("/api/auth/logout", {}, {**COOKIE, "Cookie": "parley_refresh=" + current})
        self.assertEqual(status, 204)
        self.assertIn("Max-Age=0", set_cookies(headers4)["parley_refresh"])
        status, _, _ = self.client.post("/api/auth/refresh", {}, {**COOKIE, "Cookie": "parley_refresh=" + current})
        self.assertEqual(status, 401)

    def test_cross_site_requests_cannot_use_the_cookie(self):
        headers, _ = self.register_cookie("fred_cs")
        cookie = {"Cookie": "parley_refresh=" + self.refresh_token_of(headers)}
        # Without the custom header the cookie is not read at all.
        status, _, body = self.client.post("/api/auth/refresh", {}, cookie)
        self.assertEqual(status, 400, body)
        status, _, body = self.client.post("/api/auth/refresh", {}, {**COOKIE, **cookie, "Origin": "https://evil.example"})
        self.assertEqual(status, 403, body)
        self.assertIn("origin", body["detail"])
        status, _, body = self.client.post("/api/auth/refresh", {}, {**COOKIE, **cookie, "Sec-Fetch-Site": "cross-site"})
        self.assertEqual(status, 403, body)
        status, _, body = self.client.post("/api/auth/logout", {}, {**COOKIE, **cookie, "Origin": "null"})
        self.assertEqual(status, 403, body)
        # The session survived every refused attempt.
        status, _, _ = self.client.post("/api/auth/refresh", {}, {**COOKIE, **cookie})
        self.assertEqual(status, 200)

    def test_the_device_cookie_is_read_at_login(self):
        headers, _ = self.register_cookie("gina_cs")
        device = set_cookies(headers)["parley_device"].split(";", 1)[0].split("=", 1)[1]
        status, headers2, body = self.client.post("/api/auth/login", {"username": "gina_cs", "password": PASSWORD},
                                                  {**COOKIE, "Cookie": "parley_device=" + device})
        self.assertEqual(status, 200, body)
        self.assertIn("parley_device", set_cookies(headers2))

    def test_api_clients_keep_tokens_in_the_body(self):
        body = self.server.register("hank_cs")
        self.assertTrue(body["refresh_token"])
        self.assertTrue(body["device_token"])
        status, _, again = self.server.request("POST", "/api/auth/refresh", {"refresh_token": body["refresh_token"]})
        self.assertEqual(status, 200)
        self.assertTrue(again["refresh_token"])


if __name__ == "__main__":
    unittest.main()
