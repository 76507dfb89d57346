"""Fixtures shared by the Spark test modules: one Spark session for the whole run
(starting a JVM costs seconds), and a spy on what Spark brings to the driver."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(scope="session")
def spark_engine():
    """A local ``SparkEngine`` (2 cores) shared by every Spark test, stopped at the end."""
    pytest.importorskip("pyspark")
    from cxid.engine.spark import SparkEngine

    engine = SparkEngine(master="local[2]", app_name="cxid-tests")
    yield engine
    engine.close()


@pytest.fixture
def collected(monkeypatch):
    """(rows, columns) of every Arrow table a Spark module of cxid brings to the driver
    (``_collect_arrow`` is how they all collect)."""
    import cxid.engine.spark as spark_module

    seen: list[tuple[int, list[str]]] = []
    collect = spark_module._collect_arrow

    def spy(df):
        table = collect(df)
        seen.append((table.num_rows, table.column_names))
        return table

    for name, module in list(sys.modules.items()):
        if name.startswith("cxid.engine.spark") and hasattr(module, "_collect_arrow"):
            monkeypatch.setattr(module, "_collect_arrow", spy)
    return seen
