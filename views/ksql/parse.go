package ksql

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/tradeflow/tradeflow/processor"
)

// Statement is one parsed statement: a *Select, ListTables or a *Describe.
type Statement interface{ statement() }

// ListTables is LIST TABLES or SHOW TABLES.
type ListTables struct{}

// Describe is DESCRIBE <table> [EXTENDED].
type Describe struct {
	Table    processor.Table
	Extended bool
}

// Select is a pull query, or a push query with EMIT CHANGES, on one of the
// four tables.
type Select struct {
	Table   processor.Table
	Columns []Column // in the order asked; SELECT * is every column
	Where   Filter
	Push    bool
	Limit   int // 0: no limit
}

func (ListTables) statement() {}
func (*Describe) statement()  {}
func (*Select) statement()    {}

// Column is a column of the four tables: the key columns SYMBOL,
// WINDOWSTART and WINDOWEND (ksqlDB's windowed key), and the count,
// named as the original statements named it (NUM_COMPLETED, ...).
type Column int

const (
	ColSymbol Column = iota
	ColWindowStart
	ColWindowEnd
	ColCount
)

// allColumns is SELECT *, in ksqlDB's order (keys first).
func allColumns() []Column { return []Column{ColSymbol, ColWindowStart, ColWindowEnd, ColCount} }

// Name is the column's name in table t.
func (c Column) Name(t processor.Table) string {
	switch c {
	case ColSymbol:
		return "SYMBOL"
	case ColWindowStart:
		return "WINDOWSTART"
	case ColWindowEnd:
		return "WINDOWEND"
	}
	return CountColumn(t)
}

// Type is the column's SQL type.
func (c Column) Type() string {
	if c == ColSymbol {
		return "STRING"
	}
	return "BIGINT"
}

// Key reports whether the column is part of the table's key.
func (c Column) Key() bool { return c != ColCount }

// CountColumn is the name of t's count column: NUM_COMPLETED for
// COMPLETED_PER_MINUTE.
func CountColumn(t processor.Table) string {
	return "NUM_" + strings.TrimSuffix(t.Name, "_PER_MINUTE")
}

// Filter is the WHERE clause, conjunctions only: a symbol, and closed
// ranges on the window start, the window end and the count.
type Filter struct {
	Symbol     *string
	Start, End Range
	Count      Range
}

// Range is [Lo, Hi]; all() holds every value.
type Range struct{ Lo, Hi int64 }

func all() Range { return Range{math.MinInt64, math.MaxInt64} }

// Contains reports whether v is in r.
func (r Range) Contains(v int64) bool { return v >= r.Lo && v <= r.Hi }

// Empty reports whether no value is in r.
func (r Range) Empty() bool { return r.Lo > r.Hi }

// narrow intersects r with the values that satisfy "column op v".
func (r Range) narrow(op string, v int64) Range {
	switch op {
	case "=":
		r.Lo, r.Hi = max(r.Lo, v), min(r.Hi, v)
	case "<":
		if v == math.MinInt64 {
			return Range{1, 0}
		}
		r.Hi = min(r.Hi, v-1)
	case "<=":
		r.Hi = min(r.Hi, v)
	case ">":
		if v == math.MaxInt64 {
			return Range{1, 0}
		}
		r.Lo = max(r.Lo, v+1)
	case ">=":
		r.Lo = max(r.Lo, v)
	}
	return r
}

// Parsed is one statement of several and its text, as ksqlDB echoes it
// (statementText: from its first token to its semicolon, which is added
// when missing).
type Parsed struct {
	Statement
	Text string
}

// Parse parses one statement (a trailing semicolon is optional).
func Parse(sql string) (Statement, error) {
	stmts, err := ParseAll(sql)
	if err != nil {
		return nil, err
	}
	if len(stmts) != 1 {
		return nil, &Error{Line: 1, Col: 1, Msg: "want exactly one statement, got " + strconv.Itoa(len(stmts))}
	}
	return stmts[0].Statement, nil
}

