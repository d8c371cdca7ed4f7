"""HTTP/1.1 server tests against the real binary ($TW_BINARY) on a free loopback port.

Covers keep-alive, HTTP/1.0, pipelining, chunked bodies, Expect: 100-continue, every limit and
its status, slowloris, half-closed and reset connections, many connections, pending handlers
and graceful shutdown. After each hostile case the server must still answer /healthz.
Timeouts are set small through flags so that the whole module runs in well under a minute.
"""

import http.client
import json
import os
import signal
import socket
import struct
import subprocess
import time
import unittest

BINARY = os.environ.get("TW_BINARY", "build/tensor-wasm")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, *flags, workers=2):
        self.port = free_port()
        cmd = [BINARY, "serve", "--listen", "127.0.0.1:%d" % self.port,
               "--workers", str(workers), "--pin-workers=false", "--test-routes"] + list(flags)
        env = dict(os.environ, TENSOR_WASM_LOG=os.environ.get("TENSOR_WASM_LOG", "warn"))
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.get("/healthz")[0] == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                out, err = self.proc.communicate(timeout=5)
                raise RuntimeError("server did not start: %s" % err.decode(errors="replace"))
            time.sleep(0.02)

    def conn(self, timeout=5):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def get(self, path):
        c = self.conn()
        try:
            c.request("GET", path)
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def sock(self, timeout=5):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        return s

    def stop(self, sig=signal.SIGTERM, timeout=15):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise
        self.proc.stdout.close()
        self.stderr = self.proc.stderr.read().decode(errors="replace")
        self.proc.stderr.close()
        return rc


class Reader:
    """Reads HTTP/1.1 responses from a raw socket."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def _fill(self):
        d = self.sock.recv(65536)
        if not d:
            raise EOFError("connection closed")
        self.buf += d

    def line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def response(self, head_only=False):
        status_line = self.line()
        parts = status_line.split(b" ", 2)
        status = int(parts[1])
        headers = {}
        while True:
            ln = self.line()
            if not ln:
                break
            k, v = ln.split(b":", 1)
            headers[k.strip().lower().decode()] = v.strip().decode()
        n = 0 if head_only or status == 100 else int(headers.get("content-length", "0"))
        return status, headers, self.exact(n)

    def closed(self, timeout=5):
        """True when the server closes (EOF or reset) within timeout, discarding data."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False


