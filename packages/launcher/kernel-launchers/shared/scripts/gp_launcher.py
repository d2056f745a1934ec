"""gp kernel launcher support: the part of a kernel image that talks to the gp host.

A launcher built on this module
  1. picks the kernel's five ZeroMQ ports (within ``--port-range``) and binds its comm port,
  2. writes a Jupyter connection file and starts the kernel as a child process,
  3. sends the connection information, encrypted, to the host's ``--response-address``,
  4. serves the comm port (signals, shutdown) from this process, which never runs user code, so a
     busy kernel still gets its interrupts,
  5. exits with the kernel's exit status.

Response payloads (see packages/core/src/protocol/README.md in the gp repository):
  version 2 (default): RSA-OAEP-SHA256 wraps an AES-256-GCM key; the kernel id is authenticated
            data; the connection information carries a fresh ``comm_secret`` and every comm request
            must then be authenticated with it (challenge + HMAC-SHA256).
  version 1 (``--response-version 1``): the Gateway Provisioners / Enterprise Gateway format
            (RSA PKCS#1 v1.5 + AES-128-ECB), for hosts that only know it. The comm port then takes
            the reference's plain, unauthenticated JSON requests, as those hosts send them.

Needs Python 3.9+ and, for the encryption, the ``cryptography`` package (preferred) or
``pycryptodomex``. Nothing else: no jupyter_client, no pyzmq in this process.
"""
from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import logging
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from typing import Callable, List, Optional, Tuple

LAUNCHER_VERSION = 2
COMM_MAC_PREFIX = b"gp-comm-v2\n"
RESPONSE_V2_AAD_PREFIX = "gp-response-v2\n"
RESPONSE_ACK_PREFIX = b"gp-response-ack\n"
MAX_ACK_BYTES = 1024
MAX_COMM_REQUEST_BYTES = 4096
COMM_CONNECTION_TIMEOUT = 5.0
COMM_IDLE_TIMEOUT = float(os.getenv("GP_COMM_IDLE_TIMEOUT", "2"))
MAX_COMM_CONNECTIONS = 16
MAX_COMM_CONNECTIONS_PER_SOURCE = int(os.getenv("GP_COMM_MAX_PER_SOURCE", "4"))

_level = os.getenv("LOG_LEVEL", "INFO")
logging.basicConfig(
    format="[%(levelname)1.1s %(asctime)s.%(msecs)03d %(name)s] %(message)s",
    datefmt="%Y-%m-%d %H:%M:%S",
)
log = logging.getLogger("gp_launcher")
log.setLevel(int(_level) if _level.isdigit() else _level.upper())


class LauncherError(RuntimeError):
    """A launch cannot proceed; the message says what to fix."""


# --------------------------------------------------------------------------- arguments


SUPPORTED_RESPONSE_VERSIONS = (2, 1)  # what this launcher can send, preferred first


def _default_response_version() -> Optional[int]:
    """The explicit override (``RESPONSE_VERSION``), or None: the version is then negotiated."""
    value = (os.getenv("RESPONSE_VERSION") or os.getenv("GP_RESPONSE_VERSION") or "").strip()
    if not value:
        return None
    if value not in ("1", "2"):
        raise LauncherError(f"Invalid RESPONSE_VERSION '{value}': expected 1 or 2.")
    return int(value)


def host_response_versions() -> Optional[List[int]]:
    """The payload versions the host announced in ``GP_RESPONSE_VERSIONS`` (e.g. ``2,1``), or None.

    Only gp hosts set it; the reference's hosts and launchers never read or write it."""
    raw = os.getenv("GP_RESPONSE_VERSIONS")
    if raw is None or not raw.strip():
        return None
    versions = []
    for part in raw.split(","):
        part = part.strip()
        if not part.isdigit():
            raise LauncherError(f"Invalid GP_RESPONSE_VERSIONS '{raw}': expected a comma-separated list of "
                                "payload versions such as '2,1'.")
        versions.append(int(part))
    return versions


