"""A small progress bar on stderr (no dependency); silent when stderr is not a terminal
unless forced, so logs and CI output stay readable."""
from __future__ import annotations

import os
import sys
import time


class Progress:
    def __init__(self, enabled: bool | None = None, stream=None):
        self.stream = stream or sys.stderr
        if enabled is None:
            enabled = self.stream.isatty() or os.environ.get("MECHCERT_PROGRESS") == "1"
        self.enabled = enabled
        self._label = None
        self._t0 = 0.0
        self._last = 0.0

    def __call__(self, label: str, done: int, total: int, extra: str = "") -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if label != self._label:
            if self._label is not None:
                self.stream.write("\n")
            self._label, self._t0, self._last = label, now, 0.0
        if done < total and now - self._last < 0.1:
            return
        self._last = now
        frac = done / total if total else 1.0
        width = 30
        bar = "#" * int(frac * width) + "-" * (width - int(frac * width))
        el = now - self._t0
        rate = done / el if el > 0 else 0.0
        eta = (total - done) / rate if rate > 0 else 0.0
        self.stream.write(f"\r  {label:<10} [{bar}] {done}/{total} {rate:,.0f}/s eta {eta:.0f}s {extra}   ")
        if done >= total:
            self.stream.write("\n")
            self._label = None
        self.stream.flush()
