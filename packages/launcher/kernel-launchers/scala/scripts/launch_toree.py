#!/usr/bin/env python3
"""gp's launcher for Scala kernels (Apache Toree), run inside the kernel image.

    python3 launch_toree.py --kernel-id ID --response-address IP:PORT --public-key KEY \
        [--port-range 0..0] [--spark-context-initialization-mode lazy|eager|none] [--response-version 2|1]

The same protocol as the Python and R launchers (gp_launcher.py): this process picks the ports, reports the
kernel and serves the comm port; the kernel is a child process, Toree started by Spark's ``spark-submit``
(client mode, so the JVM is the child itself: spark-submit execs java):

    $SPARK_HOME/bin/spark-submit --name <user>-<kernel id> [--master local[*]] $SPARK_OPTS \
        --class org.apache.toree.Main <toree-assembly.jar> $TOREE_OPTS \
        --spark-context-initialization-mode <mode> --profile <connection file>

Every mode becomes Toree's ``eager`` (a local[*] SparkContext at start unless SPARK_OPTS names a master):
Toree 0.5's interrupt handler needs the context and cannot create it itself (see toree_init_mode).

Needs Java 11+, a Spark for Scala 2.12 (SPARK_HOME; e.g. pyspark 3.5.x's package folder) and the Toree
assembly jar (Apache Toree 0.5.0). Interrupts are SIGINT to the JVM (Toree's own handler interrupts the
cell); ``--alternate-sigint`` in TOREE_OPTS is dropped. The JVM is bound to this process's life with
PR_SET_PDEATHSIG, so it goes when the launcher goes, even on SIGKILL.

Environment:
  SPARK_HOME           Spark distribution (default: the folder of an importable pyspark)
  GP_TOREE_ASSEMBLY    the toree-assembly jar (default: ../lib/toree-assembly-*.jar beside this script,
                       then the lib/ of an importable ``toree`` Python package)
  SPARK_OPTS           spark-submit options (shell words); without --master the kernel gets local[*]
  TOREE_OPTS           Toree options (shell words)
  KERNEL_USERNAME      for the Spark application name
"""
from __future__ import annotations

import ctypes
import glob
import os
import shlex
import signal
import socket
import sys
from typing import List, Optional

_HERE = os.path.dirname(os.path.abspath(__file__))
for _path in reversed([_HERE, os.path.normpath(os.path.join(_HERE, "..", "..", "shared", "scripts"))]):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import gp_launcher  # noqa: E402

TOREE_MAIN = "org.apache.toree.Main"
# Toree's plugin search and Spark need these packages open on Java 17 (Spark's own defaults are added by spark-submit).
JAVA_OPENS = ["java.base/java.util.jar", "java.base/java.lang", "java.base/java.util", "java.base/java.nio",
              "java.base/sun.nio.ch", "java.base/java.lang.invoke"]
PR_SET_PDEATHSIG = 1
EXEC_FLAG = "--gp-exec-kernel"


def _package_dir(name: str) -> Optional[str]:
    try:
        module = __import__(name)
    except ImportError:
        return None
    return os.path.dirname(os.path.abspath(module.__file__)) if getattr(module, "__file__", None) else None


def find_spark_home() -> str:
    home = os.getenv("SPARK_HOME") or _package_dir("pyspark")
    if not home:
        raise gp_launcher.LauncherError("SPARK_HOME is not set and no pyspark is importable: the Scala (Toree) kernel needs "
                                        "a Spark built for Scala 2.12 (e.g. pip install 'pyspark==3.5.*' and set SPARK_HOME "
                                        "to its package folder).")
    submit = os.path.join(home, "bin", "spark-submit")
    if not os.access(submit, os.X_OK):
        raise gp_launcher.LauncherError(f"SPARK_HOME '{home}' has no executable bin/spark-submit: set SPARK_HOME to a "
                                        "Spark distribution built for Scala 2.12.")
    return home


def find_toree_assembly() -> str:
    explicit = os.getenv("GP_TOREE_ASSEMBLY")
    if explicit:
        if not os.path.isfile(explicit):
            raise gp_launcher.LauncherError(f"GP_TOREE_ASSEMBLY '{explicit}' is not a file: point it at the "
                                            "toree-assembly-*.jar of Apache Toree.")
        return explicit
    places = [os.path.join(_HERE, "..", "lib")]
    toree = _package_dir("toree")
    if toree:
        places.append(os.path.join(toree, "lib"))
    for place in places:
        jars = sorted(glob.glob(os.path.join(place, "toree-assembly-*.jar")))
        if jars:
            return os.path.normpath(jars[-1])
    raise gp_launcher.LauncherError("No Toree assembly found (looked in " + ", ".join(os.path.normpath(p) for p in places) +
                                    "): pip install toree==0.5.0 in the image, copy its lib/toree-assembly-*.jar to "
                                    "kernel-launchers/scala/lib/, or set GP_TOREE_ASSEMBLY.")