// ParseAll parses statements separated by semicolons, as POST /ksql takes
// them.
func ParseAll(sql string) ([]Parsed, error) {
	toks, err := lex(sql)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	var stmts []Parsed
	for p.peek().kind != tokEOF {
		from := p.peek().off
		s, err := p.statement()
		if err != nil {
			return nil, err
		}
		stmts = append(stmts, Parsed{s, strings.TrimSpace(sql[from:p.peek().off]) + ";"})
		if p.peek().kind != tokEOF {
			if _, err := p.expect(";"); err != nil {
				return nil, err
			}
		}
		for p.accept(";") {
		}
	}
	if len(stmts) == 0 {
		return nil, errAt(p.peek().at, "no statement")
	}
	return stmts, nil
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

// is reports whether t is the keyword or symbol want.
func is(t token, want string) bool {
	return (t.kind == tokWord || t.kind == tokSymbol) && t.text == want
}

func (p *parser) accept(want string) bool {
	if is(p.peek(), want) {
		p.i++
		return true
	}
	return false
}

func (p *parser) expect(want ...string) (token, error) {
	t := p.peek()
	for _, w := range want {
		if is(t, w) {
			p.i++
			return t, nil
		}
	}
	return t, errAt(t.at, "mismatched input %s expecting %s", t, strings.Join(quote(want), " or "))
}

func quote(words []string) []string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = "'" + w + "'"
	}
	return out
}

func (p *parser) statement() (Statement, error) {
	t, err := p.expect("SELECT", "LIST", "SHOW", "DESCRIBE")
	if err != nil {
		return nil, err
	}
	switch t.text {
	case "LIST", "SHOW":
		if _, err := p.expect("TABLES"); err != nil {
			return nil, err
		}
		return ListTables{}, nil
	case "DESCRIBE":
		table, err := p.table()
		if err != nil {
			return nil, err
		}
		return &Describe{Table: table, Extended: p.accept("EXTENDED")}, nil
	}
	return p.selectRest()
}

// identifier reads an identifier: unquoted (upper-cased, case-insensitive)
// or backquoted (as written; the tables' names are upper case).
func (p *parser) identifier(what string) (token, error) {
	t := p.peek()
	if t.kind != tokWord && t.kind != tokQuoted {
		return t, errAt(t.at, "mismatched input %s expecting %s", t, what)
	}
	p.i++
	return t, nil
}

func (p *parser) table() (processor.Table, error) {
	t, err := p.identifier("a table name")
	if err != nil {
		return processor.Table{}, err
	}
	for _, table := range processor.Tables() {
		if table.Name == t.text {
			return table, nil
		}
	}
	names := make([]string, 0, 4)
	for _, table := range processor.Tables() {
		names = append(names, table.Name)
	}
	return processor.Table{}, errAt(t.at, "%s does not exist; the tables are %s", t.text, strings.Join(names, ", "))
}

// column reads a column name of table; columns are resolved once the
// table is known, so a select list is read as tokens first.
func column(t token, table processor.Table) (Column, error) {
	for _, c := range allColumns() {
		if c.Name(table) == t.text {
			return c, nil
		}
	}
	names := make([]string, 0, 4)
	for _, c := range allColumns() {
		names = append(names, c.Name(table))
	}
	return 0, errAt(t.at, "column %s cannot be resolved; %s has %s", t.text, table.Name, strings.Join(names, ", "))
}

