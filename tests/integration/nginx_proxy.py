"""deploy/nginx/parley.conf run by a real nginx on loopback, in front of
given parley ports: the shipped file with only its addresses rewritten (the
listeners move to free loopback ports, the upstream list to the given nodes,
the certificate to a throwaway self-signed one)."""

import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

from harness import die_with_parent

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NginxProxy:
    def __init__(self, upstream_ports):
        self.upstream_ports = list(upstream_ports)
        self.dir = tempfile.mkdtemp(prefix="parley-nginx-")
        self.http_port, self.https_port = free_port(), free_port()
        self.proc = None
        self.check_output = ""

    def start(self):
        cert, key = os.path.join(self.dir, "cert.pem"), os.path.join(self.dir, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        with open(os.path.join(ROOT, "deploy", "nginx", "parley.conf")) as f:
            site = f.read()
        site, n = re.subn(r"server 127\.0\.0\.1:808\d[^;]*;\n", "", site)
        assert n == 3, "the upstream list changed: update tests/integration/nginx_proxy.py"
        servers = "".join(f"\n    server 127.0.0.1:{p} max_fails=2 fail_timeout=5s;"
                          for p in self.upstream_ports)
        site = site.replace("least_conn;", "least_conn;" + servers, 1)
        site = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", site)
        site = site.replace("listen 80;", f"listen 127.0.0.1:{self.http_port};")
        site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{self.https_port} ssl http2;")
        site = site.replace("/etc/nginx/snippets/parley-proxy.conf",
                            os.path.join(ROOT, "deploy", "nginx", "parley-proxy.conf"))
        site = site.replace("/etc/ssl/parley/fullchain.pem", cert).replace("/etc/ssl/parley/privkey.pem", key)
        with open(os.path.join(self.dir, "parley.conf"), "w") as f:
            f.write(site)
        d = self.dir
        with open(os.path.join(d, "nginx.conf"), "w") as f:
            f.write(f"""daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/parley.conf;
}}
""")
        conf = os.path.join(d, "nginx.conf")
        check = subprocess.run([NGINX, "-p", d, "-c", conf, "-t"], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        self.check_output = check.stderr
        self.proc = subprocess.Popen([NGINX, "-p", d, "-c", conf],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     preexec_fn=die_with_parent)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.https_port), 0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx did not start listening")

    def stop(self):
        if self.proc:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)
