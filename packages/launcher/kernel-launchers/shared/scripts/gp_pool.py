"""gp warm pools, kernel side: a pooled pod's launcher waits for one claim before it becomes a kernel.

A pooled pod starts the launcher with ``GP_POOL_CLAIM_TOKEN`` (from a Secret the host created for this pod
alone) and ``GP_POOL_CLAIM_PORT``. The launcher starts the kernel process at once, which imports the
kernel's modules (ipykernel, IPython) and then waits; the launcher holds no kernel key and opens no kernel
port. It serves the claim port until one valid claim arrives (protocol: packages/launcher/src/pool/README.md):

    pod  -> {"gp_claim":1,"nonce":N}\\n
    host -> {"body":B,"mac":hex(HMAC-SHA256(token, "gp-claim-v1\\n"+N+"\\n"+B))}  then EOF
    pod  -> {"ok":true,"mac":hex(HMAC-SHA256(token, "gp-claim-ok\\n"+N))}  or {"ok":false,"error":...}

``B`` is JSON: ``kernel_id``, ``response_address``, ``public_key``, ``response_versions``. A claim with a bad
MAC (wrong token, an answer to another nonce: a replay) is refused and the pod keeps waiting; the first valid
claim wins, the claim port is closed, and from then on the launcher is exactly a cold one (``gp_launcher.run``).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import socket
import subprocess
import threading
import time
from typing import Callable, List, Optional

import gp_launcher
from gp_launcher import LauncherError, log

CLAIM_TOKEN_ENV = "GP_POOL_CLAIM_TOKEN"
CLAIM_PORT_ENV = "GP_POOL_CLAIM_PORT"
CLAIM_MAC_PREFIX = b"gp-claim-v1\n"
CLAIM_OK_PREFIX = b"gp-claim-ok\n"
MAX_CLAIM_BYTES = 8192
CLAIM_READ_TIMEOUT = 5.0
MAX_CLAIM_CONNECTIONS = 16
_KERNEL_ID_RE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
_VERSIONS_RE = re.compile(r"^\d+(,\d+)*$")


class PoolSettings:
    def __init__(self, token: bytes, port: int) -> None:
        self.token = token
        self.port = port


def pool_settings() -> Optional[PoolSettings]:
    """The claim settings of a pooled pod, or None (a cold launch). Removes the token from the environment,
    so no process started from here (the kernel runs user code) ever sees it."""
    token = os.environ.pop(CLAIM_TOKEN_ENV, None)
    if token is None or not token.strip():
        return None
    raw_port = os.environ.pop(CLAIM_PORT_ENV, "").strip()
    try:
        port = int(raw_port)
    except ValueError:
        raise LauncherError(f"Invalid {CLAIM_PORT_ENV} '{raw_port}': expected a port number (1..65535).")
    if not 0 < port < 65536:
        raise LauncherError(f"Invalid {CLAIM_PORT_ENV} '{raw_port}': expected a port number (1..65535).")
    if len(token.strip()) < 32:
        raise LauncherError(f"{CLAIM_TOKEN_ENV} is too short (at least 32 characters); the host writes a random one.")
    return PoolSettings(token.strip().encode("utf-8"), port)


def claim_mac(token: bytes, nonce: str, body: str) -> str:
    return hmac.new(token, CLAIM_MAC_PREFIX + nonce.encode() + b"\n" + body.encode("utf-8"), hashlib.sha256).hexdigest()


def check_claim(body: dict) -> dict:
    """The claim's fields, checked; raises ValueError naming the bad one."""
    kernel_id = body.get("kernel_id")
    if not isinstance(kernel_id, str) or not _KERNEL_ID_RE.match(kernel_id):
        raise ValueError("bad kernel_id")
    address = body.get("response_address")
    if not isinstance(address, str):
        raise ValueError("bad response_address")
    try:
        gp_launcher.parse_response_address(address)
    except LauncherError:
        raise ValueError("bad response_address")
    key = body.get("public_key")
    if not isinstance(key, str) or len(key) > 4096:
        raise ValueError("bad public_key")
    try:
        base64.b64decode(key, validate=True)
    except ValueError:
        raise ValueError("bad public_key")
    versions = body.get("response_versions", "")
    if not isinstance(versions, str) or (versions and not _VERSIONS_RE.match(versions)):
        raise ValueError("bad response_versions")
    return {"kernel_id": kernel_id, "response_address": address, "public_key": key, "response_versions": versions}


