"""Three nodes on one PostgreSQL and one Redis, started by scripts/services.sh
for this test alone (so it may restart them), behind the shipped nginx file.

Clients on different nodes in the same conversations must each receive every
message exactly once and in seq order: also while Redis is restarted, while
PostgreSQL is restarted, and when a node is killed with SIGKILL and its clients
reconnect through nginx to the others."""

import os
import re
import signal
import shutil
import subprocess
import tempfile
import threading
import time
import unittest

from harness import ResilientClient, Server, WsClient, ws_connect
from nginx_proxy import NginxProxy
from test_collab import HAVE_CLIENTS, Driver, closed_with, metric, raw, recv_binary

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))


class Services:
    """A private PostgreSQL and Redis (scripts/services.sh start|stop DIR)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="parley-cluster-")
        self.env = {}

    def start(self):
        # Free ports of its own, whatever the shared services use.
        env = {k: v for k, v in os.environ.items() if k not in ("PG_PORT", "REDIS_PORT")}
        out = subprocess.run(["bash", os.path.join(ROOT, "scripts/services.sh"), "start", self.dir],
                             capture_output=True, text=True, timeout=120, env=env)
        if out.returncode != 0:
            raise RuntimeError("services did not start:\n" + out.stdout + out.stderr)
        with open(os.path.join(self.dir, "env")) as f:
            for line in f:
                k, _, v = line.strip().partition("=")
                self.env[k] = v
        return self

    def stop(self):
        subprocess.run(["bash", os.path.join(ROOT, "scripts/services.sh"), "stop", self.dir],
                       capture_output=True, timeout=120)
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def postgres_url(self):
        return self.env["PARLEY_TEST_POSTGRES_URL"]

    @property
    def redis_url(self):
        return self.env["PARLEY_TEST_REDIS_URL"]

    def redis_pid(self):
        with open(os.path.join(self.dir, "redis/redis.pid")) as f:
            return int(f.read().strip())

    def services(self, command):
        subprocess.run(["bash", os.path.join(ROOT, "scripts/services.sh"), command, self.dir],
                       check=True, capture_output=True, timeout=120)

    def stop_redis(self):
        """SIGTERM to the Redis this test started; waits until it is gone."""
        pid = self.redis_pid()
        os.kill(pid, 15)
        for _ in range(100):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        raise RuntimeError("redis did not stop")

    def start_redis(self):
        port = self.env["REDIS_PORT"]
        subprocess.run(["redis-server", "--bind", "127.0.0.1", "--port", port, "--dir",
                        os.path.join(self.dir, "redis"), "--daemonize", "yes", "--pidfile",
                        os.path.join(self.dir, "redis/redis.pid"), "--logfile",
                        os.path.join(self.dir, "redis/redis.log"), "--requirepass", "parley",
                        "--save", "", "--appendonly", "no"], check=True, timeout=30)


class ClusterFixture(unittest.TestCase):
    """Three nodes, their private PostgreSQL and Redis, and nginx in front."""
    NODES = 3

    @classmethod
    def setUpClass(cls):
        cls.services = Services().start()
        cls.nodes = []
        cls.retired = []
        cls.proxy = None
        try:
            for i in range(cls.NODES):
                cls.nodes.append(Server(cls.node_settings(i)).start())
            for node in cls.nodes:
                wait_for(lambda: node.request("GET", "/api/ready")[2].get("degraded") is False,
                         what="node connected to Redis")
            cls.proxy = NginxProxy([n.port for n in cls.nodes]).start()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def node_settings(cls, i):
        return {
            "database.url": cls.services.postgres_url,
            "redis.url": cls.services.redis_url,
            "server.node_id": str(i + 1),
            "server.trusted_proxies": "127.0.0.1",
            "cluster.reorder_wait_ms": "100",
            "ws.presence_grace_ms": "200",
            "auth.login_account_max_failures": "3",
            "cluster.shared_state_timeout_ms": "200",
        }

    @classmethod
    def tearDownClass(cls):
        if cls.proxy:
            cls.proxy.stop()
        codes = []
        for node in cls.nodes:
            codes.append(node.stop())
            node.cleanup()
        for node in cls.retired:
            node.cleanup()
        cls.services.stop()
        if any(c not in (0, None) for c in codes):
            raise AssertionError(f"a node exited with {codes} after SIGTERM")


class ClusterTest(ClusterFixture):
    def users_and_conversation(self, tag):
        """One user per node, all members of one new group conversation."""
        users = [self.nodes[0].register(f"{tag}{i}") for i in range(self.NODES)]
        status, _, conv = self.nodes[0].request(
            "POST", "/api/conversations",
            {"kind": "group", "title": tag, "members": [u["user"]["id"] for u in users[1:]]},
            token=users[0]["access_token"])
        self.assertEqual(status, 201, conv)
        return users, conv["id"]

    def clients(self, users, conv):
        """Each user connected (ticket from the same node) to a node of its own."""
        out = []
        for node, user in zip(self.nodes, users):
            c = ws_connect(node, user["access_token"], timeout=30)
            self.assertTrue(c.request("subscribe", conversations=[{"conv": conv}])["ok"])
            out.append(c)
        return out

    def send_concurrently(self, clients, conv, per_client, tag, pause=0.0):
        acks, errors = [], []

        def send_all(client, n):
            for i in range(per_client):
                # Retry with the same client_id until acknowledged: never twice stored.
                for _ in range(50):
                    reply = client.request("send", conv=conv, client_id=f"{tag}-{n}-{i}",
                                           body=f"{tag} from {n}: {i}")
                    if reply["ok"]:
                        acks.append(reply["result"]["seq"])
                        break
                    time.sleep(0.1)
                else:
                    errors.append(reply)
                if pause:
                    time.sleep(pause)

        threads = [threading.Thread(target=send_all, args=(c, n)) for n, c in enumerate(clients)]
        for t in threads:
            t.start()
        return threads, acks, errors

    def assert_everyone_got_everything(self, clients, total):
        for n, c in enumerate(clients):
            events = message_events(c, total)
            seqs = [e["seq"] for e in events]
            self.assertEqual(seqs, list(range(1, total + 1)), f"client on node {n + 1}")
            self.assertEqual(len({e["message"]["id"] for e in events}), total)

    def assert_everyone_got_everything_after(self, clients, after, total):
        for n, c in enumerate(clients):
            seqs = [e["seq"] for e in message_events(c, total - after)]
            self.assertEqual(seqs, list(range(after + 1, total + 1)), f"client on node {n + 1}")

    def test_clients_on_different_nodes_get_every_message_once_in_order(self):
        users, conv = self.users_and_conversation("order")
        clients = self.clients(users, conv)
        threads, acks, errors = self.send_concurrently(clients, conv, 60, "o")
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(sorted(acks), list(range(1, 181)))  # two nodes never hand out one seq
        # One sender only: the others hear of it through the broker alone.
        for i in range(20):
            self.assertTrue(clients[0].request("send", conv=conv, client_id=f"solo-{i}", body="solo")["ok"])
        self.assert_everyone_got_everything(clients, 200)
        for node in self.nodes[1:]:
            self.assertGreater(metric(node, "parley_cluster_events_received_total"), 0)
        for c in clients:
            c.close()

    def resilient_clients(self, users, conv):
        """Two connections per user (a sender and a reader), all through nginx."""
        return [ResilientClient(self.proxy.https_port, u["access_token"], conv, tls=True)
                for u in users for _ in range(2)]

    def send_resiliently(self, clients, per_client, tag, pause=0.02):
        acks = {}

        def send_all(client, n):
            for i in range(per_client):
                cid = f"{tag}-{n}-{i}"
                acks[cid] = client.send(cid, f"{tag} {n} {i}")
                time.sleep(pause)

        threads = [threading.Thread(target=send_all, args=(c, n)) for n, c in enumerate(clients)]
        for t in threads:
            t.start()
        return threads, acks

    def assert_stored_exactly(self, acks, token):
        """Every acknowledged message is in the store with the seq it was acked
        with, and nothing else is (no message stored twice)."""
        node = next(n for n in self.nodes if n.proc.poll() is None)
        conv = self.current_conv
        status, _, page = node.request("GET", f"/api/conversations/{conv}/messages?after=0&limit=200",
                                       token=token)
        self.assertEqual(status, 200, page)
        stored = {m["client_id"]: m["seq"] for m in page["messages"]}
        self.assertEqual(len(page["messages"]), len(acks))
        self.assertEqual(stored, acks)

    def wait_connected(self):
        """Every node back on Redis (reconnects back off up to 5 s)."""
        for node in self.nodes:
            wait_for(lambda: node.request("GET", "/api/ready")[2].get("degraded") is False,
                     what="reconnected to Redis")

    def test_a_hung_redis_costs_a_request_no_more_than_the_shared_state_timeout(self):
        """Redis stopped (SIGSTOP: connections open, nothing answers): a ticket
        and a login each wait cluster.shared_state_timeout_ms (200 ms here) for
        it, then the node uses its own state; the fallback is counted."""
        node = self.nodes[0]
        user = node.register("hung0")

        def failures():
            _, _, text = node.request("GET", "/metrics")
            return float(re.search(r"(?m)^parley_cluster_shared_state_failures_total (\S+)$", text).group(1))

        before = failures()
        pid = self.services.redis_pid()
        os.kill(pid, signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            status, _, ticket = node.request("POST", "/api/ws/ticket", token=user["access_token"])
            ticket_s = time.monotonic() - t0
            t0 = time.monotonic()
            status_login, _, _ = node.login("hung0")
            login_s = time.monotonic() - t0
        finally:
            os.kill(pid, signal.SIGCONT)
        self.assertEqual(status, 201, ticket)
        self.assertEqual(status_login, 200)
        # It waited for Redis, and no longer than the configured 200 ms (the default is 500).
        self.assertGreater(ticket_s, 0.15)
        self.assertLess(ticket_s, 0.45)
        self.assertLess(login_s, 3.0)  # argon2 plus up to three limit calls
        self.assertGreater(failures(), before)
        print(f"\nhung redis: ticket {ticket_s * 1000:.0f} ms, login {login_s * 1000:.0f} ms", flush=True)

    def test_tickets_presence_typing_and_login_limits_span_nodes(self):
        self.wait_connected()
        users, conv = self.users_and_conversation("span")
        # A ticket from node 1 opens a socket on node 2, once.
        status, _, t = self.nodes[0].request("POST", "/api/ws/ticket", token=users[0]["access_token"])
        self.assertEqual(status, 201, t)
        on_two = WsClient(self.nodes[1].port, path=t["url"])
        self.assertEqual(on_two.status, 101, [
            (metric(n, "parley_cluster_shared_state_failures_total"), n.request("GET", "/api/ready")[2])
            for n in self.nodes])
        self.assertEqual(WsClient(self.nodes[2].port, path=t["url"]).status, 401)
        # Presence: user 0 is on node 2; node 3 knows it, then knows it left.
        watcher = ws_connect(self.nodes[2], users[1]["access_token"])
        uid = users[0]["user"]["id"]

        def status_on_three():
            reply = watcher.request("presence", users=[uid])
            return reply["result"]["users"][0]["status"]

        wait_for(lambda: status_on_three() == "online", timeout=5, what="online on another node")
        # Typing on node 2 reaches a subscriber on node 3.
        self.assertTrue(watcher.request("subscribe", conversations=[{"conv": conv}])["ok"])
        self.assertTrue(on_two.request("subscribe", conversations=[{"conv": conv}])["ok"])
        self.assertTrue(on_two.request("typing", conv=conv)["ok"])
        self.assertEqual(watcher.event("typing")["user_id"], uid)
        # Added to a conversation through node 1: the socket on node 3 hears it.
        status, _, group = self.nodes[0].request("POST", "/api/conversations",
                                                 {"kind": "group", "title": "added", "members": [users[1]["user"]["id"]]},
                                                 token=users[0]["access_token"])
        self.assertEqual(status, 201)
        added = watcher.event("conversation.added")
        self.assertEqual((added["conv"], added["role"]), (group["id"], "member"))
        on_two.close()
        wait_for(lambda: status_on_three() == "offline", timeout=10, what="offline on another node")
        watcher.close()
        # Failed logins count on every node together: 3 allowed per account.
        name = users[2]["user"]["username"]
        for node in self.nodes:
            self.assertEqual(node.request("POST", "/api/auth/login",
                                          {"username": name, "password": "wrong password!"})[0], 401)
        status, _, body = self.nodes[0].request("POST", "/api/auth/login",
                                                {"username": name, "password": "wrong password!"})
        self.assertEqual(status, 429, body)

    def test_replies_mentions_reactions_pins_polls_and_receipts_reach_the_other_nodes(self):
        self.wait_connected()
        users, conv = self.users_and_conversation("rich")
        clients = self.clients(users, conv)  # user n on node n + 1, subscribed
        # The mentioned user listens on node 3 without subscribing: the mention goes to every node.
        mentioned = ws_connect(self.nodes[2], users[2]["access_token"])
        status, _, root = self.nodes[0].request("POST", f"/api/conversations/{conv}/messages",
                                                {"client_id": "rich-root", "body": "root"},
                                                token=users[0]["access_token"])
        self.assertEqual(status, 201, root)
        r = clients[1].request("send", conv=conv, client_id="rich-reply", body="@rich2 look",
                               reply_to=root["seq"], mentions={"user_ids": [users[2]["user"]["id"]]})
        self.assertTrue(r["ok"], r)
        self.assertEqual(mentioned.event("mention")["seq"], r["result"]["seq"])
        for c in (clients[0], clients[2]):
            events = message_events(c, 2)
            self.assertEqual(events[1]["message"]["reply_to"], root["seq"])
        status, _, poll = self.nodes[2].request("POST", f"/api/conversations/{conv}/messages",
                                                {"client_id": "rich-poll", "body": "Go?", "poll": {"options": ["Yes", "No"]}},
                                                token=users[2]["access_token"])
        self.assertEqual(status, 201, poll)
        self.nodes[0].request("PUT", f"/api/conversations/{conv}/messages/{poll['seq']}/poll/votes",
                              {"option_ids": [1]}, token=users[0]["access_token"])
        self.nodes[1].request("POST", f"/api/conversations/{conv}/messages/{root['seq']}/reactions",
                              {"reaction": "👍"}, token=users[1]["access_token"])
        self.nodes[2].request("PUT", f"/api/conversations/{conv}/pins/{root['seq']}", token=users[2]["access_token"])
        self.nodes[1].request("POST", f"/api/conversations/{conv}/delivered", {"seq": poll["seq"]},
                              token=users[1]["access_token"])
        # Each kind is heard on a node other than the one it was made on; the
        # poll's last event is its committed state.
        self.assertEqual([o["votes"] for o in clients[1].event("poll")["poll"]["options"]], [1, 0])
        self.assertEqual(clients[0].event("reaction")["reaction"], "👍")
        self.assertEqual(clients[0].event("pin")["seq"], root["seq"])
        d = clients[2].event("delivered")
        self.assertEqual((d["user_id"], d["seq"]), (users[1]["user"]["id"], poll["seq"]))
        for c in clients + [mentioned]:
            c.close()

    def test_kill_9_a_node_under_load_its_clients_resume_through_nginx(self):
        users, conv = self.users_and_conversation("kill")
        self.current_conv = conv
        clients = self.resilient_clients(users, conv)
        # The node holding the most of these connections dies.
        counts = [metric(n, "parley_ws_connections") for n in self.nodes]
        victim = counts.index(max(counts))
        self.assertGreater(counts[victim], 0)
        senders = clients[0::2]
        threads, acks = self.send_resiliently(senders, 40, "k")
        time.sleep(0.4)
        old = self.nodes[victim]
        old.kill()  # SIGKILL: no drain, no close frames
        self.retired.append(old)
        try:
            for t in threads:
                t.join(120)
        finally:
            # Back on its port (nginx knows it there) for the other tests.
            self.nodes[victim] = Server(self.node_settings(victim), port=old.port).start()
        self.assertEqual(sorted(acks.values()), list(range(1, 121)))
        for c in clients:
            c.drain(120)
            self.assertEqual(c.errors, [], "gap or duplicate")
            self.assertEqual(c.seqs, list(range(1, 121)))
        self.assertGreater(sum(c.reconnects for c in clients), 0, "no client was on the killed node")
        self.assert_stored_exactly(acks, users[0]["access_token"])
        for c in clients:
            c.close()

    def test_postgres_restart_under_load_loses_nothing_and_fails_fast(self):
        users, conv = self.users_and_conversation("pg")
        self.current_conv = conv
        clients = self.resilient_clients(users, conv)
        threads, acks = self.send_resiliently(clients[0::2], 40, "p", pause=0.03)
        time.sleep(0.3)
        self.services.services("pg-stop")
        try:
            # While the store is down a write fails at once with a clear error.
            t0 = time.time()
            status, _, body = self.nodes[0].request(
                "POST", f"/api/conversations/{conv}/messages", {"client_id": "down", "body": "x"},
                token=users[0]["access_token"])
            elapsed = time.time() - t0
            self.assertEqual(status, 503, body)
            self.assertIn("unavailable", body["detail"])
            self.assertLess(elapsed, 3.0)
            status, _, ready = self.nodes[0].request("GET", "/api/ready")
            self.assertEqual(status, 503, ready)
            time.sleep(1.0)
        finally:
            self.services.services("pg-start")
        for t in threads:
            t.join(120)
        self.assertEqual(sorted(acks.values()), list(range(1, 121)))
        for c in clients:
            c.drain(120)
            self.assertEqual(c.errors, [], "gap or duplicate")
            self.assertEqual(c.seqs, list(range(1, 121)))
        self.assert_stored_exactly(acks, users[0]["access_token"])
        for c in clients:
            c.close()

    def test_redis_restart_under_load_loses_nothing(self):
        users, conv = self.users_and_conversation("redis")
        clients = self.clients(users, conv)
        threads, acks, errors = self.send_concurrently(clients, conv, 60, "r", pause=0.02)
        time.sleep(0.3)
        self.services.stop_redis()
        # Each node keeps serving its own clients and says it is degraded.
        wait_for(lambda: self.nodes[1].request("GET", "/api/ready")[2].get("degraded") is True,
                 what="degraded readiness")
        status, _, ready = self.nodes[1].request("GET", "/api/ready")
        self.assertEqual(status, 200, ready)
        self.assertIn("redis unavailable", ready["cluster"])
        metrics = self.nodes[1].request("GET", "/metrics")[2]
        self.assertIn("parley_cluster_redis_up 0", metrics)
        time.sleep(0.5)
        self.services.start_redis()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(sorted(acks), list(range(1, 181)))
        for node in self.nodes:
            wait_for(lambda: node.request("GET", "/api/ready")[2].get("degraded") is False,
                     what="reconnected to Redis")
        # What was published while Redis was away comes from the store.
        self.assert_everyone_got_everything(clients, 180)
        # Redis away while only one node writes, and nothing written after it
        # is back: the other nodes' clients get those messages only if their
        # node resynchronises from the store.
        self.services.stop_redis()
        wait_for(lambda: self.nodes[0].request("GET", "/api/ready")[2].get("degraded") is True,
                 what="degraded readiness")
        for i in range(10):
            reply = clients[0].request("send", conv=conv, client_id=f"dark-{i}", body="while redis is down")
            self.assertTrue(reply["ok"], reply)
        self.services.start_redis()
        self.assert_everyone_got_everything_after(clients, 180, 190)
        for c in clients:
            c.close()
        self.wait_connected()


def message_events(client, count, timeout=20):
    """The next count message.new events, or as many as came within timeout."""
    deadline = time.time() + timeout
    got = []
    client.sock.settimeout(1)
    while len(got) < count and time.time() < deadline:
        try:
            got.append(client.event("message.new"))
        except TimeoutError:
            pass
    client.sock.settimeout(30)
    return got


def metric(node, name):
    for line in node.request("GET", "/metrics")[2].splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


@unittest.skipUnless(HAVE_CLIENTS, "npm y-websocket not installed (npm ci)")
class CollabClusterTest(ClusterFixture):
    """Collaboration documents on three nodes: editors on different nodes and
    through nginx converge; an update made while Redis is down reaches the
    other nodes once it is back (read from the store: a delay, not a divergence)."""

    def urls(self):
        return [f"ws://127.0.0.1:{n.port}/collab" for n in self.nodes] + \
            [f"wss://127.0.0.1:{self.proxy.https_port}/collab"]

    def token(self, name):
        return self.nodes[0].register(name)["access_token"]

    def test_editors_on_three_nodes_and_through_nginx_converge(self):
        token = self.token("collab_cl")
        r = Driver(self.nodes[0], scenario="converge", doc="cluster-doc", clients=8, edits=60,
                   tokens=[token], urls=self.urls()).run()
        self.assertTrue(r["equal"])
        # Each node serves it whole afterwards, from memory or the store.
        for node in self.nodes:
            got = Driver(node, scenario="read", doc="cluster-doc", tokens=[token]).run()
            self.assertEqual(got["length"], r["length"])

    def test_access_removed_or_a_document_deleted_on_one_node_closes_connections_on_the_others(self):
        ann = self.nodes[0].register("collab_acl_a")
        bob = self.nodes[0].register("collab_acl_b")
        st, _, doc = self.nodes[0].request("POST", "/api/collab/documents", {"name": "acl-doc"},
                                           token=ann["access_token"])
        self.assertEqual(st, 201, doc)
        base = f"/api/collab/documents/{doc['id']}"
        self.nodes[0].request("PUT", f"{base}/access/{bob['user']['id']}", {"role": "editor"},
                              token=ann["access_token"])
        on_b = raw(self.nodes[1], f"/collab/acl-doc?token={bob['access_token']}")
        recv_binary(on_b)
        self.nodes[0].request("DELETE", f"{base}/access/{bob['user']['id']}", token=ann["access_token"])
        self.assertEqual(closed_with(self, on_b), 4403)
        on_c = raw(self.nodes[2], f"/collab/acl-doc?token={ann['access_token']}")
        recv_binary(on_c)
        self.assertEqual(self.nodes[0].request("DELETE", base, token=ann["access_token"])[0], 204)
        self.assertEqual(closed_with(self, on_c), 4404)

    def test_a_node_killed_under_load_loses_no_edit(self):
        token = self.token("collab_kill")
        proxied = f"wss://127.0.0.1:{self.proxy.https_port}/collab"
        # Through nginx, round robin: two of the six land on node 3, the one
        # killed, and come back through nginx to the others.
        d = Driver(self.nodes[0], scenario="kill", doc="kill-doc", tokens=[token], clients=6,
                   urls=[proxied], timeout_ms=40000).start()
        d.expect_step("editing")
        victim = self.nodes[2]
        self.assertGreater(metric(victim, "parley_collab_connections"), 0, "nobody on the node killed")
        victim.kill()
        d.tell()
        r = d.finish(timeout=90)
        self.assertGreater(r["inserts"], 100)
        self.assertTrue(r["same_order"])
        # Node 3 comes back on its port for the tests after this one.
        self.nodes[2] = Server(self.node_settings(2), port=victim.port).start()
        self.retired.append(victim)

    def test_postgres_restart_under_collab_load_loses_no_edit(self):
        token = self.token("collab_pg")
        # Editors on all three nodes keep inserting while PostgreSQL stops
        # and starts: writes fail, rooms break and close (1011), clients
        # reconnect and send their state again once the store is back.
        d = Driver(self.nodes[0], scenario="kill", doc="pg-doc", tokens=[token], clients=6,
                   urls=self.urls()[:3], timeout_ms=60000, after_ms=3000).start()
        d.expect_step("editing")
        self.services.services("pg-stop")
        try:
            time.sleep(1.5)
        finally:
            self.services.services("pg-start")
        d.tell()
        r = d.finish(timeout=150)
        self.assertGreater(r["inserts"], 100)
        self.assertTrue(r["same_order"])
        # The outage was felt: writes failed and their rooms were reloaded.
        self.assertGreater(sum(metric(n, "parley_collab_store_failures_total") for n in self.nodes), 0)
        # Stored, every one: node 2 restarted reads the document from the store.
        old = self.nodes[1]
        old.stop()
        self.retired.append(old)
        self.nodes[1] = Server(self.node_settings(1), port=old.port).start()
        got = Driver(self.nodes[1], scenario="read", doc="pg-doc", tokens=[token]).run()
        self.assertEqual(got["items"], r["inserts"])

    def test_an_update_made_while_redis_is_down_arrives_after_it_returns(self):
        token = self.token("collab_out")
        before = metric(self.nodes[1], "parley_collab_gap_fills_total")
        d = Driver(self.nodes[0], scenario="outage", doc="outage-doc", tokens=[token],
                   urls=self.urls()[:2]).start()
        d.expect_step("ready")
        self.services.stop_redis()
        try:
            d.tell()
            d.expect_step("edited")
        finally:
            self.services.start_redis()
        d.tell()
        self.assertEqual(d.finish()["text"], "before during")
        self.assertGreater(metric(self.nodes[1], "parley_collab_gap_fills_total"), before)


def wait_for(check, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if check():
                return
        except (OSError, KeyError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


if __name__ == "__main__":
    unittest.main()
