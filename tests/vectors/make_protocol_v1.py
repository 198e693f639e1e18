"""Writes protocol_v1.json: golden vectors of the binary encoding, each a JSON
form and the bytes the Protocol Buffers form must be, made here with Google's
Python protobuf (an implementation independent of ours). The C++ codec
(tests/unit/realtime/proto_codec_test.cpp) and the SDK (sdk/js/test) are
both checked against the file. Run it only to add vectors; never edit bytes by
hand, and never change an existing vector's bytes (that would break clients).
    python3 tests/vectors/make_protocol_v1.py"""

import importlib
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[2]
gen = tempfile.mkdtemp()
subprocess.run(["protoc", f"--python_out={gen}", "-I", str(ROOT / "proto"),
                str(ROOT / "proto/parley/v1/protocol.proto")], check=True)
sys.path.insert(0, gen)
try:
    import google.protobuf  # noqa: F401
except ImportError:
    sys.path.append("/usr/lib/python3/dist-packages")
    os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")
pb = importlib.import_module("parley.v1.protocol_pb2")

CONV, USER, MSG, OTHER = 7405123456789012345, 7405123456789000001, 7405123456789099999, 7405123456789000002
S = str

msg_json = {"id": S(MSG), "conversation_id": S(CONV), "seq": 12, "sender_id": S(USER), "client_id": "c-42",
            "body": "hello, 世界 — привет", "created_at": 1795324013371, "edited_at": None, "deleted": False,
            "deleted_at": None}
msg_pb = pb.Message(id=MSG, conversation_id=CONV, seq=12, sender_id=USER, client_id="c-42",
                    body="hello, 世界 — привет", created_at=1795324013371, deleted=False)
edited_json = dict(msg_json, body="edited", edited_at=1795324019999)
edited_pb = pb.Message(id=MSG, conversation_id=CONV, seq=12, sender_id=USER, client_id="c-42", body="edited",
                       created_at=1795324013371, edited_at=1795324019999)
deleted_json = dict(msg_json, body="", deleted=True, deleted_at=1795324020000)
deleted_pb = pb.Message(id=MSG, conversation_id=CONV, seq=12, sender_id=USER, client_id="c-42", body="",
                        created_at=1795324013371, deleted=True, deleted_at=1795324020000)
conv_json = {"id": S(CONV), "kind": "group", "title": "Launch", "created_by": S(USER), "created_at": 1795324000000,
             "updated_at": 1795324010000, "last_seq": 12, "activity_at": 1795324013371}
conv_pb = pb.Conversation(id=CONV, kind="group", title="Launch", created_by=USER, created_at=1795324000000,
                          updated_at=1795324010000, last_seq=12, activity_at=1795324013371)


def ev(**kw):
    return pb.ServerMessage(event=pb.Event(conv=CONV, **kw))