def rst_close(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()


REQ = b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n"


class HttpServerTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.srv = Server("--header-timeout-ms", "400", "--idle-timeout-ms", "1500",
                         "--write-timeout-ms", "500", "--max-header-bytes", "4096",
                         "--max-headers", "32", "--max-body-bytes", "1048576")

    @classmethod
    def tearDownClass(cls):
        rc = cls.srv.stop()
        assert rc == 0, "server exited with %s: %s" % (rc, cls.srv.stderr)

    def healthy(self):
        status, body = self.srv.get("/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body)["status"], "ok")

    def error_kind(self, body):
        return json.loads(body)["error"]["kind"]

    # ---- the basics ------------------------------------------------------------------------

    def test_healthz_headers(self):
        c = self.srv.conn()
        c.request("GET", "/healthz")
        r = c.getresponse()
        body = r.read()
        self.assertEqual(r.status, 200)
        doc = json.loads(body)
        self.assertEqual(doc["status"], "ok")
        # The GPU line of the details, as `tensor-wasm version` prints it.
        gpu = doc["details"]["gpu"]
        self.assertIsInstance(gpu["present"], bool)
        if gpu["present"]:
            self.assertTrue(gpu["name"])
            self.assertRegex(gpu["compute_capability"], r"^\d+\.\d+$")
        else:
            self.assertTrue(gpu["status"].startswith("none ("), gpu["status"])
        version = subprocess.run([BINARY, "version"], capture_output=True, text=True).stdout
        self.assertIn("gpu: %s\n" % gpu["status"], version)
        self.assertEqual(r.getheader("Content-Length"), str(len(body)))
        self.assertEqual(r.getheader("Content-Type"), "application/json")
        self.assertRegex(r.getheader("Date"), r"^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$")
        c.close()

    def test_head_has_no_body(self):
        s = self.srv.sock()
        s.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: t\r\n\r\n" + REQ)
        rd = Reader(s)
        status, h, body = rd.response(head_only=True)
        self.assertEqual((status, body), (200, b""))
        full = rd.response()[2]
        self.assertEqual(h["content-length"], str(len(full)))
        self.assertEqual(json.loads(full)["status"], "ok")
        s.close()

    def test_keep_alive_reuses_connection(self):
        c = self.srv.conn()
        c.request("GET", "/healthz")
        r = c.getresponse()
        r.read()
        sock = c.sock
        for _ in range(20):
            c.request("GET", "/healthz")
            r = c.getresponse()
            self.assertEqual(r.status, 200)
            r.read()
        self.assertIs(c.sock, sock)
        c.close()

    def test_http10_closes_unless_keep_alive(self):
        s = self.srv.sock()
        s.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
        rd = Reader(s)
        status, h, body = rd.response()
        self.assertEqual(status, 200)
        self.assertEqual(h.get("connection"), "close")
        self.assertTrue(rd.closed())
        s.close()
        s = self.srv.sock()
        s.sendall(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        rd = Reader(s)
        status, h, _ = rd.response()
        self.assertEqual(h.get("connection"), "keep-alive")
        s.sendall(b"GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        self.assertEqual(rd.response()[0], 200)
        s.close()

    def test_connection_close_is_honoured(self):
        s = self.srv.sock()
        s.sendall(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n" + REQ)
        rd = Reader(s)
        status, h, _ = rd.response()
        self.assertEqual((status, h.get("connection")), (200, "close"))
        self.assertTrue(rd.closed())
        s.close()

    def test_pipelining_100_in_order(self):
        s = self.srv.sock()
        reqs = []
        for i in range(100):
            if i % 3 == 0:
                reqs.append(b"GET /nope/%d HTTP/1.1\r\nHost: t\r\n\r\n" % i)
            elif i % 3 == 1:
                reqs.append(b"GET /_test/params/x%d/y HTTP/1.1\r\nHost: t\r\n\r\n" % i)
            else:
                reqs.append(b"POST /_test/echo HTTP/1.1\r\nContent-Length: 4\r\n\r\n%04d" % i)
        s.sendall(b"".join(reqs))
        rd = Reader(s)
        for i in range(100):
            status, _, body = rd.response()
            if i % 3 == 0:
                self.assertEqual(status, 404)
            elif i % 3 == 1:
                self.assertEqual(json.loads(body)["a"], "x%d" % i)
            else:
                self.assertEqual(body, b"%04d" % i)
        s.close()

    def test_pipelining_with_pending_handlers_keeps_order(self):
        s = self.srv.sock()
        s.sendall(b"GET /_test/delay/80 HTTP/1.1\r\n\r\n" + REQ +
                  b"GET /_test/inbox HTTP/1.1\r\n\r\n" + b"GET /_test/delay/10 HTTP/1.1\r\n\r\n")
        rd = Reader(s)
        self.assertEqual(json.loads(rd.response()[2]), {"delayed_ms": 80})
        self.assertEqual(json.loads(rd.response()[2])["status"], "ok")
        self.assertEqual(json.loads(rd.response()[2]), {"via": "inbox"})
        self.assertEqual(json.loads(rd.response()[2]), {"delayed_ms": 10})
        s.close()

    def test_router_params_404_405(self):
        status, body = self.srv.get("/_test/params/abc/d%20e")
        self.assertEqual(status, 200)
        self.assertEqual(json.loads(body), {"route": "/_test/params/:a/:b", "a": "abc",
                                            "b": "d%20e"})
        status, body = self.srv.get("/_test/params/abc")
        self.assertEqual((status, self.error_kind(body)), (404, "not_found"))
        c = self.srv.conn()
        c.request("DELETE", "/healthz")
        r = c.getresponse()
        self.assertEqual(r.status, 405)
        self.assertEqual(r.getheader("Allow"), "GET, HEAD")
        r.read()
        c.close()

    # ---- bodies ----------------------------------------------------------------------------

    def test_content_length_and_chunked_bodies(self):
        c = self.srv.conn()
        payload = os.urandom(200000)
        c.request("POST", "/_test/echo", body=payload)
        r = c.getresponse()
        self.assertEqual(r.read(), payload)
        c.request("PUT", "/_test/echo", body=iter([b"hello ", b"chunked ", b"world"]),
                  encode_chunked=True)
        r = c.getresponse()
        self.assertEqual(r.read(), b"hello chunked world")
        self.assertEqual(r.getheader("X-Body-Bytes"), "19")
        c.close()
        s = self.srv.sock()
        s.sendall(b"POST /_test/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"3;ext=1\r\nabc\r\n0\r\nTrailer: x\r\n\r\n" + REQ)
        rd = Reader(s)
        self.assertEqual(rd.response()[2], b"abc")
        self.assertEqual(rd.response()[0], 200)
        s.close()

    def test_expect_100_continue(self):
        s = self.srv.sock()
        s.sendall(b"POST /_test/echo HTTP/1.1\r\nContent-Length: 5\r\n"
                  b"Expect: 100-continue\r\n\r\n")
        rd = Reader(s)
        self.assertEqual(rd.response()[0], 100)
        s.sendall(b"hello")
        status, _, body = rd.response()
        self.assertEqual((status, body), (200, b"hello"))
        s.close()

    # ---- limits ----------------------------------------------------------------------------

    def expect_final_error(self, data, status, kind):
        s = self.srv.sock()
        s.sendall(data)
        rd = Reader(s)
        st, h, body = rd.response()
        self.assertEqual(st, status)
        self.assertEqual(self.error_kind(body), kind)
        self.assertEqual(h.get("connection"), "close")
        self.assertTrue(rd.closed())
        s.close()
        self.healthy()

    def test_headers_too_large_431(self):
        self.expect_final_error(b"GET /healthz HTTP/1.1\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n",
                                431, "headers_too_large")
        self.expect_final_error(b"GET /" + b"p" * 5000 + b" HTTP/1.1\r\n\r\n",
                                431, "headers_too_large")

    def test_too_many_headers_431(self):
        hdrs = b"".join(b"X-H%d: v\r\n" % i for i in range(40))
        self.expect_final_error(b"GET /healthz HTTP/1.1\r\n" + hdrs + b"\r\n",
                                431, "headers_too_large")

    def test_body_too_large_413(self):
        self.expect_final_error(b"POST /_test/echo HTTP/1.1\r\nContent-Length: 2000000\r\n\r\n",
                                413, "body_too_large")
        chunk = b"%x\r\n" % 300000 + b"z" * 300000 + b"\r\n"
        s = self.srv.sock()
        s.sendall(b"POST /_test/echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n")
        rd = Reader(s)
        try:
            for _ in range(5):
                s.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        st, _, body = rd.response()
        self.assertEqual((st, self.error_kind(body)), (413, "body_too_large"))
        s.close()
        self.healthy()

    def test_malformed_400_with_envelope(self):
        for junk in [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nBad Header\r\n\r\n",
                     b"POST /_test/echo HTTP/1.1\r\nContent-Length: 3\r\n"
                     b"Transfer-Encoding: chunked\r\n\r\n",
                     b"POST /_test/echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
                     b"GET /healthz HTTP/1.1\r\nHost: a\x00b\r\n\r\n"]:
            with self.subTest(junk=junk):
                self.expect_final_error(junk, 400, "malformed_request")

    def test_header_timeout_408_and_slowloris(self):
        socks = []
        for _ in range(20):
            s = self.srv.sock()
            s.sendall(b"GET /healthz HTTP/1.1\r\n")
            socks.append(s)
        t0 = time.monotonic()
        # Drip a byte now and then: progress must not extend the header deadline.
        for _ in range(3):
            time.sleep(0.1)
            for s in socks:
                s.sendall(b"X")
        for s in socks:
            rd = Reader(s)
            st, h, body = rd.response()
            self.assertEqual((st, self.error_kind(body)), (408, "timeout"))
            self.assertTrue(rd.closed())
            s.close()
        self.assertLess(time.monotonic() - t0, 3.0)
        self.healthy()

    def test_idle_keep_alive_is_closed(self):
        s = self.srv.sock()
        s.sendall(REQ)
        rd = Reader(s)
        self.assertEqual(rd.response()[0], 200)
        t0 = time.monotonic()
        self.assertTrue(rd.closed(timeout=5))
        self.assertGreater(time.monotonic() - t0, 1.0)
        s.close()
        self.healthy()

    def test_client_that_stops_reading_is_cut_off(self):
        s = self.srv.sock()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall(b"GET /_test/big/60000000 HTTP/1.1\r\n\r\n")
        time.sleep(1.5)  # the write timeout is 500 ms
        got = 0
        s.settimeout(5)
        try:
            while True:
                d = s.recv(1 << 20)
                if not d:
                    break
                got += len(d)
        except ConnectionResetError:
            pass
        self.assertLess(got, 60000000)
        s.close()
        self.healthy()

    # ---- hostile and odd clients -----------------------------------------------------------

    def test_half_closed_client_gets_its_response(self):
        s = self.srv.sock()
        s.sendall(REQ + REQ)
        s.shutdown(socket.SHUT_WR)
        rd = Reader(s)
        self.assertEqual(rd.response()[0], 200)
        self.assertEqual(rd.response()[0], 200)
        self.assertTrue(rd.closed())
        s.close()
        self.healthy()

    def test_reset_connections(self):
        # Reset mid-head, mid-body, while a handler is pending and while a big response flows.
        for data in [b"GET /hea", b"POST /_test/echo HTTP/1.1\r\nContent-Length: 100\r\n\r\nab",
                     b"GET /_test/delay/100 HTTP/1.1\r\n\r\n",
                     b"GET /_test/big/20000000 HTTP/1.1\r\n\r\n"]:
            s = self.srv.sock()
            s.sendall(data)
            time.sleep(0.02)
            rst_close(s)
        time.sleep(0.2)
        self.healthy()
        # Connect-and-vanish without a byte.
        for _ in range(50):
            rst_close(self.srv.sock())
        self.healthy()

    def test_garbage_storm(self):
        rnd = os.urandom(64 * 1024)
        for i in range(20):
            s = self.srv.sock()
            try:
                s.sendall(rnd[i * 1000:(i + 1) * 3000])
                Reader(s).closed(timeout=2)
            except (ConnectionResetError, BrokenPipeError):
                pass
            s.close()
        self.healthy()

    def test_10k_connections(self):
        t0 = time.monotonic()
        for _ in range(10):
            socks = []
            for _ in range(1000):
                # Send at once: a fresh connection has the header timeout (400 ms here).
                s = self.srv.sock()
                s.sendall(b"GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n")
                socks.append(s)
            for s in socks:
                self.assertEqual(Reader(s).response()[0], 200)
                s.close()
        self.assertLess(time.monotonic() - t0, 30)
        self.healthy()


class HttpLifecycleTest(unittest.TestCase):
    def test_connection_cap_refuses_cleanly(self):
        srv = Server("--max-connections", "20", workers=1)
        try:
            time.sleep(0.3)  # let the start-up probe's connection close on the server side
            held = [srv.sock() for _ in range(20)]
            for s in held:
                s.sendall(REQ)
                self.assertEqual(Reader(s).response()[0], 200)
            extra = srv.sock()
            rd = Reader(extra)
            st, _, body = rd.response()
            self.assertEqual((st, json.loads(body)["error"]["kind"]),
                             (503, "capacity_exhausted"))
            extra.close()
            for s in held:
                s.close()
            time.sleep(0.2)
            self.assertEqual(srv.get("/healthz")[0], 200)
        finally:
            self.assertEqual(srv.stop(), 0)

    def test_sigterm_finishes_in_flight_then_exits_0(self):
        srv = Server(workers=2)
        s = srv.sock()
        s.sendall(b"GET /_test/delay/300 HTTP/1.1\r\n\r\n")
        idle = srv.sock()
        idle.sendall(REQ)
        Reader(idle).response()
        time.sleep(0.05)
        t0 = time.monotonic()
        srv.proc.send_signal(signal.SIGTERM)
        rd = Reader(s)
        st, h, body = rd.response()
        self.assertEqual((st, h.get("connection")), (200, "close"))
        self.assertEqual(srv.stop(), 0)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertTrue(Reader(idle).closed(timeout=1))
        s.close()
        idle.close()

    def test_bad_listen_address_fails_cleanly(self):
        r = subprocess.run([BINARY, "serve", "--listen", "nonsense"], capture_output=True,
                           timeout=10)
        self.assertNotEqual(r.returncode, 0)
        port = free_port()
        blocker = socket.socket()
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        try:
            r = subprocess.run([BINARY, "serve", "--listen", "127.0.0.1:%d" % port,
                                "--workers", "1"], capture_output=True, timeout=10)
            self.assertNotEqual(r.returncode, 0)
            self.assertIn(b"cannot listen", r.stderr)
        finally:
            blocker.close()


if __name__ == "__main__":
    unittest.main()
