"""The CSV text reader shared by the claims, exposure and history tables (simulation.text_table)."""

from __future__ import annotations

import pytest

from simulation.history.table import HistoryDataError, read_history
from simulation.text_table import (
    RECORD_LINE,
    read_csv_text,
    strip_header,
    text_records,
)


def test_records_keep_their_file_lines_across_blank_lines_and_quoted_newlines(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text('\ufeff a , b\n1, x \n\n"2","two\nlines"\n3,y\n', encoding="utf-8")
    raw = read_csv_text(path)
    assert strip_header(raw) == []
    records = text_records(raw)
    assert list(records.columns) == [RECORD_LINE, "a", "b"]
    assert records[RECORD_LINE].tolist() == [2, 4, 6]  # line 3 is blank; record 2 spans 4-5
    assert records["a"].tolist() == ["1", "2", "3"] and records["b"].iloc[0] == "x"


def test_a_column_written_twice_is_reported_after_stripping(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("a, a ,b\n1,2,3\n")
    raw = read_csv_text(path)
    assert strip_header(raw) == ["a"]


def test_the_history_table_words_its_own_errors(tmp_path):
    path = tmp_path / "h.csv"
    path.write_text("fund,year, fund \nbasic,2019,basic\n")  # pandas renames an exact repeat
    with pytest.raises(HistoryDataError, match="header: expected each column name once"):
        read_history(path)
