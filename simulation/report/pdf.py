"""The report as a PDF for a director: the self-contained page printed by headless Chromium.

Chromium comes from the system's packages (Debian's ``chromium``; ``make system-packages`` installs
it when missing). The page's print style starts each section on a new page and keeps figures and
tables whole; the navigation is left out.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..errors import FundsimError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_S = 300


def find_chromium() -> str:
    """The path of a Chromium (or Chrome) executable (``FUNDSIM_CHROMIUM`` first, then PATH)."""
    given = os.environ.get("FUNDSIM_CHROMIUM")
    for name in ([given] if given else []) + list(BROWSERS):
        path = shutil.which(name)
        if path:
            return path
    raise FundsimError(
        "--pdf: no Chromium found (looked for FUNDSIM_CHROMIUM and "
        f"{', '.join(BROWSERS)} on PATH); install it with `make system-packages` "
        "(Debian's chromium package)"
    )


def html_to_pdf(html: Path, pdf: Path) -> Path:
    """Print the page ``html`` to ``pdf`` (A4, backgrounds, no header or footer)."""
    browser = find_chromium()
    with tempfile.TemporaryDirectory(prefix="fundsim-chromium-") as profile:
        cmd = [
            browser,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--no-pdf-header-footer",
            "--print-to-pdf-no-header",
            f"--print-to-pdf={pdf}",
            Path(html).resolve().as_uri(),
        ]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise FundsimError(f"--pdf: Chromium did not finish in {TIMEOUT_S} s") from None
    if done.returncode != 0 or not pdf.is_file() or pdf.stat().st_size == 0:
        last = (done.stderr or "").strip().splitlines()[-1:] or ["no output"]
        raise FundsimError(f"--pdf: Chromium failed (exit {done.returncode}): {last[0]}")
    return pdf
