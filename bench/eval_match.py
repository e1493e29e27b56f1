"""Measure the matcher on a labelled TSV (format of shared/eval/dev.tsv).

    .venv/bin/python bench/eval_match.py ../shared/eval/dev.tsv [--kb knowledge]

Same as `frontdesk eval FILE`: top-1 / top-3 over service questions, the share of @unknown
questions answered with a guide, intent accuracy, every miss, and the time per question.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["eval", *sys.argv[1:]]))
