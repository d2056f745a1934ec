#!/usr/bin/env python3
"""gp's launcher for R kernels (IRkernel), run inside the kernel image.

    python3 launch_IRkernel.py --kernel-id ID --response-address IP:PORT --public-key KEY \
        [--port-range 0..0] [--spark-context-initialization-mode lazy|eager|none] [--response-version 2|1]

The same protocol as the Python launcher (gp_launcher.py): this process reports the kernel and
serves the comm port, and the kernel runs as a child: ``R --slave -e 'IRkernel::main()' --args
<connection file>``. Needs R with IRkernel, and Python 3.9+ with cryptography (or pycryptodomex).
Unlike the reference's launch_IRkernel.R it does not load Python modules through ``imp`` (removed
in Python 3.12). GP_R_BINARY overrides the R executable (default ``R`` on PATH).
"""
from __future__ import annotations

import os
import shutil
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
for _path in reversed([_HERE, os.path.normpath(os.path.join(_HERE, "..", "..", "shared", "scripts"))]):
    if _path not in sys.path:
        sys.path.insert(0, _path)

import gp_launcher  # noqa: E402


def r_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def main(argv: list) -> int:
    parser = gp_launcher.build_arg_parser("gp launcher for R kernels (IRkernel)", kernel_class=False)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        gp_launcher.log.warning("Ignoring unknown arguments: %s", " ".join(unknown))
    gp_launcher.check_required(args)
    r_binary = os.getenv("GP_R_BINARY", "R")
    if shutil.which(r_binary) is None:
        raise gp_launcher.LauncherError(f"R executable '{r_binary}' not found: install R and IRkernel in the image "
                                        "(or set GP_R_BINARY).")
    expr = "IRkernel::main()"
    if args.init_mode != "none":
        init = os.path.join(_HERE, "gp_spark_init.R")
        expr = f"source({r_string(init)}); gp_spark_init({r_string(args.init_mode)}); {expr}"

    def command(connection_file: str) -> list:
        return [r_binary, "--slave", "--no-save", "--no-restore", "-e", expr, "--args", connection_file]

    return gp_launcher.run(
        kernel_id=args.kernel_id,
        response_address=args.response_address,
        public_key=args.public_key,
        port_range=args.port_range,
        response_version=args.response_version,
        kernel_command=command,
        transport_encryption=args.transport_encryption,
        # IRkernel (pbdZMQ) does not read CurveZMQ keys from the connection file: its sockets stay plain, so
        # keys must not be returned ('auto' warns, 'required' fails the launch before the kernel starts).
        curve_unsupported=lambda: "IRkernel does not support CurveZMQ (its sockets cannot be CurveZMQ servers)",
    )


if __name__ == "__main__":
    gp_launcher.main_guard(lambda: main(sys.argv[1:]))
