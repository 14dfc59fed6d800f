"""Run a check in a child process that file permissions bind, so permission tests run as root too.

Root reads and writes any file whatever its mode (the capabilities ``CAP_DAC_OVERRIDE`` and
``CAP_DAC_READ_SEARCH``), and CI runs the tests as root. A test of a read-only folder or an
unreadable file therefore runs its check in a child Python process that has dropped those two
capabilities from its bounding set before it starts (``prctl(PR_CAPBSET_DROP)``), so the kernel
applies the file modes to it as to any user. As another user the child runs as it is.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
PR_CAPBSET_DROP = 24  # <linux/prctl.h>
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2  # <linux/capability.h>


def _drop_file_capabilities() -> None:
    """In the child, before exec: file modes bind root from the next program on."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), f"prctl(PR_CAPBSET_DROP, {cap})")


def run_unprivileged(code: str, folder: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -c code`` in ``folder``, bound by file permissions even as root."""
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        preexec_fn=_drop_file_capabilities if AS_ROOT else None,
    )
