"""Hostile input against the real server (issue 6): frame and handshake abuse
and JSON abuse over the WebSocket. Each case must end in a fast, correct close
or error reply, a bystander connection must keep getting answers, and the
server's peak memory during the case stays within 32 MiB of where it began
(where glibc's heap figures exist: sanitizers replace malloc)."""

import json
import re
import socket
import struct
import time
import unittest

from harness import ServerTest, ws_connect


class HostileInputTest(ServerTest):
    SETTINGS = {"ws.rate_per_s": "100000", "ws.rate_burst": "100000"}

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.token = cls.server.register("hostile")["access_token"]
        cls.bystander = ws_connect(cls.server, cls.token)

    @classmethod
    def tearDownClass(cls):
        cls.bystander.close()
        super().tearDownClass()

    def setUp(self):
        self.t0 = time.time()
        _, _, text = self.server.request("GET", "/metrics")
        self.measure_memory = re.search(r"^parley_process_heap_bytes [1-9]", text, re.M) is not None
        if self.measure_memory:
            self.rss0 = self.proc_status("VmRSS")
            with open(f"/proc/{self.server.proc.pid}/clear_refs", "w") as f:
                f.write("5")  # VmHWM starts again from here

    def tearDown(self):
        if self.measure_memory:
            self.assertLess(self.proc_status("VmHWM") - self.rss0, 32 << 20, "memory grew past 32 MiB")

    def proc_status(self, field):
        with open(f"/proc/{self.server.proc.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
        return 0

    def assert_bystander_fine(self):
        reply = self.bystander.request("ping")
        self.assertTrue(reply["ok"], reply)

    def assert_fast(self, seconds=5):
        self.assertLess(time.time() - self.t0, seconds)

    def connect(self):
        return ws_connect(self.server, self.token)

    # Frames ------------------------------------------------------------------------

    def test_a_2_to_the_63_length_field_is_closed_at_once(self):
        c = self.connect()
        # FIN+text, masked, 127 = 64-bit length: 2^63 - 1; then a mask key and a few bytes.
        c.sock.sendall(struct.pack("!BBQ", 0x81, 0x80 | 127, (1 << 63) - 1) + b"\x00\x00\x00\x00abc")
        self.assertIn(c.expect_close(), (1002, 1009))
        self.assert_fast()
        self.assert_bystander_fine()

    def test_unmasked_client_frames_are_a_protocol_error(self):
        c = self.connect()
        c.send_frame(0x1, json.dumps({"id": "1", "op": "ping"}), mask=False)
        self.assertEqual(c.expect_close(), 1002)
        self.assert_bystander_fine()

    def test_ten_thousand_continuation_fragments(self):
        c = self.connect()
        text = json.dumps({"id": "frag", "op": "ping", "pad": "x" * 9970})
        c.send_frame(0x1, text[:10], fin=False)
        body = text[10:]
        for i in range(0, len(body) - 1):
            c.send_frame(0x0, body[i], fin=False)
        c.send_frame(0x0, body[-1], fin=True)
        # Within ws.max_message_bytes, so it is one valid message: answered.
        reply = c.recv()
        self.assertEqual(reply.get("id"), "frag")
        self.assertTrue(reply["ok"], reply)
        self.assert_fast(20)
        self.assert_bystander_fine()
        c.close()

    def test_a_ping_flood_is_answered_or_cut_and_harms_no_one_else(self):
        c = self.connect()
        frame = bytearray()
        for _ in range(10000):
            frame += struct.pack("!BB", 0x89, 0x80 | 4) + b"\x00\x00\x00\x00" + b"ping"
        c.sock.sendall(bytes(frame))
        pongs, closed_with = 0, None
        c.sock.settimeout(5)
        try:
            while pongs < 10000 and closed_with is None:
                opcode, _, payload = c.recv_frame()
                if opcode == 0x8:
                    closed_with = struct.unpack("!H", payload[:2])[0]
                elif opcode == 0xA:
                    pongs += 1
        except ConnectionError:
            closed_with = "reset"
        # Either every ping answered, or the flooder cut off (a silent stall fails).
        self.assertTrue(pongs == 10000 or closed_with in (1008, 4008, 4009, "reset"),
                        (pongs, closed_with))
        self.assert_fast(20)
        self.assert_bystander_fine()

    # Handshake -----------------------------------------------------------------------

    def raw_handshake(self, extra_lines):
        s = socket.create_connection(("127.0.0.1", self.server.port), timeout=10)
        head = ("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n")
        try:
            s.sendall((head + extra_lines + "\r\n").encode())
        except OSError:
            pass  # the server may answer and close before all of it is sent
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        s.close()
        return int(data.split(b" ")[1]) if data.startswith(b"HTTP/1.1 ") else None

    def test_thousands_of_headers_are_refused(self):
        status = self.raw_handshake("".join(f"X-H{i}: v\r\n" for i in range(5000)))
        self.assertEqual(status, 431)
        self.assert_fast()
        self.assert_bystander_fine()

    def test_a_huge_subprotocol_header_is_refused(self):
        status = self.raw_handshake("Sec-WebSocket-Protocol: " + ", ".join(["x" * 50] * 400) + "\r\n")
        self.assertIn(status, (400, 431))
        self.assert_fast()
        self.assert_bystander_fine()

    # JSON over the socket ---------------------------------------------------------------

    def error_reply(self, c, text):
        c.send_frame(0x1, text)
        reply = c.recv()
        self.assertFalse(reply.get("ok", False), reply)
        self.assertIn("error", reply)
        return reply

    def test_wrong_types_get_error_replies_and_the_connection_lives(self):
        c = self.connect()
        for bad in ({"id": "1", "op": 5},
                    {"id": "2", "op": "send", "conv": 12, "client_id": "a", "body": "x"},
                    {"id": "3", "op": "send", "conv": "1", "client_id": ["a"], "body": {"x": 1}},
                    {"id": "4", "op": "subscribe", "conversations": "all"},
                    {"id": "5", "op": "subscribe", "conversations": [{"conv": None, "since": "x"}]},
                    {"id": "6", "op": "read", "conv": "1", "seq": -5},
                    {"id": "7", "op": "presence", "users": [1.5, True]},
                    [1, 2, 3], "just a string", None):
            self.error_reply(c, json.dumps(bad))
        self.assertTrue(c.request("ping")["ok"])
        c.close()
        self.assert_bystander_fine()

    def test_ten_thousand_deep_nesting_and_huge_arrays(self):
        c = self.connect()
        self.error_reply(c, "[" * 10000 + "]" * 10000)
        self.error_reply(c, json.dumps({"id": "d", "op": "ping", "x": json.loads("[" * 50 + "]" * 50)})
                         .replace("[[", "[" * 5000 + "[", 1).replace("]]", "]" * 5001, 1))
        huge = json.dumps({"id": "h", "op": "subscribe",
                           "conversations": [{"conv": str(i)} for i in range(4000)]})
        self.error_reply(c, huge)
        self.error_reply(c, json.dumps({"id": "u", "op": "presence", "users": [str(i) for i in range(10000)]}))
        self.assertTrue(c.request("ping")["ok"])
        c.close()
        # Past ws.max_message_bytes it is not parsed at all: 1009.
        big = self.connect()
        big.send_frame(0x1, json.dumps({"id": "b", "op": "presence", "users": [str(i) for i in range(30000)]}))
        self.assertEqual(big.expect_close(), 1009)
        self.assert_fast(20)
        self.assert_bystander_fine()


if __name__ == "__main__":
    unittest.main()
