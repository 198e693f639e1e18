"""permessage-deflate (RFC 7692): negotiated only when enabled, per message,
no context takeover, and a deflate bomb closed with 1009 (Autobahn 12/13 in spirit)."""

import json
import unittest
import zlib

from harness import ServerTest, WsClient, ws_connect


class DeflateTest(ServerTest):
    SETTINGS = {"ws.permessage_deflate": "true", "ws.deflate_min_bytes": "64",
                "ws.rate_per_s": "100000", "ws.rate_burst": "100000"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_z")
        cls.ben = cls.server.register("ben_z")

    def test_negotiation(self):
        c = ws_connect(self.server, self.ann["access_token"], deflate=True)
        self.assertIn("Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; "
                      "client_no_context_takeover", c.handshake)
        c.close()
        plain = ws_connect(self.server, self.ann["access_token"])
        self.assertNotIn("Sec-WebSocket-Extensions", plain.handshake)
        plain.close()

    def test_compressed_messages_both_ways(self):
        c = ws_connect(self.server, self.ann["access_token"], deflate=True)
        for i in range(20):  # each message stands alone (no context takeover)
            c.send_compressed(json.dumps({"id": str(i), "op": "ping", "pad": "abc" * 100}))
            self.assertEqual(c.recv()["id"], str(i))
        c.send_frame(0x1, json.dumps({"id": "plain", "op": "ping"}))  # uncompressed is fine too
        self.assertEqual(c.recv()["id"], "plain")
        c.close()

    def test_events_are_compressed_for_those_who_asked_only(self):
        _, _, conv = self.server.request("POST", "/api/conversations",
                                         {"kind": "group", "title": "z", "members": [self.ben["user"]["id"]]},
                                         token=self.ann["access_token"])
        z = ws_connect(self.server, self.ben["access_token"], deflate=True)
        p = ws_connect(self.server, self.ben["access_token"])
        for c in (z, p):
            c.request("subscribe", conversations=[{"conv": conv["id"]}])
        body = "compress me " * 50
        self.server.request("POST", f"/api/conversations/{conv['id']}/messages", {"client_id": "z1", "body": body},
                            token=self.ann["access_token"])
        before = z.compressed_received
        self.assertEqual(z.event("message.new")["message"]["body"], body)
        self.assertEqual(z.compressed_received, before + 1)
        self.assertEqual(p.event("message.new")["message"]["body"], body)
        self.assertEqual(p.compressed_received, 0)
        z.close()
        p.close()

    def test_deflate_bomb_is_closed_with_1009(self):
        c = ws_connect(self.server, self.ann["access_token"], deflate=True)
        bomb = '{"id":"b","op":"ping","pad":"' + "0" * (20 << 20) + '"}'  # 20 MiB, ~20 KiB packed
        c.send_compressed(bomb)
        self.assertEqual(c.expect_close(), 1009)

    def test_corrupt_or_misplaced_compression(self):
        c = ws_connect(self.server, self.ann["access_token"], deflate=True)
        c.send_frame(0x1, b"\xff\xff\xff\xff", rsv=4)
        self.assertEqual(c.expect_close(), 1007)
        c = ws_connect(self.server, self.ann["access_token"], deflate=True)
        c.send_frame(0x1, b"{", fin=False)
        c.send_frame(0x0, b"}", rsv=4)  # RSV1 on a continuation frame
        self.assertEqual(c.expect_close(), 1002)
        c = ws_connect(self.server, self.ann["access_token"], deflate=True)
        data = zlib.compressobj(wbits=-15)
        packed = data.compress(b'{"op":"ping","t":"\xff"}') + data.flush(zlib.Z_SYNC_FLUSH)
        c.send_frame(0x1, packed[:-4], rsv=4)  # valid deflate, invalid UTF-8 inside
        self.assertEqual(c.expect_close(), 1007)


class DeflateOffByDefaultTest(ServerTest):
    def test_not_negotiated_and_rsv1_refused(self):
        token = self.server.register("cat_z")["access_token"]
        c = ws_connect(self.server, token, deflate=True)
        self.assertNotIn("Sec-WebSocket-Extensions", c.handshake)
        c.send_compressed('{"id":"1","op":"ping"}')
        self.assertEqual(c.expect_close(), 1002)


if __name__ == "__main__":
    unittest.main()
