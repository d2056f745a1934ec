#!/usr/bin/env python3
"""gp's launcher for IPython kernels (ipykernel), run inside the kernel image.

    python launch_ipykernel.py --kernel-id ID --response-address IP:PORT --public-key KEY \
        [--port-range 0..0] [--kernel-class-name ipykernel.ipkernel.IPythonKernel] \
        [--spark-context-initialization-mode lazy|eager|none] [--cluster-type spark|dask|none] \
        [--response-version 2|1]

The launcher process reports the kernel to the host and serves the comm port; the kernel runs in a
child process (this script again, with --gp-run-kernel), so a busy kernel still gets interrupts.
Needs ipykernel, and cryptography (or pycryptodomex). See ../../README.md.
"""
from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import threading
from typing import Optional

_HERE = os.path.dirname(os.path.abspath(__file__))
_SEARCH = [_HERE, os.path.normpath(os.path.join(_HERE, "..", "..", "shared", "scripts"))]
KERNEL_MODE_FLAG = "--gp-run-kernel"
DEFAULT_KERNEL_CLASS_NAME = "ipykernel.ipkernel.IPythonKernel"
log = logging.getLogger("launch_ipykernel")


# --------------------------------------------------------------------------- kernel process


class _SparkPlaceholder:
    """Stands for ``spark``/``sc`` while the session is built in the background; waits on first use."""

    def __init__(self, name: str, ready: threading.Event, state: dict, namespace: dict) -> None:
        self._name, self._ready, self._state, self._ns = name, ready, state, namespace

    def __getattr__(self, attr: str):
        if attr.startswith("__") or attr.startswith("_ipython_") or attr.startswith("_repr_"):
            raise AttributeError(attr)
        self._ready.wait()
        if self._state.get("error") is not None:
            raise RuntimeError(f"Variable '{self._name}' was not initialized: the Spark session failed to start"
                               ) from self._state["error"]
        return getattr(self._ns[self._name], attr)

    def __repr__(self) -> str:
        return f"<{self._name}: Spark session not yet initialized ...>"


def initialize_namespace(namespace: dict, cluster_type: str) -> None:
    if cluster_type == "spark":
        try:
            from pyspark.sql import SparkSession  # type: ignore[import-not-found]
        except ImportError:
            # The launcher normally catches this before starting the kernel (see spark_available).
            # Should the launcher still send SIGUSR2 with its interrupts, ignore it: its default
            # action would end the kernel instead of interrupting the cell.
            log.warning("A Spark session was requested but pyspark is not installed; no session is created.")
            signal.signal(signal.SIGUSR2, signal.SIG_IGN)
            return
        ready = threading.Event()
        state: dict = {}

        def build() -> None:
            try:
                import atexit
                spark = SparkSession.builder.getOrCreate()
                atexit.register(spark.stop)
                state["spark"] = spark
                namespace.update({"spark": spark, "sc": spark.sparkContext, "sql": spark.sql})
            except Exception as err:  # reported when a placeholder is used
                state["error"] = err
            finally:
                ready.set()

        spark_placeholder = _SparkPlaceholder("spark", ready, state, namespace)

        def sql(query: str):
            return spark_placeholder.sql(query)

        namespace.update({"spark": spark_placeholder, "sc": _SparkPlaceholder("sc", ready, state, namespace),
                          "sql": sql})

        def cancel_all_jobs(spark) -> None:
            try:
                spark.sparkContext.cancelAllJobs()
            except Exception as err:  # noqa: BLE001
                log.error("Cancelling Spark jobs on interrupt failed: %s", err)

        def cancel_spark_jobs(_sig, _frame) -> None:
            # On its own thread: the main thread's Py4J connection is the one blocked in the running job (and
            # is closed by the KeyboardInterrupt of the same interrupt), so a call from this handler would
            # wait for the job or fail; a new thread gets a connection of its own (PySpark's pinned threads).
            spark = state.get("spark")
            if spark is not None:
                threading.Thread(target=cancel_all_jobs, args=(spark,), name="spark-cancel", daemon=True).start()

        signal.signal(signal.SIGUSR2, cancel_spark_jobs)
        threading.Thread(target=build, name="spark-session", daemon=True).start()
    elif cluster_type == "dask":
        import dask_yarn  # type: ignore[import-not-found]
        namespace["cluster"] = dask_yarn.YarnCluster.from_current()


def spark_available() -> bool:
    """Whether the kernel's Python can import pyspark (checked without importing it: that is slow)."""
    import importlib.util
    try:
        return importlib.util.find_spec("pyspark") is not None
    except (ImportError, ValueError):
        return False


def import_item(name: str):
    module_name, _, attr = name.rpartition(".")
    if not module_name:
        return importlib.import_module(name)
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attr)
    except AttributeError:
        raise ImportError(f"No attribute '{attr}' in module '{module_name}'")


def wait_for_handoff() -> str:
    """Reads the claimed kernel's connection file name and environment from the launcher (one JSON line on
    stdin), then detaches stdin as a cold kernel's is. Exits when the launcher goes away first."""
    import json
    line = sys.stdin.buffer.readline()
    if not line.strip():
        sys.exit(0)  # the launcher ended without a claim
    handoff = json.loads(line.decode("utf-8"))
    for name, value in (handoff.get("env") or {}).items():
        os.environ[str(name)] = str(value)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    return str(handoff["connection_file"])