events = [
    ("message.new", {"type": "message.new", "conv": S(CONV), "seq": 12, "message": msg_json},
     ev(message_new=pb.MessageEvent(seq=12, message=msg_pb))),
    ("message.updated", {"type": "message.updated", "conv": S(CONV), "seq": 12, "message": edited_json},
     ev(message_updated=pb.MessageEvent(seq=12, message=edited_pb))),
    ("message.deleted", {"type": "message.deleted", "conv": S(CONV), "seq": 12, "message": deleted_json},
     ev(message_deleted=pb.MessageEvent(seq=12, message=deleted_pb))),
    ("read", {"type": "read", "conv": S(CONV), "user_id": S(USER), "seq": 12},
     ev(read=pb.ReadEvent(user_id=USER, seq=12))),
    ("member.joined", {"type": "member.joined", "conv": S(CONV), "user_id": S(OTHER), "role": "member"},
     ev(member_joined=pb.MemberJoined(user_id=OTHER, role="member"))),
    ("member.left", {"type": "member.left", "conv": S(CONV), "user_id": S(OTHER)},
     ev(member_left=pb.MemberLeft(user_id=OTHER))),
    ("conversation.updated", {"type": "conversation.updated", "conv": S(CONV), "conversation": conv_json},
     ev(conversation_updated=pb.ConversationUpdated(conversation=conv_pb))),
    ("typing", {"type": "typing", "conv": S(CONV), "user_id": S(USER), "expires_in_ms": 5000},
     ev(typing=pb.TypingEvent(user_id=USER, expires_in_ms=5000))),
    ("conversation.added", {"type": "conversation.added", "conv": S(CONV), "role": "owner"},
     ev(conversation_added=pb.ConversationAdded(role="owner"))),
    ("presence online", {"type": "presence", "user_id": S(USER), "status": "online", "conv": S(CONV)},
     ev(presence=pb.PresenceEvent(user_id=USER, online=True))),
    ("presence offline", {"type": "presence", "user_id": S(USER), "status": "offline", "last_seen": 1795324013371,
                          "conv": S(CONV)},
     ev(presence=pb.PresenceEvent(user_id=USER, online=False, last_seen=1795324013371))),
    ("reaction", {"type": "reaction", "conv": S(CONV), "seq": 12, "reaction": "🎉", "user_id": S(OTHER),
                  "action": "added", "count": 2},
     ev(reaction=pb.ReactionEvent(seq=12, reaction="🎉", user_id=OTHER, added=True, count=2))),
    ("message.new reply with mentions",
     {"type": "message.new", "conv": S(CONV), "seq": 13,
      "message": dict(msg_json, seq=13, reply_to=12, broadcast=True,
                      mentions={"user_ids": [S(OTHER)], "here": False, "all": True})},
     ev(message_new=pb.MessageEvent(seq=13, message=pb.Message(
         id=MSG, conversation_id=CONV, seq=13, sender_id=USER, client_id="c-42", body="hello, 世界 — привет",
         created_at=1795324013371, reply_to=12, broadcast=True,
         mentions=pb.Mentions(user_ids=[OTHER], all=True))))),
    ("mention", {"type": "mention", "conv": S(CONV), "seq": 13, "sender_id": S(USER), "kind": "all", "reply_to": 12},
     ev(mention=pb.MentionEvent(seq=13, sender_id=USER, kind="all", reply_to=12))),
    ("poll", {"type": "poll", "conv": S(CONV),
              "poll": {"seq": 14, "options": [{"id": 1, "text": "Tea", "votes": 3}, {"id": 2, "text": "Coffee", "votes": 0}],
                       "voters": 3, "closed": False}},
     ev(poll=pb.PollEvent(seq=14, options=[pb.PollOptionState(id=1, text="Tea", votes=3),
                                           pb.PollOptionState(id=2, text="Coffee")], voters=3))),
    ("delivered", {"type": "delivered", "conv": S(CONV), "user_id": S(OTHER), "seq": 12},
     ev(delivered=pb.DeliveredEvent(user_id=OTHER, seq=12))),
    ("pin", {"type": "pin", "conv": S(CONV), "seq": 12, "user_id": S(USER), "pinned": True},
     ev(pin=pb.PinEvent(seq=12, user_id=USER, pinned=True))),
    ("conversation.updated pin_role",
     {"type": "conversation.updated", "conv": S(CONV), "conversation": dict(conv_json, pin_role="admin")},
     ev(conversation_updated=pb.ConversationUpdated(conversation=pb.Conversation(
         id=CONV, kind="group", title="Launch", created_by=USER, created_at=1795324000000,
         updated_at=1795324010000, last_seq=12, activity_at=1795324013371, pin_role="admin")))),
]

