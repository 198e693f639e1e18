"""Message search: words, substrings and phrases in any script (Chinese,
Japanese, Korean, Cyrillic), excluded terms, the operators (from:, in:,
has:, is:, before:/after:/on:), only conversations the caller belongs to,
edits and deletions leaving the index at once, snippets with the matches
marked, and queries that carry FTS or tsquery syntax or are too long."""

import time
import unittest
from urllib.parse import quote

import harness
from harness import ServerTest


class SearchTest(ServerTest):
    SETTINGS = {"search.index_interval_ms": "20"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_s")
        cls.ben = cls.server.register("ben_s")
        cls.eve = cls.server.register("eve_s")
        cls.sent = 0
        _, _, c = cls.server.request("POST", "/api/conversations",
                                     {"kind": "group", "title": "Launch", "members": [cls.ben["user"]["id"]]},
                                     token=cls.ann["access_token"])
        cls.conv = c["id"]
        _, _, other = cls.server.request("POST", "/api/conversations",
                                         {"kind": "group", "title": "Secret", "members": [cls.eve["user"]["id"]]},
                                         token=cls.ann["access_token"])
        cls.other = other["id"]
        cls.seqs = {}
        for who, conv, body in [
            (cls.ann, cls.conv, "The quick brown fox jumps over the lazy dog"),
            (cls.ben, cls.conv, "Deploy the release candidate tonight, see https://example.com/notes"),
            (cls.ann, cls.conv, "我们明天发布新版本"),
            (cls.ben, cls.conv, "東京で会議があります"),
            (cls.ann, cls.conv, "한국어 검색도 됩니다"),
            (cls.ben, cls.conv, "Привет, мир! Релиз завтра"),
            (cls.ann, cls.conv, "ok then"),
            (cls.eve, cls.other, "the secret release plan"),
        ]:
            cls.seqs[body] = cls.post(who, conv, body)

    @classmethod
    def post(cls, who, conv, body, **extra):
        cls.sent += 1
        status, _, m = cls.server.request("POST", f"/api/conversations/{conv}/messages",
                                          {"client_id": f"s-{cls.sent}", "body": body, **extra},
                                          token=who["access_token"])
        assert status == 201, m
        return m["seq"]

    def search(self, q, who=None, expect=200):
        status, _, body = self.server.request("GET", f"/api/search/messages?q={quote(q)}",
                                              token=(who or self.ann)["access_token"])
        return status, body

    def bodies(self, q, who=None):
        # The index trails the send path by about one interval (20 ms here):
        # a search that finds nothing is asked again for a while.
        deadline = time.time() + (5 if "-" not in q else 0.5)
        while True:
            status, body = self.search(q, who)
            self.assertEqual(status, 200, (q, body))
            found = [m["body"] for m in body["messages"]]
            if found or time.time() > deadline:
                return found
            time.sleep(0.05)

    def nothing(self, q, who=None):
        time.sleep(0.3)  # fifteen indexing intervals
        status, body = self.search(q, who)
        self.assertEqual(status, 200, (q, body))
        return [m["body"] for m in body["messages"]]

    def test_words_substrings_and_phrases_in_any_script(self):
        self.assertEqual(self.bodies("fox"), ["The quick brown fox jumps over the lazy dog"])
        self.assertEqual(self.bodies("QUICK brown"), ["The quick brown fox jumps over the lazy dog"])
        self.assertEqual(self.bodies("ump"), ["The quick brown fox jumps over the lazy dog"], "a substring")
        self.assertEqual(self.bodies('"lazy dog"'), ["The quick brown fox jumps over the lazy dog"])
        self.assertEqual(self.nothing('"dog lazy"'), [], "a phrase keeps its order")
        self.assertEqual(self.bodies("发布新"), ["我们明天发布新版本"])
        self.assertEqual(self.bodies("明天"), ["我们明天发布新版本"], "two characters of Chinese")
        self.assertEqual(self.bodies("会議"), ["東京で会議があります"])
        self.assertEqual(self.bodies("검색"), ["한국어 검색도 됩니다"])
        self.assertEqual(self.bodies("Релиз"), ["Привет, мир! Релиз завтра"])
        self.assertEqual(self.bodies("мир"), ["Привет, мир! Релиз завтра"])
        self.assertEqual(self.bodies("ok"), ["ok then"], "a short word")

    def test_operators(self):
        ben = self.ben["user"]["username"]
        self.assertEqual(set(self.bodies(f"from:{ben} the")), {
            "Deploy the release candidate tonight, see https://example.com/notes"})
        self.assertEqual(self.bodies("has:link"), ["Deploy the release candidate tonight, see https://example.com/notes"])
        self.assertEqual(self.bodies("in:Secret release"), ["the secret release plan"])
        self.assertEqual(self.bodies("the -fox -secret -deploy"), ["ok then"], "substrings: then")
        today = time.strftime("%Y-%m-%d", time.gmtime())
        self.assertIn("ok then", self.bodies(f"on:{today} ok"))
        self.assertEqual(self.nothing(f"before:{today} ok"), [])
        self.assertEqual(self.bodies("after:2000-01-01 ok"), ["ok then"])
        seq = self.post(self.ann, self.conv, "pin me for the search")
        self.server.request("PUT", f"/api/conversations/{self.conv}/pins/{seq}", token=self.ann["access_token"])
        self.assertEqual(self.bodies("is:pinned"), ["pin me for the search"])
        self.post(self.ben, self.conv, "a reply in a thread about search", reply_to=seq)
        self.bodies("a reply in a thread")  # indexed
        self.assertEqual(set(self.bodies("is:thread search")),
                         {"pin me for the search", "a reply in a thread about search"})
        self.post(self.ben, self.conv, "hey ann, about search", mentions={"user_ids": [self.ann["user"]["id"]]})
        self.assertEqual(self.bodies("is:mentioned"), ["hey ann, about search"])
        self.post(self.ben, self.conv, "Lunch poll", poll={"options": ["A", "B"]})
        self.assertEqual(self.bodies("has:poll"), ["Lunch poll"])

    def test_membership_is_filtered_in_the_query(self):
        # Ben is not in the Secret conversation: its message never shows for him.
        self.assertEqual(self.nothing("secret", who=self.ben), [])
        self.assertEqual(self.bodies("secret"), ["the secret release plan"])
        self.assertEqual(set(self.bodies("release")), {"the secret release plan",
                                                       "Deploy the release candidate tonight, see https://example.com/notes"})
        self.assertEqual(self.bodies("release", who=self.ben),
                         ["Deploy the release candidate tonight, see https://example.com/notes"])
        self.assertEqual(self.nothing("fox", who=self.eve), [])

    def test_edits_and_deletions_leave_the_index_at_once(self):
        seq = self.post(self.ann, self.conv, "zebra crossing ahead")
        self.assertEqual(self.bodies("zebra"), ["zebra crossing ahead"])
        self.server.request("PATCH", f"/api/conversations/{self.conv}/messages/{seq}", {"body": "giraffe crossing"},
                            token=self.ann["access_token"])
        status, body = self.search("zebra")
        self.assertEqual(body["messages"], [], "the old text is gone at once")
        self.assertEqual(self.bodies("giraffe"), ["giraffe crossing"])
        self.server.request("DELETE", f"/api/conversations/{self.conv}/messages/{seq}", token=self.ann["access_token"])
        status, body = self.search("giraffe")
        self.assertEqual(body["messages"], [])
        # Deleted before it was indexed: never found either.
        seq = self.post(self.ann, self.conv, "okapi sighting")
        self.server.request("DELETE", f"/api/conversations/{self.conv}/messages/{seq}", token=self.ann["access_token"])
        time.sleep(0.3)
        self.assertEqual(self.search("okapi")[1]["messages"], [])

    def test_snippets_mark_the_matches(self):
        long = "word " * 40 + "needle in the haystack " + "word " * 40
        self.post(self.ann, self.conv, long)
        self.bodies("needle")
        status, body = self.search("needle haystack")
        parts = body["messages"][0]["snippet"]
        self.assertEqual([p["text"] for p in parts if p["match"]], ["needle", "haystack"])
        self.assertEqual(parts[0]["text"], "…")
        self.assertLess(sum(len(p["text"].encode()) for p in parts), 200)

    def test_engine_syntax_is_only_text_and_bad_queries_are_refused(self):
        for q in ['"unbalanced', "fox*", "NEAR(fox dog)", "fox AND", "(fox", "a:b", "fox | dog", "fox & !dog",
                  "'; DROP TABLE messages; --", "%", "_", "!", "^fox"]:
            status, body = self.search(q)
            self.assertEqual(status, 200, (q, body))
        self.assertEqual(self.nothing("a:b"), [], "an unknown operator is a term")
        for q, detail in [("", "nothing"), ('"', "nothing"), ("x" * 10_000, "longer than"), ("has:video", "has:"), ("is:cool", "is:"),
                          ("before:yesterday", "YYYY-MM-DD"), ("on:2024-02-30", "YYYY-MM-DD"),
                          ("from:nobody_here", "no user"), ("in:Nowhere x", "no conversation"),
                          (" ".join(f"t{i}" for i in range(9)), "at most 8")]:
            status, body = self.search(q, expect=400)
            self.assertEqual(status, 400, (q, body))
            self.assertIn(detail, body["detail"], q)
        status, _, _ = self.server.request("GET", "/api/search/messages", token=self.ann["access_token"])
        self.assertEqual(status, 400)
        status, _, _ = self.server.request("GET", "/api/search/messages?q=fox&sort=loudest", token=self.ann["access_token"])
        self.assertEqual(status, 400)

    def test_newest_first_or_by_relevance(self):
        older = self.post(self.ann, self.conv, "walrus walrus walrus by a beach")
        self.post(self.ann, self.conv, "one walrus here")
        self.assertEqual(self.bodies("walrus")[0], "one walrus here", "newest first by default")
        _, _, body = self.server.request("GET", "/api/search/messages?q=walrus&sort=relevance",
                                         token=self.ann["access_token"])
        self.assertEqual(len(body["messages"]), 2)
        if harness.DATABASE == "sqlite":  # PostgreSQL: newest first either way
            self.assertEqual(body["messages"][0]["seq"], older, "bm25: the message saying it three times")


if __name__ == "__main__":
    unittest.main()
