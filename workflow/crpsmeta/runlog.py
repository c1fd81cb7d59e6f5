"""Send a step's output to its log file and to the console at once."""

from __future__ import annotations

import contextlib
import logging
import sys
import traceback
from pathlib import Path

__all__ = ["logged"]


class _Tee:
    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for s in self.streams:
            s.write(text)
            s.flush()
        return len(text)

    def flush(self):
        for s in self.streams:
            s.flush()

    def isatty(self):
        return False


@contextlib.contextmanager
def logged(path: str | Path):
    """Tee stdout, stderr and Python logging to ``path``; log any exception before re-raising it."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(out, fh), _Tee(err, fh)
        handler = logging.StreamHandler(sys.stderr)
        logging.getLogger().addHandler(handler)
        try:
            yield
        except Exception:
            fh.write(traceback.format_exc())
            raise
        finally:
            logging.getLogger().removeHandler(handler)
            sys.stdout, sys.stderr = out, err
