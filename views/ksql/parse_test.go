package ksql

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/tradeflow/tradeflow/processor"
)

func ptr(s string) *string { return &s }

func TestParseSelect(t *testing.T) {
	completed := processor.Tables()[0]
	every := Filter{Start: all(), End: all(), Count: all()}
	with := func(f func(*Filter)) Filter { w := every; f(&w); return w }
	cases := []struct {
		sql  string
		want Select
	}{
		{"SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL='CFLT';",
			Select{Table: completed, Columns: allColumns(), Where: with(func(f *Filter) { f.Symbol = ptr("CFLT") })}},
		{"select symbol, num_completed from completed_per_minute where symbol = 'it''s'",
			Select{Table: completed, Columns: []Column{ColSymbol, ColCount}, Where: with(func(f *Filter) { f.Symbol = ptr("it's") })}},
		{"SELECT `WINDOWSTART`, `NUM_PENDING` FROM `PENDING_PER_MINUTE` LIMIT 3",
			Select{Table: processor.Tables()[1], Columns: []Column{ColWindowStart, ColCount}, Where: every, Limit: 3}},
		{"SELECT * FROM REJECTED_PER_MINUTE WHERE SYMBOL='A' AND WINDOWSTART >= 1000 AND WINDOWSTART < 5000 AND WINDOWEND <= 9000 EMIT CHANGES LIMIT 10;",
			Select{Table: processor.Tables()[3], Columns: allColumns(), Push: true, Limit: 10, Where: with(func(f *Filter) {
				f.Symbol, f.Start, f.End = ptr("A"), Range{1000, 4999}, Range{math.MinInt64, 9000}
			})}},
		{"SELECT * FROM FLAGGED_PER_MINUTE WHERE WINDOWSTART BETWEEN '2026-12-03T10:00:00' AND '2026-12-03T10:05:00Z' AND NUM_FLAGGED > 2",
			Select{Table: processor.Tables()[2], Columns: allColumns(), Where: with(func(f *Filter) {
				f.Start, f.Count = Range{1796292000000, 1796292300000}, Range{3, math.MaxInt64}
			})}},
		{"-- a comment\nSELECT /* inline */ * FROM COMPLETED_PER_MINUTE WHERE WINDOWSTART = -5",
			Select{Table: completed, Columns: allColumns(), Where: with(func(f *Filter) { f.Start = Range{-5, -5} })}},
		{"SELECT * FROM COMPLETED_PER_MINUTE WHERE WINDOWSTART > '2026-12-03'",
			Select{Table: completed, Columns: allColumns(), Where: with(func(f *Filter) { f.Start = Range{1796256000001, math.MaxInt64} })}},
	}
	for _, c := range cases {
		st, err := Parse(c.sql)
		if err != nil {
			t.Errorf("%q: %v", c.sql, err)
			continue
		}
		if got, ok := st.(*Select); !ok || !reflect.DeepEqual(*got, c.want) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.sql, st, c.want)
		}
	}
}

func TestParseOthers(t *testing.T) {
	stmts, err := ParseAll("LIST TABLES; show tables;;\nDESCRIBE completed_per_minute EXTENDED; DESCRIBE `PENDING_PER_MINUTE`")
	if err != nil {
		t.Fatal(err)
	}
	want := []Parsed{{ListTables{}, "LIST TABLES;"}, {ListTables{}, "show tables;"},
		{&Describe{Table: processor.Tables()[0], Extended: true}, "DESCRIBE completed_per_minute EXTENDED;"},
		{&Describe{Table: processor.Tables()[1]}, "DESCRIBE `PENDING_PER_MINUTE`;"}}
	if !reflect.DeepEqual(stmts, want) {
		t.Fatalf("got %+v, want %+v", stmts, want)
	}
}