def toree_options(raw: str) -> List[str]:
    """TOREE_OPTS without --alternate-sigint: the launcher interrupts with SIGINT, which Toree handles by default."""
    words = shlex.split(raw)
    out: List[str] = []
    i = 0
    while i < len(words):
        if words[i] == "--alternate-sigint":
            gp_launcher.log.info("Ignoring --alternate-sigint %s: gp's launcher interrupts Toree with SIGINT",
                                 words[i + 1] if i + 1 < len(words) else "")
            i += 2
            continue
        if words[i].startswith("--alternate-sigint="):
            i += 1
            continue
        out.append(words[i])
        i += 1
    return out


def toree_init_mode(init_mode: str, toree_opts: List[str]) -> List[str]:
    """Always Toree's ``eager``: Toree 0.5's interrupt handler asks for the SparkContext, and one created there (on
    the signal thread) fails (ExceptionInInitializerError in SparkBuildInfo), so an interrupt before the first
    Spark use would be lost with ``lazy`` or ``none``. The mode asked for is logged; TOREE_OPTS can override."""
    if "--nosparkcontext" in toree_opts or any(o.startswith("--spark-context-initialization-mode") for o in toree_opts):
        return []
    if init_mode != "eager":
        gp_launcher.log.info("Spark context mode %s: Toree gets eager (its interrupts need the context)", init_mode)
    return ["--spark-context-initialization-mode", "eager"]


def kernel_command(spark_home: str, assembly: str, kernel_id: str, init_mode: str, connection_file: str) -> List[str]:
    spark_opts = shlex.split(os.getenv("SPARK_OPTS", ""))
    if not any(o == "--master" or o.startswith("--master=") for o in spark_opts):
        spark_opts = ["--master", "local[*]"] + spark_opts
    name = f"{os.getenv('KERNEL_USERNAME') or 'kernel'}-{kernel_id}"
    toree_opts = toree_options(os.getenv("TOREE_OPTS", ""))
    return ([os.path.join(spark_home, "bin", "spark-submit"), "--name", name] + spark_opts +
            ["--class", TOREE_MAIN, assembly] + toree_opts + toree_init_mode(init_mode, toree_opts) +
            ["--profile", connection_file])


def local_address_env(spark_opts: List[str]) -> dict:
    """Spark resolves the host name at start and dies when it cannot (UnknownHostException). With a local master
    and no SPARK_LOCAL_IP, a host name that does not resolve gets the loopback address instead."""
    if os.getenv("SPARK_LOCAL_IP") or any(o == "--master" or o.startswith("--master=") for o in spark_opts):
        return {}
    try:
        socket.getaddrinfo(socket.gethostname(), None)
        return {}
    except OSError:
        gp_launcher.log.warning("Host name %s does not resolve: Spark (local master) uses 127.0.0.1", socket.gethostname())
        return {"SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOCAL_HOSTNAME": "localhost"}


def exec_kernel(parent: int, argv: List[str]) -> None:
    """Runs in the child: dies with the launcher (PR_SET_PDEATHSIG survives the exec chain to the JVM)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        gp_launcher.log.warning("PR_SET_PDEATHSIG unavailable: the kernel may outlive a killed launcher")
    if os.getppid() != parent:  # the launcher died before prctl took effect
        sys.exit(1)
    os.execv(argv[0], argv)


def main(argv: list) -> int:
    parser = gp_launcher.build_arg_parser("gp launcher for Scala kernels (Apache Toree)", kernel_class=False)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        gp_launcher.log.warning("Ignoring unknown arguments: %s", " ".join(unknown))
    gp_launcher.check_required(args)
    spark_home = find_spark_home()
    assembly = find_toree_assembly()
    gp_launcher.log.info("Toree %s, SPARK_HOME %s", assembly, spark_home)
    java_options = os.getenv("JDK_JAVA_OPTIONS", "")
    opens = " ".join(f"--add-opens={p}=ALL-UNNAMED" for p in JAVA_OPENS)
    parent = os.getpid()

    def command(connection_file: str) -> list:
        return [sys.executable, os.path.abspath(__file__), EXEC_FLAG, str(parent), "--",
                *kernel_command(spark_home, assembly, args.kernel_id, args.init_mode, connection_file)]

    return gp_launcher.run(
        kernel_id=args.kernel_id,
        response_address=args.response_address,
        public_key=args.public_key,
        port_range=args.port_range,
        response_version=args.response_version,
        kernel_command=command,
        extra_env={"SPARK_HOME": spark_home, "JDK_JAVA_OPTIONS": f"{java_options} {opens}".strip(),
                   **local_address_env(shlex.split(os.getenv("SPARK_OPTS", "")))},
    )


if __name__ == "__main__":
    if len(sys.argv) > 3 and sys.argv[1] == EXEC_FLAG and sys.argv[3] == "--":
        exec_kernel(int(sys.argv[2]), sys.argv[4:])
    gp_launcher.main_guard(lambda: main(sys.argv[1:]))
