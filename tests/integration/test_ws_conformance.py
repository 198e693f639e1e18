"""RFC 6455 conformance battery against the real server, in the spirit of the
Autobahn test suite's categories: 1 framing, 2 pings/pongs, 3 reserved bits,
4 opcodes, 5 fragmentation, 6 UTF-8, 7 close handling, 9 limits and bursts.
(12/13, permessage-deflate, are not offered by the server yet.)

Valid traffic is the protocol's "ping" op, so every accepted message gets a
reply that proves it was reassembled and parsed."""

import json
import struct
import time
import unittest

from harness import ServerTest, WsClient, WsClosed, ws_connect

LIMIT = 131072  # ws.max_message_bytes (default)


def ping_op(rid, pad=0, text=""):
    return json.dumps({"id": rid, "op": "ping", "pad": "p" * pad, "text": text}, ensure_ascii=False)


class ConformanceTest(ServerTest):
    SETTINGS = {"ws.rate_per_s": "100000", "ws.rate_burst": "100000"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = cls.server.register("conformance")["access_token"]

    def connect(self):
        return ws_connect(self.server, self.token)

    def reply(self, c):
        msg = c.recv()
        self.assertTrue(msg.get("ok"), msg)
        return msg

    def assert_closed_with(self, c, code):
        self.assertEqual(c.expect_close(), code)

    # 1: framing -------------------------------------------------------------------
    def test_1_text_messages_of_every_length_class(self):
        c = self.connect()
        base = len(ping_op("x"))
        for n in [0, 125, 126, 127, 128, 65535, 65536, 100000]:
            with self.subTest(n=n):
                payload = ping_op(str(n), pad=max(0, n - base))
                c.send_frame(0x1, payload)
                self.assertEqual(self.reply(c)["id"], str(n))
        c.close()

    def test_1_binary_is_refused(self):
        c = self.connect()
        c.send_frame(0x2, b"\x00\x01")
        self.assert_closed_with(c, 1003)

    # 2: pings and pongs -------------------------------------------------------------
    def test_2_pings_are_answered_with_their_payload(self):
        c = self.connect()
        for payload in [b"", b"a", bytes(range(125)), b"\xff\xfe binary is fine in pings"]:
            c.send_frame(0x9, payload)
            opcode, fin, data = c.recv_frame()
            self.assertEqual((opcode, bool(fin), data), (0xA, True, payload))
        for i in range(10):
            c.send_frame(0x9, str(i))
        for i in range(10):
            self.assertEqual(c.recv_frame()[2], str(i).encode())
        c.send_frame(0xA, b"unsolicited")  # ignored
        c.send_frame(0x1, ping_op("after-pong"))
        self.assertEqual(self.reply(c)["id"], "after-pong")
        c.close()

    def test_2_ping_over_125_bytes_is_a_protocol_error(self):
        c = self.connect()
        c.send_frame(0x9, b"x" * 126)
        self.assert_closed_with(c, 1002)

    def test_2_fragmented_ping_is_a_protocol_error(self):
        c = self.connect()
        c.send_frame(0x9, b"ab", fin=False)
        self.assert_closed_with(c, 1002)

    # 3: reserved bits -------------------------------------------------------------
    def test_3_reserved_bits(self):
        for rsv in range(1, 8):
            with self.subTest(rsv=rsv):
                c = self.connect()
                c.send_frame(0x1, ping_op("r"), rsv=rsv)
                self.assert_closed_with(c, 1002)

    # 4: opcodes -------------------------------------------------------------------
    def test_4_reserved_opcodes(self):
        for opcode in [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]:
            with self.subTest(opcode=opcode):
                c = self.connect()
                c.send_frame(opcode, b"x")
                self.assert_closed_with(c, 1002)

    # 5: fragmentation ---------------------------------------------------------------
    def test_5_fragments_of_every_size_with_interleaved_pings(self):
        c = self.connect()
        payload = ping_op("frag", pad=300).encode()
        for size in [1, 2, 7, 64, 299]:
            with self.subTest(size=size):
                parts = [payload[i:i + size] for i in range(0, len(payload), size)]
                for i, part in enumerate(parts):
                    c.send_frame(0x1 if i == 0 else 0x0, part, fin=i == len(parts) - 1)
                    if i == 0 and len(parts) > 1:
                        c.send_frame(0x9, b"mid")  # a control frame between fragments
                events = []
                while True:
                    opcode, _, data = c.recv_frame()
                    if opcode == 0xA:
                        events.append("pong")
                        continue
                    events.append(json.loads(data)["id"])
                    break
                if len(parts) > 1:
                    self.assertEqual(events, ["pong", "frag"])
                else:
                    self.assertEqual(events, ["frag"])
        c.close()

    def test_5_empty_fragments(self):
        c = self.connect()
        c.send_frame(0x1, b"", fin=False)
        c.send_frame(0x0, ping_op("e").encode(), fin=False)
        c.send_frame(0x0, b"", fin=True)
        self.assertEqual(self.reply(c)["id"], "e")
        c.close()

    def test_5_continuation_without_a_start(self):
        c = self.connect()
        c.send_frame(0x0, b"x", fin=True)
        self.assert_closed_with(c, 1002)

    def test_5_new_message_inside_a_fragmented_one(self):
        c = self.connect()
        c.send_frame(0x1, b'{"id":', fin=False)
        c.send_frame(0x1, b'"x"}', fin=True)
        self.assert_closed_with(c, 1002)

    # 6: UTF-8 ---------------------------------------------------------------------
    def test_6_valid_utf8_split_at_every_byte(self):
        c = self.connect()
        text = "κόσμε €𝄞 \u00e9"
        payload = ping_op("u", text=text).encode("utf-8")
        for cut in range(1, len(payload)):
            c.send_frame(0x1, payload[:cut], fin=False)
            c.send_frame(0x0, payload[cut:], fin=True)
            self.assertEqual(self.reply(c)["id"], "u")
        c.close()

    def test_6_invalid_utf8_closes_with_1007(self):
        bad = {
            "overlong": b"\xc0\xaf",
            "surrogate": b"\xed\xa0\x80",
            "past U+10FFFF": b"\xf4\x90\x80\x80",
            "lone continuation": b"\x80",
            "0xFF": b"\xff",
            "truncated at the end": b"\xe2\x82",
        }
        for name, seq in bad.items():
            with self.subTest(name):
                c = self.connect()
                c.send_frame(0x1, b'{"id":"x","op":"ping","t":"' + seq)
                self.assert_closed_with(c, 1007)

    def test_6_invalid_utf8_fails_fast_before_the_message_ends(self):
        c = self.connect()
        c.send_frame(0x1, b'{"id":"x","op":"ping","t":"\xff', fin=False)
        # No final fragment is ever sent: the close must come anyway.
        self.assert_closed_with(c, 1007)

    # 7: close handling --------------------------------------------------------------
    def close_reply(self, payload):
        c = self.connect()
        c.send_frame(0x8, payload)
        opcode, _, data = c.recv_frame()
        self.assertEqual(opcode, 0x8)
        return struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None

    def test_7_valid_closes_are_echoed(self):
        self.assertEqual(self.close_reply(b""), 1000)
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999]:
            with self.subTest(code=code):
                self.assertEqual(self.close_reply(struct.pack("!H", code) + b"reason"), code)

    def test_7_invalid_closes_are_protocol_errors(self):
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]:
            with self.subTest(code=code):
                self.assertEqual(self.close_reply(struct.pack("!H", code)), 1002)
        self.assertEqual(self.close_reply(b"\x03"), 1002)  # a 1-byte payload
        self.assertEqual(self.close_reply(struct.pack("!H", 1000) + b"\xff"), 1007)

    def test_7_nothing_is_processed_after_a_close(self):
        c = self.connect()
        c.send_frame(0x8, struct.pack("!H", 1000))
        try:
            c.send_frame(0x1, ping_op("late"))
        except OSError:
            pass
        opcode, _, data = c.recv_frame()
        self.assertEqual(opcode, 0x8)
        with self.assertRaises((WsClosed, OSError)):
            c.recv_frame()

    # 9: limits and bursts -------------------------------------------------------------
    def test_9_largest_message_accepted_and_one_more_byte_refused(self):
        c = self.connect()
        base = len(ping_op("big"))
        c.send_frame(0x1, ping_op("big", pad=LIMIT - base))
        self.assertEqual(self.reply(c)["id"], "big")
        c.send_frame(0x1, ping_op("big", pad=LIMIT - base + 1))
        self.assert_closed_with(c, 1009)

    def test_9_fragmented_message_past_the_limit(self):
        c = self.connect()
        chunk = b"x" * 16384
        c.send_frame(0x1, b'{"id":"f","op":"ping","pad":"', fin=False)
        try:
            for _ in range(LIMIT // len(chunk) + 1):
                c.send_frame(0x0, chunk, fin=False)
        except OSError:
            pass
        self.assert_closed_with(c, 1009)

    def test_9_a_burst_of_small_messages(self):
        c = self.connect()
        n = 2000
        for i in range(n):
            c.send_frame(0x1, ping_op(str(i)))
        ids = [self.reply(c)["id"] for _ in range(n)]
        self.assertEqual(ids, [str(i) for i in range(n)])
        c.close()


if __name__ == "__main__":
    unittest.main()
