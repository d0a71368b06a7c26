"""The benchmarks' data generators still build frames of the staged schema.

CI runs the benchmarks after the tests; a column added to `transforms.staging` once broke
`bench_resolution` only there, twenty minutes in. This catches that in the test run.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from transforms.staging import AUTHORSHIP_COLUMNS, WORK_COLUMNS

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_{name}", BENCHMARKS / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_bench_resolution_synthetic_frames_have_every_staged_column() -> None:
    bench = _load("bench_resolution")
    works, authorships, truth, people = bench.synthetic(300)
    assert set(WORK_COLUMNS) <= set(works.columns)
    assert set(AUTHORSHIP_COLUMNS) <= set(authorships.columns)
    assert works.height == 300 == truth.height
    assert people.height > 0