def negotiate_response_version(explicit: Optional[int]) -> Tuple[int, str]:
    """The payload version to send and why: the override, the best one the host announced, else version 1.

    A host that announces nothing is taken for a reference (Gateway Provisioners / Enterprise Gateway) host,
    which reads version 1 only (it rejects anything else with "Unexpected version indicator")."""
    if explicit is not None:
        return explicit, "RESPONSE_VERSION override"
    announced = host_response_versions()
    if announced is None:
        return 1, "no GP_RESPONSE_VERSIONS from the host: reference host assumed"
    for version in SUPPORTED_RESPONSE_VERSIONS:
        if version in announced:
            return version, "host reads " + ",".join(str(v) for v in announced)
    raise LauncherError(f"The host reads payload versions {','.join(str(v) for v in announced)} "
                        f"(GP_RESPONSE_VERSIONS); this launcher sends 1 or 2. Update the kernel image.")


def build_arg_parser(description: str, kernel_class: bool) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--response-address", dest="response_address", metavar="<ip>:<port>",
                   help="where to send the connection information (required)")
    p.add_argument("--kernel-id", dest="kernel_id", help="the kernel's id (required)")
    p.add_argument("--public-key", dest="public_key",
                   help="the host's RSA public key, base64 DER SubjectPublicKeyInfo (required)")
    p.add_argument("--port-range", dest="port_range", default="0..0", metavar="<lower>..<upper>",
                   help="ports the kernel may use; 0..0 means any (default)")
    p.add_argument("--spark-context-initialization-mode", dest="init_mode", default="none",
                   choices=["lazy", "eager", "none"], help="Spark session creation (default none)")
    p.add_argument("--cluster-type", dest="cluster_type", default="spark", choices=["spark", "dask", "none"],
                   help="the cluster to initialize when a Spark mode is set (default spark)")
    p.add_argument("--response-version", dest="response_version", type=int, choices=[1, 2],
                   default=_default_response_version(),
                   help="payload version override: 2 (gp hosts) or 1 (Gateway Provisioners / Enterprise Gateway); "
                        "default: negotiated from GP_RESPONSE_VERSIONS, 1 when the host announces nothing")
    p.add_argument("--transport-encryption", dest="transport_encryption",
                   default=os.getenv("TRANSPORT_ENCRYPTION") or None,
                   help="CurveZMQ policy asked for by the host: 'auto' or 'required' provision a key pair for the "
                        "kernel's sockets; empty, 'disabled' or an unfilled placeholder do not (default: "
                        "TRANSPORT_ENCRYPTION)")
    if kernel_class:
        p.add_argument("--kernel-class-name", dest="kernel_class_name",
                       default="ipykernel.ipkernel.IPythonKernel",
                       help="the kernel class (default ipykernel.ipkernel.IPythonKernel)")
    return p


def check_required(args: argparse.Namespace) -> None:
    missing = [f"--{n.replace('_', '-')}" for n in ("response_address", "kernel_id", "public_key")
               if not getattr(args, n)]
    if missing:
        raise LauncherError(f"Missing required argument(s): {', '.join(missing)}.")


def parse_port_range(port_range: Optional[str]) -> Tuple[int, int]:
    if not port_range or port_range.strip() in ("", "0..0"):
        return 0, 0
    min_size = int(os.getenv("MIN_PORT_RANGE_SIZE", os.getenv("EG_MIN_PORT_RANGE_SIZE", "1000")))
    try:
        lower_s, upper_s = port_range.split("..")
        lower, upper = int(lower_s), int(upper_s)
    except ValueError:
        raise LauncherError(f"Invalid --port-range '{port_range}': expected <lower>..<upper>, e.g. 40000..41000.")
    if not (0 < lower < upper < 65536):
        raise LauncherError(f"Invalid --port-range '{port_range}': expected 0 < lower < upper < 65536.")
    if upper - lower < min_size:
        raise LauncherError(f"Invalid --port-range '{port_range}': it must span at least {min_size} ports "
                            f"(MIN_PORT_RANGE_SIZE).")
    return lower, upper


def parse_response_address(address: str) -> Tuple[str, int]:
    host, sep, port = address.rpartition(":")
    host = host.strip("[]")
    if not sep or not host:
        raise LauncherError(f"Invalid --response-address '{address}': expected <ip>:<port>.")
    try:
        port_n = int(port)
    except ValueError:
        raise LauncherError(f"Invalid --response-address '{address}': the port is not a number.")
    if not 0 < port_n < 65536:
        raise LauncherError(f"Invalid --response-address '{address}': the port is out of range.")
    return host, port_n


# --------------------------------------------------------------------------- ports


