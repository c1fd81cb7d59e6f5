"""A rule script's log: everything it prints or logs reaches the log file and the console, each once."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import logging
library = logging.getLogger("somelibrary")
library.setLevel(logging.INFO)  # as PyMC does at import when the root has no handler: before the log block
library.addHandler(logging.StreamHandler())
from crpsmeta.runlog import logged
with logged({path!r}):
    library.info("library chatter")
    library.warning("library warning")
    print("from the script")
library.info("after the block")
"""


def test_a_library_set_up_before_the_block_logs_as_if_imported_inside_it(tmp_path):
    path = tmp_path / "step.log"
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(path=str(path))], capture_output=True, text=True, check=True
    )
    # inside the block as if imported there: warnings once on the console and in the file, INFO quiet;
    # after it the library's own handler and level are back
    assert done.stderr.splitlines() == ["library warning", "after the block"]
    assert done.stdout.splitlines() == ["from the script"]
    assert path.read_text().splitlines() == ["library warning", "from the script"]
