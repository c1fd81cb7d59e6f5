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


def _console_handlers(streams) -> list[tuple[logging.Logger, logging.Handler]]:
    """(logger, handler) pairs that libraries attached at import time (PyMC's "pymc" logger, for one) writing
    to the console."""
    loggers = [logging.getLogger()]
    loggers += [v for v in logging.Logger.manager.loggerDict.values() if isinstance(v, logging.Logger)]
    return [
        (lg, h)
        for lg in loggers
        for h in lg.handlers
        if type(h) is logging.StreamHandler and any(h.stream is s for s in streams)
    ]


@contextlib.contextmanager
def logged(path: str | Path):
    """Tee stdout, stderr and Python logging to ``path``; log any exception before re-raising it.

    A library that attached its own console handler and level at import time, before this block (PyMC does
    when no root handler exists, and a script imports it first), is treated for the block's duration as if it
    had been imported inside it: handler set aside, level back to the root's. Its warnings then reach the
    console and the log file once, through the root handler here, and its INFO chatter stays quiet.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        out, err = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Tee(out, fh), _Tee(err, fh)
        aside = _console_handlers((out, err))
        levels = {lg: lg.level for lg, _ in aside}
        for lg, h in aside:
            lg.removeHandler(h)
            lg.setLevel(logging.NOTSET)
        handler = logging.StreamHandler(sys.stderr)
        logging.getLogger().addHandler(handler)
        try:
            yield
        except Exception:
            fh.write(traceback.format_exc())
            raise
        finally:
            logging.getLogger().removeHandler(handler)
            for lg, h in aside:
                lg.addHandler(h)
            for lg, level in levels.items():
                lg.setLevel(level)
            sys.stdout, sys.stderr = out, err
