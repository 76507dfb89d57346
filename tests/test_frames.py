"""Shared Arrow helpers: dictionary codes and repeated keys."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from cxid._frames import dictionary_codes, repeated_keys


def test_dictionary_codes_of_arrays_and_chunked_columns():
    values = ["b", None, "a", "b", "é", "a"]
    codes, dictionary = dictionary_codes(pa.array(values))
    assert codes.tolist() == [0, -1, 1, 0, 2, 1]
    assert dictionary.to_pylist() == ["b", "a", "é"]
    chunked = pa.chunked_array([pa.array(values[:3], pa.large_string()),
                                pa.array(values[3:], pa.large_string())])
    c_codes, c_dictionary = dictionary_codes(chunked)
    assert [c_dictionary[c].as_py() if c >= 0 else None for c in c_codes] == values
    empty_codes, _ = dictionary_codes(pa.chunked_array([], pa.string()))
    assert len(empty_codes) == 0


def test_repeated_keys_skips_missing_and_rows_not_ok():
    keys = np.array([3, 3, -1, -1, 5, 3, 5])
    ok = np.array([True, True, True, True, False, True, True])
    assert repeated_keys(keys, ok).tolist() == [False, True, False, False, False, True,
                                                False]