def _bind_in_range(lower: int, upper: int) -> socket.socket:
    retries = int(os.getenv("MAX_PORT_RANGE_RETRIES", "5"))
    attempt = 0
    while True:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        port = 0 if upper == 0 else random.randint(lower, upper)
        try:
            sock.bind(("0.0.0.0", port))  # noqa: S104 - the kernel is reached from outside its pod
            return sock
        except OSError as err:
            sock.close()
            attempt += 1
            if attempt > retries:
                raise LauncherError(f"No free port within {lower}..{upper} after {retries} retries: {err}")


def select_ports(lower: int, upper: int) -> Tuple[List[int], socket.socket]:
    """Five ports for the kernel (released for it to bind) and the comm socket (kept bound)."""
    socks = [_bind_in_range(lower, upper) for _ in range(5)]
    comm = _bind_in_range(lower, upper)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports, comm


# --------------------------------------------------------------------------- transport encryption

Z85_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"


def z85_encode(data: bytes) -> str:
    """ZeroMQ's Z85 (RFC 32/Z85): 4 bytes -> 5 characters; the length must be a multiple of 4."""
    if len(data) % 4:
        raise ValueError("Z85 needs a multiple of 4 bytes")
    out = []
    for i in range(0, len(data), 4):
        value = int.from_bytes(data[i:i + 4], "big")
        chunk = []
        for _ in range(5):
            value, rem = divmod(value, 85)
            chunk.append(Z85_ALPHABET[rem])
        out.extend(reversed(chunk))
    return "".join(out)


def transport_encryption_policy(value: Optional[str]) -> Optional[str]:
    """'auto' or 'required' when the host asked for CurveZMQ keys, else None.

    Empty, 'disabled' and an unfilled '{transport_encryption}' placeholder (an older host) mean no; an unknown
    value is logged and means no, as the reference's launcher does."""
    if not value:
        return None
    policy = value.strip().lower()
    if not policy or policy == "disabled" or (policy.startswith("{") and policy.endswith("}")):
        return None
    if policy not in ("auto", "required"):
        log.warning("Unrecognized --transport-encryption value '%s': continuing without transport encryption.", value)
        return None
    return policy