requests = [
    ("auth", {"id": "1", "op": "auth", "token": "eyJhbGciOi.x.y"},
     pb.Request(id_string="1", auth=pb.Auth(token="eyJhbGciOi.x.y"))),
    ("subscribe", {"id": 2, "op": "subscribe", "conversations": [{"conv": S(CONV), "since": 11}, {"conv": S(OTHER)}]},
     pb.Request(id_number=2, subscribe=pb.Subscribe(conversations=[
         pb.Subscribe.Entry(conv=CONV, since=11), pb.Subscribe.Entry(conv=OTHER)]))),
    ("subscribe since 0", {"id": 3, "op": "subscribe", "conversations": [{"conv": S(CONV), "since": 0}]},
     pb.Request(id_number=3, subscribe=pb.Subscribe(conversations=[pb.Subscribe.Entry(conv=CONV, since=0)]))),
    ("unsubscribe", {"id": 4, "op": "unsubscribe", "conversations": [S(CONV)]},
     pb.Request(id_number=4, unsubscribe=pb.Unsubscribe(conversations=[CONV]))),
    ("send", {"id": "7", "op": "send", "conv": S(CONV), "client_id": "c-42", "body": "hello, 世界"},
     pb.Request(id_string="7", send=pb.Send(conv=CONV, client_id="c-42", body="hello, 世界"))),
    ("edit", {"id": 8, "op": "edit", "conv": S(CONV), "seq": 12, "body": "edited"},
     pb.Request(id_number=8, edit=pb.Edit(conv=CONV, seq=12, body="edited"))),
    ("delete", {"id": 9, "op": "delete", "conv": S(CONV), "seq": 12},
     pb.Request(id_number=9, delete=pb.Delete(conv=CONV, seq=12))),
    ("read", {"id": 10, "op": "read", "conv": S(CONV), "seq": 12},
     pb.Request(id_number=10, read=pb.Read(conv=CONV, seq=12))),
    ("typing", {"id": 11, "op": "typing", "conv": S(CONV)},
     pb.Request(id_number=11, typing=pb.Typing(conv=CONV))),
    ("presence", {"id": 12, "op": "presence", "users": [S(USER), S(OTHER)]},
     pb.Request(id_number=12, presence=pb.Presence(users=[USER, OTHER]))),
    ("ping", {"id": 13, "op": "ping"}, pb.Request(id_number=13, ping=pb.Ping())),
    ("send reply with mentions",
     {"id": "14", "op": "send", "conv": S(CONV), "client_id": "c-43", "body": "@ben", "reply_to": 12,
      "broadcast": True, "mentions": {"user_ids": [S(OTHER)], "here": True, "all": False}},
     pb.Request(id_string="14", send=pb.Send(conv=CONV, client_id="c-43", body="@ben", reply_to=12, broadcast=True,
                                             mentions=pb.Mentions(user_ids=[OTHER], here=True)))),
    ("send poll", {"id": 16, "op": "send", "conv": S(CONV), "client_id": "c-44", "body": "Tea or coffee?",
                   "poll": {"options": ["Tea", "Coffee"], "max_votes": 2, "anonymous": True, "open_options": False,
                            "closes_at": 1795324913371}},
     pb.Request(id_number=16, send=pb.Send(conv=CONV, client_id="c-44", body="Tea or coffee?",
                                           poll=pb.PollInput(options=["Tea", "Coffee"], max_votes=2, anonymous=True,
                                                             closes_at=1795324913371)))),
    ("delivered", {"id": 17, "op": "delivered", "conv": S(CONV), "seq": 12},
     pb.Request(id_number=17, delivered=pb.Delivered(conv=CONV, seq=12))),
    ("react", {"id": 15, "op": "react", "conv": S(CONV), "seq": 12, "reaction": "👍", "remove": True},
     pb.Request(id_number=15, react=pb.React(conv=CONV, seq=12, reaction="👍", remove=True))),
]


def ok(id_, result):
    return {"id": id_, "ok": True, "result": result}