// TestParseErrors checks that every error says where (line:column, from 1)
// and what.
func TestParseErrors(t *testing.T) {
	cases := []struct{ sql, want string }{
		{"SELECT * FORM COMPLETED_PER_MINUTE", "line 1:10: mismatched input 'FORM' expecting 'FROM'"},
		{"SELECT * FROM TRADES", "line 1:15: TRADES does not exist; the tables are COMPLETED_PER_MINUTE, PENDING_PER_MINUTE, FLAGGED_PER_MINUTE, REJECTED_PER_MINUTE"},
		{"SELECT * FROM `completed_per_minute`", "line 1:15: completed_per_minute does not exist"},
		{"SELECT PRICE FROM COMPLETED_PER_MINUTE", "line 1:8: column PRICE cannot be resolved; COMPLETED_PER_MINUTE has SYMBOL, WINDOWSTART, WINDOWEND, NUM_COMPLETED"},
		{"SELECT NUM_PENDING FROM COMPLETED_PER_MINUTE", "line 1:8: column NUM_PENDING cannot be resolved"},
		{"SELECT * FROM COMPLETED_PER_MINUTE\nWHERE SYMBOL = CFLT", "line 2:16: mismatched input 'CFLT' expecting a string"},
		{"SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL > 'A'", "line 1:49: SYMBOL can only be compared with ="},
		{"SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL = 'A' AND SYMBOL = 'B'", "line 1:59: SYMBOL is compared with two different values"},
		{"SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL = 'A", "line 1:51: ' not closed"},
		{"SELECT * FROM COMPLETED_PER_MINUTE WHERE WINDOWSTART > 'yesterday'", "line 1:56: 'yesterday' is not a timestamp"},
		{"SELECT * FROM COMPLETED_PER_MINUTE WHERE WINDOWSTART > 1.5", "line 1:56: want a whole number"},
		{"SELECT * FROM COMPLETED_PER_MINUTE WHERE WINDOWSTART > 99999999999999999999", "line 1:56: 99999999999999999999 is out of range"},
		{"SELECT * FROM COMPLETED_PER_MINUTE WHERE WINDOWSTART <> 5", "line 1:54: <> is not supported"},
		{"SELECT * FROM COMPLETED_PER_MINUTE LIMIT 0", "line 1:42: mismatched input '0' expecting a positive whole number"},
		{"SELECT * FROM COMPLETED_PER_MINUTE EMIT FINAL", "line 1:41: mismatched input 'FINAL' expecting 'CHANGES'"},
		{"SELECT * FROM COMPLETED_PER_MINUTE LIMIT 1 LIMIT 2", "line 1:44: mismatched input 'LIMIT' expecting ';'"},
		{"SELECT * FROM", "line 1:14: mismatched input end of statement expecting a table name"},
		{"DROP TABLE X;", "line 1:1: mismatched input 'DROP' expecting 'SELECT' or 'LIST' or 'SHOW' or 'DESCRIBE'"},
		{"   ", "line 1:4: no statement"},
		{"SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL = 'A' # x", "line 1:55: unexpected character '#'"},
		{"SELECT * /* open", "line 1:10: comment not closed"},
		{"LIST TABLES; LIST TABLES", "line 1:1: want exactly one statement, got 2"},
	}
	for _, c := range cases {
		_, err := Parse(c.sql)
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: got %v, want an *Error", c.sql, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%q:\n got %v\nwant %s...", c.sql, err, c.want)
		}
	}
}

// FuzzParse: no input panics, and every error has a position within the
// statement.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"SELECT * FROM COMPLETED_PER_MINUTE WHERE SYMBOL='CFLT';",
		"SELECT SYMBOL, WINDOWSTART FROM `PENDING_PER_MINUTE` WHERE WINDOWSTART BETWEEN '2026-12-03' AND 5 EMIT CHANGES LIMIT 3",
		"LIST TABLES; DESCRIBE FLAGGED_PER_MINUTE EXTENDED;",
		"SELECT * FROM X WHERE 'a''b' -- c\n/* d */",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, sql string) {
		stmts, err := ParseAll(sql)
		if err == nil {
			if len(stmts) == 0 {
				t.Fatal("no error and no statement")
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("%q: error %v is not an *Error", sql, err)
		}
		lines := strings.Split(sql, "\n")
		if e.Line < 1 || e.Line > len(lines) || e.Col < 1 || e.Col > len([]rune(lines[e.Line-1]))+1 {
			t.Fatalf("%q: position %d:%d outside the statement", sql, e.Line, e.Col)
		}
	})
}
