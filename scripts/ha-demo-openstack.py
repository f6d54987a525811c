"""A Keystone v3 + Nova stand-in for scripts/ha-demo.sh, on 127.0.0.1:PORT.

Masakari checks with Nova (through Keystone) that a compute host exists before it adds
the host to a segment; the demo has no Keystone and no Nova, so this answers the few
calls that check makes: the version documents, POST /identity/v3/auth/tokens (any
credentials: a token and a catalog pointing back here) and
GET /compute/v2.1/os-services?binary=nova-compute&host=H (every host exists).

    python3 ha-demo-openstack.py PORT
"""
import json
import sys
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

PORT = int(sys.argv[1])
BASE = f"http://127.0.0.1:{PORT}"
IDENTITY = {"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
            "links": [{"rel": "self", "href": f"{BASE}/identity/v3/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.identity-v3+json"}]}
COMPUTE = {"id": "v2.1", "status": "CURRENT", "version": "2.95", "min_version": "2.1",
           "updated": "2013-07-23T11:33:21Z", "links": [{"rel": "self", "href": f"{BASE}/compute/v2.1/"}]}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body, headers=()):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urlparse(self.path)
        path = url.path.rstrip("/")
        if path == "/identity":
            return self.answer(300, {"versions": {"values": [IDENTITY]}})
        if path == "/identity/v3":
            return self.answer(200, {"version": IDENTITY})
        if path == "/compute":
            return self.answer(200, {"versions": [COMPUTE]})
        if path == "/compute/v2.1":
            return self.answer(200, {"version": COMPUTE})
        if path == "/compute/v2.1/os-services":
            host = parse_qs(url.query).get("host", ["?"])[0]
            return self.answer(200, {"services": [{
                "id": 1, "binary": "nova-compute", "host": host, "zone": "nova", "status": "enabled",
                "state": "up", "forced_down": False, "updated_at": "2026-12-01T07:00:00.000000",
                "disabled_reason": None}]})
        return self.answer(404, {"itemNotFound": {"code": 404, "message": "not here"}})

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if urlparse(self.path).path.rstrip("/") != "/identity/v3/auth/tokens":
            return self.answer(404, {"itemNotFound": {"code": 404, "message": "not here"}})
        # Masakari looks the compute service up by name: `nova`.
        endpoint = lambda kind, name, url: {"type": kind, "name": name, "id": kind, "endpoints": [
            {"interface": i, "region": "RegionOne", "region_id": "RegionOne", "url": url, "id": kind + i}
            for i in ("public", "internal", "admin")]}
        token = {"token": {
            "methods": ["password"], "expires_at": "2099-01-01T00:00:00.000000Z",
            "issued_at": "2026-12-01T00:00:00.000000Z",
            "user": {"id": "u1", "name": "vigil", "domain": {"id": "default", "name": "Default"}},
            "project": {"id": "p1", "name": "service", "domain": {"id": "default", "name": "Default"}},
            "roles": [{"id": "r1", "name": "admin"}],
            "catalog": [endpoint("identity", "keystone", f"{BASE}/identity"),
                        endpoint("compute", "nova", f"{BASE}/compute/v2.1")]}}
        return self.answer(201, token, [("X-Subject-Token", "gAAAAAB" + uuid.uuid4().hex)])


ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