replies = [
    ("auth", "auth", ok("1", {"user_id": S(USER), "expires_at": 1795324913}),
     pb.Reply(id_string="1", ok=True, auth=pb.AuthResult(user_id=USER, expires_at=1795324913))),
    ("subscribe", "subscribe",
     ok(2, {"subscribed": [{"conv": S(CONV), "last_seq": 12, "replayed": 1, "truncated": False, "rewound": False}],
            "errors": [{"conv": S(OTHER), "code": "not_found"}]}),
     pb.Reply(id_number=2, ok=True, subscribe=pb.SubscribeResult(
         subscribed=[pb.SubscribeResult.Subscribed(conv=CONV, last_seq=12, replayed=1)],
         errors=[pb.SubscribeResult.Failed(conv=OTHER, code="not_found")]))),
    ("unsubscribe", "unsubscribe", ok(4, {"subscriptions": 0}),
     pb.Reply(id_number=4, ok=True, unsubscribe=pb.UnsubscribeResult(subscriptions=0))),
    ("send", "send", ok("7", {"message_id": S(MSG), "conv": S(CONV), "seq": 12, "ts": 1795324013371,
                              "duplicate": False}),
     pb.Reply(id_string="7", ok=True, send=pb.SendResult(message_id=MSG, conv=CONV, seq=12, ts=1795324013371))),
    ("edit", "edit", ok(8, {"seq": 12, "deleted": False}),
     pb.Reply(id_number=8, ok=True, edit=pb.EditResult(seq=12))),
    ("delete", "delete", ok(9, {"seq": 12, "deleted": True}),
     pb.Reply(id_number=9, ok=True, edit=pb.EditResult(seq=12, deleted=True))),
    ("read", "read", ok(10, {"last_read_seq": 12, "unread": 0}),
     pb.Reply(id_number=10, ok=True, read=pb.ReadResult(last_read_seq=12))),
    ("typing", "typing", ok(11, {"throttled": True}),
     pb.Reply(id_number=11, ok=True, typing=pb.TypingResult(throttled=True))),
    ("presence", "presence",
     ok(12, {"users": [{"user_id": S(USER), "status": "online", "last_seen": None},
                       {"user_id": S(OTHER), "status": "offline", "last_seen": 1795324013371}]}),
     pb.Reply(id_number=12, ok=True, presence=pb.PresenceResult(users=[
         pb.PresenceResult.User(user_id=USER, online=True),
         pb.PresenceResult.User(user_id=OTHER, online=False, last_seen=1795324013371)]))),
    ("ping", "ping", ok(13, {"ts": 1795324013371}),
     pb.Reply(id_number=13, ok=True, ping=pb.PingResult(ts=1795324013371))),
    ("send reply", "send", ok("14", {"message_id": S(MSG), "conv": S(CONV), "seq": 13, "ts": 1795324013371,
                                     "duplicate": False, "reply_to": 12}),
     pb.Reply(id_string="14", ok=True, send=pb.SendResult(message_id=MSG, conv=CONV, seq=13, ts=1795324013371,
                                                          reply_to=12))),
    ("react", "react", ok(15, {"seq": 12, "reaction": "👍", "count": 1, "me": False}),
     pb.Reply(id_number=15, ok=True, react=pb.ReactResult(seq=12, reaction="👍", count=1, me=False))),
    ("delivered", "delivered", ok(17, {"delivered_seq": 12}),
     pb.Reply(id_number=17, ok=True, delivered=pb.DeliveredResult(delivered_seq=12))),
    ("error", "send", {"id": "7", "ok": False, "error": {"code": "not_found", "status": 404,
                                                          "message": "conversation not found"}},
     pb.Reply(id_string="7", ok=False, error=pb.Error(code="not_found", status=404,
                                                      message="conversation not found"))),
]

out = {
    "about": "Golden vectors of protocol v1's binary encoding (proto/parley/v1/protocol.proto); "
             "made by tests/vectors/make_protocol_v1.py. Existing entries never change.",
    "events": [{"name": n, "json": j, "proto_hex": m.SerializeToString().hex()} for n, j, m in events],
    "requests": [{"name": n, "json": j, "proto_hex": m.SerializeToString().hex()} for n, j, m in requests],
    "replies": [{"name": n, "op": op, "json": j,
                 "proto_hex": pb.ServerMessage(reply=m).SerializeToString().hex()} for n, op, j, m in replies],
}
path = ROOT / "tests/vectors/protocol_v1.json"
path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n")
print(path, sum(len(v) for k, v in out.items() if k != "about"), "vectors")
