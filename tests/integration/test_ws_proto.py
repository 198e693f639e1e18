"""Protocol v1 in Protocol Buffers (subprotocol parley.v1.proto) against the
real binary: the same operations and events as JSON, one message per binary
frame, decoded here with Python classes protoc generates from proto/."""

import importlib
import os
import pathlib
import struct
import subprocess
import sys
import tempfile
import unittest

from harness import ServerTest, WsClient, WsClosed, ws_connect

ROOT = pathlib.Path(__file__).resolve().parents[2]
_gen = tempfile.mkdtemp(prefix="parley-proto-")
subprocess.run(["protoc", f"--python_out={_gen}", "-I", str(ROOT / "proto"),
                str(ROOT / "proto/parley/v1/protocol.proto")], check=True)
sys.path.insert(0, _gen)
try:
    import google.protobuf  # noqa: F401
except ImportError:  # a Python of its own (pyenv) beside Debian's python3-protobuf
    sys.path.append("/usr/lib/python3/dist-packages")
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
pb = importlib.import_module("parley.v1.protocol_pb2")

PROTO = "parley.v1.proto"


def id_of(s):
    return int(s)


class ProtoClient:
    """A WsClient speaking the binary encoding."""

    def __init__(self, ws):
        self.ws = ws
        self.next_id = 0
        self.events = []

    def send(self, req):
        self.ws.send_frame(0x2, req.SerializeToString())

    def recv(self):
        while True:
            opcode, _, payload = self.ws.recv_frame()
            if opcode == 0x9:
                self.ws.send_frame(0xA, payload)
                continue
            if opcode == 0x8:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else 1005
                raise WsClosed(code, payload[2:].decode(errors="replace"))
            assert opcode == 0x2, f"a text frame on {PROTO}: {payload!r}"
            m = pb.ServerMessage()
            m.ParseFromString(payload)
            return m

    def request(self, **op):
        self.next_id += 1
        req = pb.Request(id_number=self.next_id, **op)
        self.send(req)
        while True:
            m = self.recv()
            if m.HasField("reply") and m.reply.id_number == self.next_id:
                return m.reply
            self.events.append(m.event)

    def event(self, kind):
        while True:
            for i, e in enumerate(self.events):
                if e.WhichOneof("type") == kind:
                    return self.events.pop(i)
            m = self.recv()
            if m.HasField("event"):
                self.events.append(m.event)