class ClaimServer:
    """Serves the claim port until one valid claim arrives; ``wait()`` returns it."""

    def __init__(self, token: bytes, port: int) -> None:
        self.token = token
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self.sock.bind(("0.0.0.0", port))  # noqa: S104 - the host reaches the pod from outside
        except OSError as err:
            self.sock.close()
            raise LauncherError(f"Cannot listen on the claim port {port}: {err}")
        self.sock.listen(16)
        self.sock.settimeout(0.5)
        self._lock = threading.Lock()
        self._claim: Optional[dict] = None
        self._done = threading.Event()
        self._open = 0

    @property
    def port(self) -> int:
        return self.sock.getsockname()[1]

    def serve(self, keep_waiting: Callable[[], bool]) -> Optional[dict]:
        """Accepts connections until a claim is taken (returned) or ``keep_waiting()`` turns false (None)."""
        threading.Thread(target=self._accept, name="gp-claim", daemon=True).start()
        while not self._done.wait(0.2):
            if not keep_waiting():
                break
        self._done.set()
        try:
            self.sock.close()
        except OSError:
            pass
        return self._claim

    def _accept(self) -> None:
        while not self._done.is_set():
            try:
                conn, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            with self._lock:
                if self._open >= MAX_CLAIM_CONNECTIONS:
                    conn.close()
                    continue
                self._open += 1
            threading.Thread(target=self._handle, args=(conn, addr), daemon=True).start()

    def _handle(self, conn: socket.socket, addr) -> None:
        try:
            conn.settimeout(CLAIM_READ_TIMEOUT)
            nonce = secrets.token_hex(16)
            conn.sendall(json.dumps({"gp_claim": 1, "nonce": nonce}).encode() + b"\n")
            raw = b""
            deadline = time.monotonic() + CLAIM_READ_TIMEOUT
            while len(raw) <= MAX_CLAIM_BYTES and time.monotonic() < deadline:
                chunk = conn.recv(4096)
                if not chunk:
                    break
                raw += chunk
            if not raw.strip():
                return  # a readiness probe: hello read, nothing claimed
            if len(raw) > MAX_CLAIM_BYTES:
                self._refuse(conn, addr, "claim too large")
                return
            try:
                msg = json.loads(raw.decode("utf-8"))
                body, mac = msg["body"], msg["mac"]
                if not isinstance(body, str) or not isinstance(mac, str):
                    raise ValueError
            except (ValueError, KeyError, TypeError, UnicodeDecodeError):
                self._refuse(conn, addr, "malformed claim")
                return
            if not hmac.compare_digest(claim_mac(self.token, nonce, body), mac):
                self._refuse(conn, addr, "authentication failed")
                return
            try:
                parsed = json.loads(body)
                if not isinstance(parsed, dict):
                    raise ValueError("not an object")
                claim = check_claim(parsed)
            except ValueError as err:
                self._refuse(conn, addr, f"invalid claim: {err}")
                return
            with self._lock:
                if self._claim is not None or self._done.is_set():
                    taken = True
                else:
                    taken = False
                    self._claim = claim
            if taken:
                self._refuse(conn, addr, "already claimed")
                return
            ok = hmac.new(self.token, CLAIM_OK_PREFIX + nonce.encode(), hashlib.sha256).hexdigest()
            try:
                conn.sendall(json.dumps({"ok": True, "mac": ok}).encode() + b"\n")
            except OSError:
                pass
            log.info("Claimed for kernel %s", claim["kernel_id"])
            self._done.set()
        except (OSError, ValueError) as err:
            log.debug("Claim connection from %s ended: %s", addr[0], err)
        finally:
            with self._lock:
                self._open -= 1
            try:
                conn.close()
            except OSError:
                pass

    @staticmethod
    def _refuse(conn: socket.socket, addr, error: str) -> None:
        log.warning("Refused a claim from %s: %s", addr[0], error)
        try:
            conn.sendall(json.dumps({"ok": False, "error": error}).encode() + b"\n")
        except OSError:
            pass


def run_pooled(settings: PoolSettings, port_range: str, response_version: Optional[int],
               kernel_command: Callable[[str], List[str]], spark_interrupt: bool = False,
               extra_env: Optional[dict] = None, transport_encryption: Optional[str] = None,
               curve_unsupported: Optional[Callable[[], Optional[str]]] = None) -> int:
    """Starts the kernel process (which imports its modules and waits), waits for a claim, then runs as a cold
    launcher would with the claim's kernel id, response address and key. ``kernel_command("-")`` must start a
    kernel that reads its connection file name (and environment updates) as one JSON line from stdin."""
    gp_launcher.parse_port_range(port_range)  # fail now, not at the claim
    gp_launcher.crypto_backend()
    env = dict(os.environ)
    env.update(extra_env or {})
    env.pop("GP_LAUNCHER_CRYPTO", None)
    waiting = subprocess.Popen(kernel_command("-"), env=env, stdin=subprocess.PIPE)
    server = ClaimServer(settings.token, settings.port)
    log.info("Pooled: kernel process %s importing; waiting for a claim on port %s", waiting.pid, server.port)
    claim = server.serve(lambda: waiting.poll() is None)
    settings.token = b""
    if claim is None:
        code = waiting.wait()
        raise LauncherError(f"The waiting kernel process exited ({code}) before the pod was claimed.")

    kernel_id = claim["kernel_id"]
    os.environ["KERNEL_ID"] = kernel_id
    if claim["response_versions"]:
        os.environ["GP_RESPONSE_VERSIONS"] = claim["response_versions"]
    handoff_env = {"KERNEL_ID": kernel_id}

    def hand_over(connection_file: str, _cmd: List[str], _env: dict) -> subprocess.Popen:
        assert waiting.stdin is not None
        try:
            waiting.stdin.write(json.dumps({"connection_file": connection_file, "env": handoff_env}).encode() + b"\n")
            waiting.stdin.close()
        except OSError as err:
            raise LauncherError(f"The waiting kernel process is gone: {err}")
        return waiting

    return gp_launcher.run(
        kernel_id=kernel_id,
        response_address=claim["response_address"],
        public_key=claim["public_key"],
        port_range=port_range,
        response_version=response_version,
        kernel_command=kernel_command,
        spark_interrupt=spark_interrupt,
        extra_env=extra_env,
        transport_encryption=transport_encryption,
        curve_unsupported=curve_unsupported,
        start_kernel=hand_over,
    )
