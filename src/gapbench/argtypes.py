"""Argument types of the ``gapbench`` command line: each refuses a bad value with one line naming what is allowed.

``argparse`` prints that line after the usage and exits with status 2 (no traceback). Numbers must be finite
(``nan`` and ``inf`` are refused) and inside the bounds the config schema documents for the same key.
"""

from __future__ import annotations

import argparse
import math
import re

# A torch device name the trainers accept (the config schema's pattern for train.*.device).
DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]{1,2})?")


def number(kind: type, low: float | None = None, high: float | None = None, low_open: bool = False):
    """A parser for an ``int`` or ``float`` in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    word = "an integer" if kind is int else "a number"

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            try:  # 1e4 as an integer
                value = float(text)
            except ValueError:
                raise argparse.ArgumentTypeError(f"{text!r} is not {word}") from None
            if kind is int:
                if not (math.isfinite(value) and value.is_integer()):
                    raise argparse.ArgumentTypeError(f"{text!r} is not {word}") from None
                value = int(value)
        if kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
        if low is not None and (value <= low if low_open else value < low):
            raise argparse.ArgumentTypeError(f"{text} is out of range; allowed: {'>' if low_open else '>='} {low}"
                                             + (f" and <= {high}" if high is not None else ""))
        if high is not None and value > high:
            raise argparse.ArgumentTypeError(f"{text} is out of range; allowed: <= {high}")
        return value

    parse.__name__ = kind.__name__
    return parse


SEED_MAX = 2**63 - 1
seed = number(int, 0, SEED_MAX)
positive_int = number(int, 1)
non_negative_int = number(int, 0)
positive_float = number(float, 0, low_open=True)
non_negative_float = number(float, 0)
finite_float = number(float)


def device(text: str) -> str:
    """``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    if not DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a device; allowed: auto, cpu, cuda, cuda:N")
    return text


LABEL = re.compile(r"[A-Za-z0-9 ,.()+/:_-]{0,200}")


def label(text: str) -> str:
    """A free-text label (e.g. a protocol name): letters, digits, spaces and ``,.()+/:_-``, at most 200."""
    if not LABEL.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a label; allowed: up to 200 of letters, digits, "
                                         "spaces and ,.()+/:_-")
    return text