class ProtoGatewayTest(ServerTest):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ann = cls.server.register("ann_p")
        cls.ben = cls.server.register("ben_p")

    def conversation(self):
        status, _, c = self.server.request("POST", "/api/conversations",
                                           {"kind": "group", "title": "p", "members": [self.ben["user"]["id"]]},
                                           token=self.ann["access_token"])
        self.assertEqual(status, 201)
        return c["id"]

    def connect(self, who, protocol=PROTO):
        ws = ws_connect(self.server, getattr(self, who)["access_token"], protocol=protocol)
        self.assertIn(f"Sec-WebSocket-Protocol: {protocol.split(',')[0].strip()}\r", ws.handshake + "\r")
        return ProtoClient(ws)

    def test_the_client_chooses_the_encoding_by_the_order_it_offers(self):
        both = WsClient(self.server.port, protocol="parley.v1.proto, parley.v1")
        self.assertEqual(both.status, 101)
        self.assertIn("Sec-WebSocket-Protocol: parley.v1.proto", both.handshake)
        both.close()
        json_first = WsClient(self.server.port, protocol="parley.v1, parley.v1.proto")
        self.assertIn("Sec-WebSocket-Protocol: parley.v1\r", json_first.handshake + "\r")
        json_first.close()
        self.assertEqual(WsClient(self.server.port, protocol="parley.v2").status, 400)

    def test_auth_send_and_events_match_the_json_form(self):
        conv = self.conversation()
        # Authenticate with an auth request over the binary encoding.
        ws = WsClient(self.server.port, protocol=PROTO)
        self.assertEqual(ws.status, 101)
        ann = ProtoClient(ws)
        reply = ann.request(auth=pb.Auth(token=self.ann["access_token"]))
        self.assertTrue(reply.ok, reply)
        self.assertEqual(reply.auth.user_id, id_of(self.ann["user"]["id"]))
        self.assertGreater(reply.auth.expires_at, 0)

        ben_json = ws_connect(self.server, self.ben["access_token"])
        self.assertTrue(ben_json.request("subscribe", conversations=[{"conv": conv}])["ok"])
        sub = ann.request(subscribe=pb.Subscribe(conversations=[pb.Subscribe.Entry(conv=id_of(conv))]))
        self.assertTrue(sub.ok, sub)
        self.assertEqual(sub.subscribe.subscribed[0].conv, id_of(conv))
        self.assertEqual(sub.subscribe.subscribed[0].last_seq, 0)

        ack = ann.request(send=pb.Send(conv=id_of(conv), client_id="p-1", body="héllo 你好"))
        self.assertTrue(ack.ok, ack)
        self.assertEqual((ack.send.seq, ack.send.conv, ack.send.duplicate), (1, id_of(conv), False))
        again = ann.request(send=pb.Send(conv=id_of(conv), client_id="p-1", body="héllo 你好"))
        self.assertTrue(again.send.duplicate)
        self.assertEqual(again.send.message_id, ack.send.message_id)

        ev = ann.event("message_new")
        self.assertEqual(ev.conv, id_of(conv))
        j = ben_json.event("message.new")
        m = ev.message_new.message
        self.assertEqual(ev.message_new.seq, j["seq"])
        self.assertEqual((m.id, m.conversation_id, m.seq, m.sender_id), (
            id_of(j["message"]["id"]), id_of(j["message"]["conversation_id"]), j["message"]["seq"],
            id_of(j["message"]["sender_id"])))
        self.assertEqual((m.client_id, m.body, m.created_at, m.deleted), (
            j["message"]["client_id"], j["message"]["body"], j["message"]["created_at"], False))
        self.assertFalse(m.HasField("edited_at"))

        # A JSON client's send reaches the binary client; edit, read and typing too.
        self.assertTrue(ben_json.request("send", conv=conv, client_id="j-1", body="from json")["ok"])
        ev = ann.event("message_new")
        self.assertEqual((ev.message_new.seq, ev.message_new.message.body), (2, "from json"))
        edit = ann.request(edit=pb.Edit(conv=id_of(conv), seq=1, body="edited"))
        self.assertTrue(edit.ok, edit)
        self.assertEqual((edit.edit.seq, edit.edit.deleted), (1, False))
        upd = ann.event("message_updated")
        self.assertEqual(upd.message_updated.message.body, "edited")
        self.assertTrue(upd.message_updated.message.HasField("edited_at"))
        read = ann.request(read=pb.Read(conv=id_of(conv), seq=2))
        self.assertEqual((read.read.last_read_seq, read.read.unread), (2, 0))
        self.assertTrue(ben_json.request("typing", conv=conv)["ok"])
        typing = ann.event("typing")
        self.assertEqual(typing.typing.user_id, id_of(self.ben["user"]["id"]))
        self.assertGreater(typing.typing.expires_in_ms, 0)
        pres = ann.request(presence=pb.Presence(users=[id_of(self.ben["user"]["id"])]))
        self.assertTrue(pres.presence.users[0].online)
        self.assertGreater(ann.request(ping=pb.Ping()).ping.ts, 0)
        deleted = ann.request(delete=pb.Delete(conv=id_of(conv), seq=1))
        self.assertTrue(deleted.edit.deleted)
        gone = ann.event("message_deleted")
        self.assertTrue(gone.message_deleted.message.deleted)
        self.assertEqual(ann.request(unsubscribe=pb.Unsubscribe(conversations=[id_of(conv)])).unsubscribe.subscriptions, 0)
        ben_json.close()

    def test_resume_replays_in_the_binary_encoding_without_gaps(self):
        conv = self.conversation()
        for i in range(5):
            status, _, _ = self.server.request("POST", f"/api/conversations/{conv}/messages",
                                               {"client_id": f"r-{i}", "body": f"m{i}"}, token=self.ben["access_token"])
            self.assertEqual(status, 201)
        ann = self.connect("ann")
        sub = ann.request(subscribe=pb.Subscribe(conversations=[pb.Subscribe.Entry(conv=id_of(conv), since=2)]))
        self.assertEqual((sub.subscribe.subscribed[0].replayed, sub.subscribe.subscribed[0].last_seq), (3, 5))
        seqs = [ann.event("message_new").message_new.seq for _ in range(3)]
        self.assertEqual(seqs, [3, 4, 5])

    def test_errors_come_back_as_replies_and_the_connection_stays(self):
        conv = self.conversation()
        ann = self.connect("ann")
        # Not a Request at all: an error reply (no id could be read), still open.
        ann.ws.send_frame(0x2, b"\xff\xff\xff\xff")
        m = ann.recv()
        self.assertFalse(m.reply.ok)
        self.assertEqual((m.reply.error.code, m.reply.error.status), ("bad_request", 400))
        # No op set (what a newer client's unknown op looks like here): "unknown op", id echoed.
        ann.send(pb.Request(id_string="x7"))
        m = ann.recv()
        self.assertEqual((m.reply.id_string, m.reply.ok, m.reply.error.code), ("x7", False, "bad_request"))
        self.assertIn("unknown op", m.reply.error.message)
        # A field this server does not know (a newer client) is skipped.
        known = pb.Request(id_number=99, ping=pb.Ping()).SerializeToString()
        unknown_field = bytes([0xC8, 0x3E, 0x01])  # field 999, varint 1
        ann.ws.send_frame(0x2, known + unknown_field)
        m = ann.recv()
        self.assertTrue(m.reply.ok and m.reply.id_number == 99, m)
        # Store-level errors carry their code.
        r = ann.request(send=pb.Send(conv=id_of(conv) + 1, client_id="nope", body="x"))
        self.assertEqual((r.ok, r.error.code, r.error.status), (False, "not_found", 404))
        r = ann.request(send=pb.Send(conv=id_of(conv), client_id="", body="x"))
        self.assertEqual((r.ok, r.error.code), (False, "bad_request"))
        # A text frame is not part of the binary subprotocol: 1003.
        ann.ws.send_frame(0x1, '{"op":"ping"}')
        with self.assertRaises(WsClosed) as closed:
            while True:
                ann.recv()
        self.assertEqual(closed.exception.code, 1003)

    def test_an_unauthenticated_binary_client_is_told_and_closed(self):
        ws = WsClient(self.server.port, protocol=PROTO)
        c = ProtoClient(ws)
        c.send(pb.Request(id_number=1, ping=pb.Ping()))
        m = c.recv()
        self.assertEqual((m.reply.ok, m.reply.error.code), (False, "unauthorized"))
        with self.assertRaises(WsClosed) as closed:
            c.recv()
        self.assertEqual(closed.exception.code, 4001)


if __name__ == "__main__":
    unittest.main()