def kernel_main(argv: list) -> int:
    import argparse
    p = argparse.ArgumentParser()
    p.add_argument("--connection-file", required=True)
    p.add_argument("--kernel-class-name", default=DEFAULT_KERNEL_CLASS_NAME)
    p.add_argument("--cluster-type", default="none")
    args = p.parse_args(argv)
    # Keep the launcher's folders off the user's import path.
    sys.path[:] = [x for x in sys.path if os.path.normpath(x or ".") not in _SEARCH]

    # Signals sent to the process (interrupts from the launcher) must reach the main thread, which
    # runs the user's code: a signal the kernel delivers to a helper thread (ZeroMQ I/O, iopub,
    # heartbeat, Spark set-up) would not wake a main thread blocked in e.g. time.sleep. So the
    # helper threads, which inherit the mask of the thread that starts them, are started with
    # these signals blocked, and only the main thread accepts them.
    routed = {signal.SIGINT, signal.SIGUSR2, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, routed)

    from ipykernel.kernelapp import IPKernelApp

    kernel_class = import_item(args.kernel_class_name)
    if args.connection_file == "-":
        # A pooled pod: the imports above are done ahead of time; the launcher sends the connection file
        # once the pod is claimed (gp_pool.py).
        args.connection_file = wait_for_handoff()
    namespace: dict = {}
    initialize_namespace(namespace, args.cluster_type)
    app = IPKernelApp.instance(kernel_class=kernel_class, user_ns=namespace,
                               connection_file=args.connection_file, ip="0.0.0.0")  # noqa: S104
    app.initialize([])
    signal.pthread_sigmask(signal.SIG_UNBLOCK, routed)
    app.start()
    return 0


# --------------------------------------------------------------------------- launcher process


def ipykernel_curve_unsupported() -> Optional[str]:
    """Why the kernel (this interpreter's ipykernel and pyzmq) cannot serve CurveZMQ, or None when it can.

    ipykernel >= 7.3 reads curve_publickey/curve_secretkey from the connection file and makes its sockets
    CurveZMQ servers; an older one ignores them (a version check: the traits exist on jupyter_client's
    ConnectionFileMixin >= 8.9 whether or not the kernel applies them). libzmq needs CurveZMQ (libsodium)."""
    try:
        from importlib.metadata import PackageNotFoundError, version
        try:
            parts = version("ipykernel").split(".")
            supported = (int(parts[0]), int("".join(c for c in parts[1] if c.isdigit()) or 0)) >= (7, 3)
        except PackageNotFoundError:
            return "ipykernel is not installed"
        except (ValueError, IndexError):
            supported = False
        if not supported:
            return "ipykernel does not support CurveZMQ keys in the connection file (ipykernel >= 7.3 is required)"
        import zmq
        if not zmq.has("curve"):
            return "libzmq was built without CurveZMQ support"
    except ImportError as err:
        return f"import failure: {err}"
    return None


def launcher_main(argv: list) -> int:
    for path in reversed(_SEARCH):
        if path not in sys.path:
            sys.path.insert(0, path)
    import gp_launcher

    parser = gp_launcher.build_arg_parser("gp launcher for IPython kernels", kernel_class=True)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        gp_launcher.log.warning("Ignoring unknown arguments: %s", " ".join(unknown))
    pool = None
    if os.environ.get("GP_POOL_CLAIM_TOKEN"):  # a pooled pod (gp_pool.py: warm pools)
        import gp_pool
        pool = gp_pool.pool_settings()
    if pool is None:
        gp_launcher.check_required(args)
    cluster_type = "none" if args.init_mode == "none" else args.cluster_type
    if cluster_type == "spark" and not spark_available():
        # Behave exactly as mode none: no placeholders, no session thread, no SIGUSR2 with interrupts
        # (a kernel without a Spark handler would die of it instead of interrupting the cell).
        gp_launcher.log.warning(
            "Spark context initialization mode '%s' was requested but pyspark is not installed; "
            "continuing as with mode 'none' (no Spark session, no spark/sc/sql variables).", args.init_mode)
        cluster_type = "none"
    script = os.path.abspath(__file__)

    def command(connection_file: str) -> list:
        return [sys.executable, script, KERNEL_MODE_FLAG, "--connection-file", connection_file,
                "--kernel-class-name", args.kernel_class_name, "--cluster-type", cluster_type]

    if pool is not None:
        return gp_pool.run_pooled(pool, port_range=args.port_range, response_version=args.response_version,
                                  kernel_command=command, spark_interrupt=cluster_type == "spark",
                                  extra_env={"JPY_PARENT_PID": str(os.getpid())},
                                  transport_encryption=args.transport_encryption,
                                  curve_unsupported=ipykernel_curve_unsupported)
    return gp_launcher.run(
        kernel_id=args.kernel_id,
        response_address=args.response_address,
        public_key=args.public_key,
        port_range=args.port_range,
        response_version=args.response_version,
        kernel_command=command,
        spark_interrupt=cluster_type == "spark",
        # ipykernel exits when this launcher (its parent) dies.
        extra_env={"JPY_PARENT_PID": str(os.getpid())},
        transport_encryption=args.transport_encryption,
        curve_unsupported=ipykernel_curve_unsupported,
    )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == KERNEL_MODE_FLAG:
        logging.basicConfig(format="[%(levelname)1.1s %(asctime)s.%(msecs)03d %(name)s] %(message)s")
        log.setLevel(logging.INFO)
        sys.exit(kernel_main(sys.argv[2:]))
    for _path in reversed(_SEARCH):
        if _path not in sys.path:
            sys.path.insert(0, _path)
    import gp_launcher as _gp

    _gp.main_guard(lambda: launcher_main(sys.argv[1:]))