func (p *parser) selectRest() (Statement, error) {
	var items []token
	star := p.accept("*")
	for !star {
		t, err := p.identifier("'*' or a column name")
		if err != nil {
			return nil, err
		}
		items = append(items, t)
		if !p.accept(",") {
			break
		}
	}
	if _, err := p.expect("FROM"); err != nil {
		return nil, err
	}
	table, err := p.table()
	if err != nil {
		return nil, err
	}
	s := &Select{Table: table, Columns: allColumns(), Where: Filter{Start: all(), End: all(), Count: all()}}
	if !star {
		s.Columns = nil
		for _, t := range items {
			c, err := column(t, table)
			if err != nil {
				return nil, err
			}
			s.Columns = append(s.Columns, c)
		}
	}
	if p.accept("WHERE") {
		for {
			if err := p.condition(s); err != nil {
				return nil, err
			}
			if !p.accept("AND") {
				break
			}
		}
	}
	if p.accept("EMIT") {
		if _, err := p.expect("CHANGES"); err != nil {
			return nil, err
		}
		s.Push = true
	}
	if p.accept("LIMIT") {
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if t.kind != tokNumber || err != nil || n < 1 {
			return nil, errAt(t.at, "mismatched input %s expecting a positive whole number after LIMIT", t)
		}
		s.Limit = n
	}
	return s, nil
}

// condition reads one comparison of the WHERE clause into s.Where:
// SYMBOL = 'X', or a window bound or count compared with =, <, <=, >, >=
// or BETWEEN ... AND ....
func (p *parser) condition(s *Select) error {
	t, err := p.identifier("a column name")
	if err != nil {
		return err
	}
	c, err := column(t, s.Table)
	if err != nil {
		return err
	}
	op, err := p.expect("=", "<", "<=", ">", ">=", "BETWEEN", "<>", "!=")
	if err != nil {
		return err
	}
	if op.text == "<>" || op.text == "!=" {
		return errAt(op.at, "%s is not supported in a WHERE clause here: use =, <, <=, >, >= or BETWEEN", op.text)
	}
	if c == ColSymbol {
		if op.text != "=" {
			return errAt(op.at, "SYMBOL can only be compared with =, got %s", op.text)
		}
		v := p.next()
		if v.kind != tokString {
			return errAt(v.at, "mismatched input %s expecting a string such as 'ZVV'", v)
		}
		if s.Where.Symbol != nil && *s.Where.Symbol != v.text {
			return errAt(t.at, "SYMBOL is compared with two different values")
		}
		s.Where.Symbol = &v.text
		return nil
	}
	r := &s.Where.Count
	switch c {
	case ColWindowStart:
		r = &s.Where.Start
	case ColWindowEnd:
		r = &s.Where.End
	}
	lo, err := p.literal(c)
	if err != nil {
		return err
	}
	if op.text != "BETWEEN" {
		*r = r.narrow(op.text, lo)
		return nil
	}
	if _, err := p.expect("AND"); err != nil {
		return err
	}
	hi, err := p.literal(c)
	if err != nil {
		return err
	}
	*r = r.narrow(">=", lo).narrow("<=", hi)
	return nil
}

// literal reads a BIGINT for column c: a whole number, or for a window
// bound an ISO-8601 string ('2026-12-03T10:15:00', zone optional: UTC) as
// ksqlDB accepts it.
func (p *parser) literal(c Column) (int64, error) {
	t := p.next()
	switch t.kind {
	case tokNumber:
		v, err := strconv.ParseInt(t.text, 10, 64)
		if err != nil {
			return 0, errAt(t.at, "%s is out of range for a BIGINT", t.text)
		}
		return v, nil
	case tokString:
		if c == ColCount {
			return 0, errAt(t.at, "mismatched input %s expecting a whole number", t)
		}
		if ms, ok := parseTime(t.text); ok {
			return ms, nil
		}
		return 0, errAt(t.at, "%s is not a timestamp: want epoch milliseconds or ISO-8601 such as '2026-12-03T10:15:00Z'", t)
	}
	return 0, errAt(t.at, "mismatched input %s expecting a number or a timestamp string", t)
}

// parseTime reads the ISO-8601 forms ksqlDB takes for window bounds, from
// the most precise; a string without a zone is UTC.
func parseTime(s string) (int64, bool) {
	for _, l := range [...]string{
		"2006-01-02T15:04:05.999999999Z07:00", "2006-01-02T15:04:05.999999999",
		"2006-01-02T15:04Z07:00", "2006-01-02T15:04", "2006-01-02T15", "2006-01-02",
	} {
		if t, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			return t.UnixMilli(), true
		}
	}
	return 0, false
}