def curve_keypair() -> Tuple[str, str]:
    """A fresh CurveZMQ key pair (X25519), Z85-encoded: ``cryptography`` if present, else pyzmq."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
        private = X25519PrivateKey.generate()
        raw = serialization.Encoding.Raw
        secret = private.private_bytes(raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
        public = private.public_key().public_bytes(raw, serialization.PublicFormat.Raw)
        return z85_encode(public), z85_encode(secret)
    except ImportError:
        import zmq  # the kernel's own dependency
        public_b, secret_b = zmq.curve_keypair()
        return public_b.decode("ascii"), secret_b.decode("ascii")


def provision_curve_keys(policy: Optional[str], kernel_unsupported: Optional[str]) -> Optional[Tuple[str, str]]:
    """The kernel's key pair when the host asked for encryption and the kernel can use it.

    ``kernel_unsupported`` is why this kernel cannot (None when it can). Under 'required' that, or a failure
    to generate keys, fails the launch before anything starts; under 'auto' it is a warning and the kernel
    runs in the clear (the host then sees no keys and warns too)."""
    if policy is None:
        return None
    reason = kernel_unsupported
    keys = None
    if reason is None:
        try:
            keys = curve_keypair()
        except Exception as err:  # noqa: BLE001 - any failure is a reason to report
            reason = f"CurveZMQ keys could not be generated: {err}"
    if reason is not None:
        if policy == "required":
            raise LauncherError(f"Transport encryption is 'required' but cannot be applied: {reason}.")
        log.warning("Transport encryption requested but cannot be applied: %s. Continuing without transport "
                    "encryption since the policy is 'auto'.", reason)
        return None
    log.info("Transport encryption: CurveZMQ (policy %s); a fresh key pair for this launch", policy)
    return keys


def write_connection_file(kernel_id: str, ports: List[int],
                          curve_keys: Optional[Tuple[str, str]] = None) -> Tuple[str, dict]:
    info = {
        "shell_port": ports[0],
        "iopub_port": ports[1],
        "stdin_port": ports[2],
        "hb_port": ports[3],
        "control_port": ports[4],
        "ip": "0.0.0.0",  # noqa: S104
        "key": str(uuid.uuid4()),
        "transport": "tcp",
        "signature_scheme": "hmac-sha256",
        "kernel_name": "",
    }
    if curve_keys is not None:
        # The kernel's sockets become CurveZMQ servers with this pair (ipykernel >= 7.3 reads it from the file).
        info["curve_publickey"], info["curve_secretkey"] = curve_keys
    fd, path = tempfile.mkstemp(suffix=".json", prefix=f"kernel-{kernel_id}_")
    with os.fdopen(fd, "w") as f:  # mkstemp creates it 0600
        json.dump(info, f, indent=2)
    return path, info


# --------------------------------------------------------------------------- payloads


class _CryptographyBackend:
    name = "cryptography"

    def __init__(self) -> None:
        from cryptography.hazmat.primitives import hashes, padding, serialization  # noqa: F401
        from cryptography.hazmat.primitives.asymmetric import padding as asym  # noqa: F401
        from cryptography.hazmat.primitives.ciphers import Cipher  # noqa: F401

    def _public_key(self, der: bytes):
        from cryptography.hazmat.primitives import serialization
        return serialization.load_der_public_key(der)

    def v1(self, der: bytes, aes_key: bytes, plaintext: bytes) -> Tuple[bytes, bytes]:
        from cryptography.hazmat.primitives import padding
        from cryptography.hazmat.primitives.asymmetric import padding as asym
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plaintext) + padder.finalize()
        enc = Cipher(algorithms.AES(aes_key), modes.ECB()).encryptor()  # noqa: S305 - the v1 wire format
        body = enc.update(padded) + enc.finalize()
        return self._public_key(der).encrypt(aes_key, asym.PKCS1v15()), body

    def v2(self, der: bytes, aes_key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> Tuple[bytes, bytes]:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding as asym
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        wrapped = self._public_key(der).encrypt(
            aes_key, asym.OAEP(mgf=asym.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None))
        return wrapped, AESGCM(aes_key).encrypt(nonce, plaintext, aad)


class _CryptodomeBackend:
    name = "pycryptodomex"

    def __init__(self) -> None:
        from Cryptodome.Cipher import AES  # noqa: F401

    def v1(self, der: bytes, aes_key: bytes, plaintext: bytes) -> Tuple[bytes, bytes]:
        from Cryptodome.Cipher import AES, PKCS1_v1_5
        from Cryptodome.PublicKey import RSA
        from Cryptodome.Util.Padding import pad
        body = AES.new(aes_key, AES.MODE_ECB).encrypt(pad(plaintext, 16))
        return PKCS1_v1_5.new(RSA.import_key(der)).encrypt(aes_key), body

    def v2(self, der: bytes, aes_key: bytes, nonce: bytes, plaintext: bytes, aad: bytes) -> Tuple[bytes, bytes]:
        from Cryptodome.Cipher import AES, PKCS1_OAEP
        from Cryptodome.Hash import SHA256
        from Cryptodome.PublicKey import RSA
        wrapped = PKCS1_OAEP.new(RSA.import_key(der), hashAlgo=SHA256).encrypt(aes_key)
        cipher = AES.new(aes_key, AES.MODE_GCM, nonce=nonce, mac_len=16)
        cipher.update(aad)
        body, tag = cipher.encrypt_and_digest(plaintext)
        return wrapped, body + tag


def crypto_backend():
    """``cryptography`` if importable, else ``pycryptodomex`` (GP_LAUNCHER_CRYPTO forces one)."""
    wanted = os.getenv("GP_LAUNCHER_CRYPTO", "").strip().lower()
    candidates = [_CryptographyBackend, _CryptodomeBackend]
    if wanted:
        candidates = [c for c in candidates if c.name == wanted]
    for backend in candidates:
        try:
            return backend()
        except ImportError:
            continue
    raise LauncherError("No cryptography library: install 'cryptography' (preferred) or 'pycryptodomex' in the "
                        "kernel image.")


def encode_payload(version: int, info: dict, kernel_id: str, public_key_b64: str) -> bytes:
    return encode_payload_with_key(version, info, kernel_id, public_key_b64)[0]


def encode_payload_with_key(version: int, info: dict, kernel_id: str, public_key_b64: str) -> Tuple[bytes, bytes]:
    """The payload and its symmetric key (which keys the host's acknowledgement)."""
    backend = crypto_backend()
    try:
        der = base64.b64decode(public_key_b64, validate=True)
    except ValueError:
        raise LauncherError("Invalid --public-key: expected base64 (a PEM body without header lines).")
    plaintext = json.dumps(info).encode("utf-8")
    if version == 1:
        aes_key = os.urandom(16)
        wrapped, body = backend.v1(der, aes_key, plaintext)
        envelope = {"version": 1, "key": base64.b64encode(wrapped).decode(),
                    "conn_info": base64.b64encode(body).decode()}
    else:
        nonce = os.urandom(12)
        aad = (RESPONSE_V2_AAD_PREFIX + kernel_id).encode("utf-8")
        aes_key = os.urandom(32)
        wrapped, body = backend.v2(der, aes_key, nonce, plaintext, aad)
        envelope = {"version": 2, "kernel_id": kernel_id, "key": base64.b64encode(wrapped).decode(),
                    "nonce": base64.b64encode(nonce).decode(), "conn_info": base64.b64encode(body).decode()}
    log.debug("Response payload version %s encrypted with %s", version, backend.name)
    return base64.b64encode(json.dumps(envelope).encode("utf-8")), aes_key


def expected_ack(aes_key: bytes, kernel_id: str) -> str:
    """The MAC a gp host acknowledges a payload with: hex HMAC-SHA256(key, "gp-response-ack\\n" + kernel_id)."""
    return hmac.new(aes_key, RESPONSE_ACK_PREFIX + kernel_id.encode("utf-8"), hashlib.sha256).hexdigest()


def ack_policy(version: int, host_is_gp: Optional[bool] = None) -> str:
    """``required`` (only a valid acknowledgement ends the delivery) or ``auto`` (also a clean close).

    The default is ``required`` when the host announced its versions (only gp hosts do, and they all ack) or
    for version 2 (only gp hosts read it), else ``auto`` (a reference host reads and closes)."""
    if host_is_gp is None:
        host_is_gp = host_response_versions() is not None
    default = "required" if host_is_gp or version == 2 else "auto"
    value = (os.getenv("GP_RESPONSE_ACK") or default).strip().lower()
    if value not in ("required", "auto"):
        raise LauncherError(f"Invalid GP_RESPONSE_ACK '{value}': expected required or auto.")
    return value


def _deliver_once(host: str, port: int, payload: bytes, timeout: float) -> Tuple[str, bytes]:
    """One attempt: ("reply", bytes) when the host closed cleanly after its reply (possibly empty), or
    ("failed", b"") when the connection was refused, reset or timed out."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            s.sendall(payload)
            s.shutdown(socket.SHUT_WR)
            reply = b""
            while len(reply) <= MAX_ACK_BYTES:
                chunk = s.recv(1024)
                if not chunk:
                    return "reply", reply
                reply += chunk
            return "failed", b""
    except OSError as err:  # refused, reset (a full or hostile host), timeout
        log.warning("Delivery attempt to %s:%s failed: %s", host, port, err)
        return "failed", b""


def send_payload(address: str, payload: bytes, aes_key: Optional[bytes] = None, kernel_id: str = "",
                 policy: str = "auto") -> str:
    """Sends the payload until the host acknowledges it (see the protocol README, "Acknowledgement").

    A gp host answers an accepted payload with ``{"gp_ack":1,"mac":...}\\n``; a reference host reads and
    closes without a word. With ``policy="required"`` only a valid acknowledgement ends the delivery;
    with ``"auto"`` a clean close after the payload was read also does (the reference's behaviour),
    while refusals, resets and timeouts are retried. The same bytes are resent on every attempt, so a
    host that accepted a payload whose acknowledgement got lost recognises it and acknowledges again.
    Retries until ``GP_RESPONSE_CONNECT_TIMEOUT`` seconds (60) have passed. Returns "acknowledged" or
    "closed" (auto only); raises LauncherError.
    """
    host, port = parse_response_address(address)
    budget = float(os.getenv("GP_RESPONSE_CONNECT_TIMEOUT", "60"))
    deadline = time.monotonic() + budget
    want = expected_ack(aes_key, kernel_id) if aes_key is not None else None
    delay = 0.25
    attempts = 0
    while True:
        attempts += 1
        attempt_timeout = max(1.0, min(10.0, deadline - time.monotonic()))
        outcome, reply = _deliver_once(host, port, payload, attempt_timeout)
        if outcome == "reply":
            line = reply.split(b"\n", 1)[0].strip()
            if line:
                try:
                    ack = json.loads(line.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    ack = None
                if (want is not None and isinstance(ack, dict) and isinstance(ack.get("mac"), str)
                        and hmac.compare_digest(ack["mac"], want)):
                    log.info("Connection information acknowledged by %s (attempt %s)", address, attempts)
                    return "acknowledged"
                log.warning("The host at %s answered with something that is not a valid acknowledgement; retrying",
                            address)
            elif policy == "auto":
                log.info("Connection information sent to %s; the host does not acknowledge (a reference host)",
                         address)
                return "closed"
            else:
                log.warning("The host at %s closed without acknowledging the connection information; retrying",
                            address)
        if time.monotonic() + delay > deadline:
            raise LauncherError(f"The host at {address} did not acknowledge the connection information within "
                                f"{budget:.0f}s ({attempts} attempts; GP_RESPONSE_CONNECT_TIMEOUT).")
        time.sleep(delay)
        delay = min(delay * 2, 2.0)


# --------------------------------------------------------------------------- signals

# tgkill(2) numbers where libc has no tgkill() wrapper (glibc before 2.30, some musl builds).
_SYS_TGKILL = {"x86_64": 234, "aarch64": 131, "ppc64le": 250, "s390x": 241}


def _tgkill_function() -> Optional[Callable[[int, int, int], int]]:
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
    except (ImportError, OSError):
        return None
    if hasattr(libc, "tgkill"):
        return libc.tgkill
    number = _SYS_TGKILL.get(os.uname().machine)
    if number is None or not hasattr(libc, "syscall"):
        return None
    return lambda tgid, tid, sig: libc.syscall(number, tgid, tid, sig)


def signal_main_thread(pid: int, signum: int) -> None:
    """Sends ``signum`` to the main thread of process ``pid`` (whose thread id is ``pid``).

    A process-directed signal (kill) goes to any thread that does not block it. Kernels have helper
    threads that accept signals (ipykernel's parent poller starts after the kernel unblocks them), and
    a SIGINT delivered to one of those only sets Python's flag: the main thread, asleep in the user's
    code (``time.sleep``, a blocking call), is not woken and the interrupt waits until that call ends.
    Measured: 3 of 12 interrupts of a sleeping cell were late by the whole sleep with kill(), none with
    tgkill(). Falls back to kill() where tgkill is not available. Raises ProcessLookupError when gone.
    """
    import errno
    tgkill = _tgkill_function()
    if tgkill is not None:
        import ctypes
        if tgkill(pid, pid, int(signum)) == 0:
            return
        err = ctypes.get_errno()
        if err == errno.ESRCH:
            raise ProcessLookupError(err, os.strerror(err), pid)
    os.kill(pid, signum)


# --------------------------------------------------------------------------- comm port


class CommServer:
    """Serves the comm port: ``{"signum": n}`` and ``{"shutdown": 1}`` requests from the host.

    With a secret (payload version 2) every request must answer a fresh challenge:
    launcher → ``{"gp_comm":2,"nonce":N}\\n``; host → ``{"body":B,"mac":hex(HMAC-SHA256(secret,
    "gp-comm-v2\\n"+N+"\\n"+B))}`` then EOF; launcher → ``{"ok":true}`` or ``{"ok":false,"error":...}``.
    Without a secret (version 1) requests are the reference's plain JSON, read until EOF.

    Connections are admitted like the host's response listener admits them: at most
    ``MAX_COMM_CONNECTIONS`` in total and ``GP_COMM_MAX_PER_SOURCE`` (4) per source address; a newcomer
    at a cap takes the place of the oldest connection that has not sent a byte yet, and a connection
    silent for ``GP_COMM_IDLE_TIMEOUT`` seconds (2) is closed. The host writes at once, so idle
    connections cannot keep its interrupts out.
    """

    def __init__(self, sock: socket.socket, secret: Optional[bytes],
                 on_signal: Callable[[int], None], on_shutdown: Callable[[], None]) -> None:
        self.sock = sock
        self.secret = secret
        self.on_signal = on_signal
        self.on_shutdown = on_shutdown
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        # conn -> {"source": ip, "active": bool}; insertion order is age order.
        self._open: dict = {}

    def start(self) -> None:
        self.sock.listen(64)
        self.sock.settimeout(0.5)
        threading.Thread(target=self._serve, name="gp-comm", daemon=True).start()

    def stop(self) -> None:
        self.stopped.set()
        try:
            self.sock.close()
        except OSError:
            pass

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    def _evict_oldest_idle(self, source: Optional[str]) -> bool:
        """Under the lock: closes the oldest connection (of ``source``, or any) that has sent nothing."""
        for conn, state in self._open.items():
            if state["active"] or (source is not None and state["source"] != source):
                continue
            del self._open[conn]
            try:
                conn.shutdown(socket.SHUT_RDWR)  # wakes its handler, which closes it
            except OSError:
                pass
            return True
        return False

    def _admit(self, conn: socket.socket, source: str) -> bool:
        with self._lock:
            from_source = sum(1 for st in self._open.values() if st["source"] == source)
            if from_source >= MAX_COMM_CONNECTIONS_PER_SOURCE and not self._evict_oldest_idle(source):
                return False
            if len(self._open) >= MAX_COMM_CONNECTIONS and not self._evict_oldest_idle(None):
                return False
            self._open[conn] = {"source": source, "active": False}
            return True

    def _mark_active(self, conn: socket.socket) -> None:
        with self._lock:
            state = self._open.get(conn)
            if state is not None:
                state["active"] = True

    def _release(self, conn: socket.socket) -> None:
        with self._lock:
            self._open.pop(conn, None)

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                break
            if not self._admit(conn, addr[0]):
                log.warning("Too many busy comm connections; refusing one from %s", addr[0])
                conn.close()
                continue
            threading.Thread(target=self._handle, args=(conn, addr), daemon=True).start()

    def _read_all(self, conn: socket.socket) -> bytes:
        data = b""
        deadline = time.monotonic() + COMM_CONNECTION_TIMEOUT
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ValueError("request not completed in time")
            conn.settimeout(min(remaining, COMM_IDLE_TIMEOUT))
            chunk = conn.recv(1024)
            if not chunk:
                return data
            self._mark_active(conn)
            data += chunk
            if len(data) > MAX_COMM_REQUEST_BYTES:
                raise ValueError("request too large")

    def _handle(self, conn: socket.socket, addr) -> None:
        conn.settimeout(COMM_CONNECTION_TIMEOUT)
        try:
            if self.secret is None:
                request = json.loads(self._read_all(conn).decode("utf-8") or "null")
                if isinstance(request, dict):
                    self._dispatch(request, addr)
                return
            nonce = base64.b64encode(secrets.token_bytes(32)).decode()
            conn.sendall(json.dumps({"gp_comm": 2, "nonce": nonce}).encode() + b"\n")
            raw = self._read_all(conn)
            if not raw:
                log.debug("Comm connection from %s closed without a request", addr[0])
                return
            ok, error, request = self._verify(raw, nonce)
            if not ok:
                log.warning("Refused an unauthenticated comm request from %s: %s", addr[0], error)
                conn.sendall(json.dumps({"ok": False, "error": error}).encode())
                return
            conn.sendall(json.dumps({"ok": True}).encode())
            self._dispatch(request, addr)
        except (OSError, ValueError) as err:  # socket.timeout is an OSError
            log.debug("Comm connection from %s ended: %s", addr[0], err)
        finally:
            self._release(conn)
            try:
                conn.close()
            except OSError:
                pass

    def _verify(self, raw: bytes, nonce: str):
        try:
            msg = json.loads(raw.decode("utf-8"))
            body, mac = msg["body"], msg["mac"]
            if not isinstance(body, str) or not isinstance(mac, str):
                raise ValueError
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            return False, "authentication required", None
        assert self.secret is not None
        want = hmac.new(self.secret, COMM_MAC_PREFIX + nonce.encode() + b"\n" + body.encode("utf-8"),
                        hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, mac):
            return False, "authentication failed", None
        try:
            request = json.loads(body)
        except ValueError:
            return False, "malformed request", None
        if not isinstance(request, dict):
            return False, "malformed request", None
        return True, None, request

    def _dispatch(self, request: dict, addr) -> None:
        if request.get("signum") is not None:
            try:
                signum = int(request["signum"])
            except (TypeError, ValueError):
                log.warning("Ignored comm request with a bad signal number from %s", addr[0])
                return
            if not 0 <= signum <= 64:
                log.warning("Ignored comm request with signal %s from %s", signum, addr[0])
                return
            if signum != 0:
                log.info("Comm request: signal %s", signum)
            self.on_signal(signum)
        if request.get("shutdown"):
            log.info("Comm request: shutdown")
            self.on_shutdown()


# --------------------------------------------------------------------------- supervision


def run(kernel_id: str, response_address: str, public_key: str, port_range: str, response_version: Optional[int],
        kernel_command: Callable[[str], List[str]], spark_interrupt: bool = False,
        extra_env: Optional[dict] = None, transport_encryption: Optional[str] = None,
        curve_unsupported: Optional[Callable[[], Optional[str]]] = None,
        start_kernel: Optional[Callable[[str, List[str], dict], "subprocess.Popen"]] = None) -> int:
    """Starts the kernel, reports it to the host and serves its comm port until it exits.

    ``transport_encryption`` is the host's policy (``--transport-encryption``); ``curve_unsupported`` says why
    the kernel cannot use CurveZMQ keys (None when it can), asked only when the policy wants encryption.
    ``start_kernel(connection_file, cmd, env)`` replaces starting the kernel process (a pooled pod hands the
    connection file to the kernel process it already started: gp_pool.py)."""
    lower, upper = parse_port_range(port_range)
    response_version, negotiated = negotiate_response_version(response_version)
    log.info("Payload version %s (%s)", response_version, negotiated)
    crypto_backend()  # fail before starting anything when the image lacks a crypto library
    policy = transport_encryption_policy(transport_encryption)
    curve_keys = provision_curve_keys(policy, (curve_unsupported or (lambda: None))() if policy else None)
    ports, comm_sock = select_ports(lower, upper)
    connection_file, info = write_connection_file(kernel_id, ports, curve_keys)
    log.info("Connection file %s; comm port %s", connection_file, comm_sock.getsockname()[1])

    env = dict(os.environ)
    env.update(extra_env or {})
    env.pop("GP_LAUNCHER_CRYPTO", None)
    cmd = kernel_command(connection_file)
    log.info("Starting kernel: %s", " ".join(cmd))
    kernel = start_kernel(connection_file, cmd, env) if start_kernel else subprocess.Popen(cmd, env=env)
    shutdown_requested = threading.Event()

    def signal_kernel(signum: int) -> None:
        if kernel.poll() is not None:
            return
        try:
            if signum != 0:
                signal_main_thread(kernel.pid, signum)
            if signum == signal.SIGINT and spark_interrupt:
                signal_main_thread(kernel.pid, signal.SIGUSR2)
        except ProcessLookupError:
            pass

    def forward(signum, _frame) -> None:
        signal_kernel(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGHUP, forward)
    # Interrupts reach the kernel through the comm port (or a signal to the process group).
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    secret = secrets.token_bytes(32) if response_version == 2 else None
    server = CommServer(comm_sock, secret, signal_kernel, shutdown_requested.set)
    server.start()

    payload_info = dict(info)
    payload_info.update({
        "pid": kernel.pid,
        "pgid": os.getpgid(0),
        "comm_port": comm_sock.getsockname()[1],
        "kernel_id": kernel_id,
    })
    if secret is not None:
        payload_info["comm_secret"] = base64.b64encode(secret).decode()
    try:
        policy = ack_policy(response_version)
        payload, aes_key = encode_payload_with_key(response_version, payload_info, kernel_id, public_key)
        outcome = send_payload(response_address, payload, aes_key, kernel_id, policy)
        log.info("Connection information delivered to %s (payload version %s, %s)", response_address,
                 response_version, outcome)
    except LauncherError:
        kernel.terminate()
        server.stop()
        raise
    finally:
        payload_info.clear()

    grace = float(os.getenv("GP_KERNEL_SHUTDOWN_GRACE", "5"))
    stopping_since: Optional[float] = None
    term_sent = False
    while kernel.poll() is None:
        if shutdown_requested.is_set():
            if stopping_since is None:
                stopping_since = time.monotonic()
                server.stop()
            waited = time.monotonic() - stopping_since
            if waited >= grace and not term_sent:
                log.info("Kernel still running %.0fs after the shutdown request; terminating it", grace)
                term_sent = True
                signal_kernel(signal.SIGTERM)
            elif waited >= 2 * grace and term_sent:
                log.warning("Kernel ignored SIGTERM; killing it")
                kernel.kill()
        try:
            kernel.wait(timeout=0.2)
        except subprocess.TimeoutExpired:
            pass
    server.stop()
    try:
        os.remove(connection_file)
    except OSError:
        pass
    code = kernel.returncode
    log.info("Kernel exited with status %s", code)
    return code if code >= 0 else 128 - code


def main_guard(fn: Callable[[], int]) -> None:
    try:
        sys.exit(fn())
    except LauncherError as err:
        log.error("%s", err)
        sys.exit(2)
