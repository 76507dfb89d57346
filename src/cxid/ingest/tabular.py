"""Any other table, CSV or parquet (for example the Febrl data sets), read through an
explicit mapping: canonical column -> file column, or a list of file columns joined
with a space (``{"street": ["street_number", "address_1"]}``). ``x_`` keys carry extra
attributes (``x_soc_sec_id``). ``id_column`` names the record id; by default records
are numbered by data row.
"""

from __future__ import annotations

from pathlib import Path

from cxid.errors import ConfigError
from cxid.ingest._common import ColumnMapping, TableLayout, check_table_source, read_table_source
from cxid.schema import ReadResult

LAYOUT = TableLayout(kind="tabular", columns={})


def check(
    path: Path,
    *,
    source: str,
    mapping: ColumnMapping | None = None,
    id_column: str | None = None,
) -> None:
    """Check that a mapping is given, its keys are known and its columns exist."""
    if not mapping:
        raise ConfigError(
            f"source {source!r} (tabular): a mapping is required "
            '(canonical column = "file column")'
        )
    check_table_source(path, LAYOUT, source=source, mapping=mapping, id_column=id_column)


def read(
    path: str | Path,
    *,
    source: str,
    mapping: ColumnMapping | None = None,
    id_column: str | None = None,
) -> ReadResult:
    """Read a mapped table; a row with an empty id or a bad observed_at is rejected."""
    check(Path(path), source=source, mapping=mapping, id_column=id_column)
    return read_table_source(path, LAYOUT, source=source, mapping=mapping, id_column=id_column)


__all__ = ["LAYOUT", "check", "read"]
