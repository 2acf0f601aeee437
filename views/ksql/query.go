package ksql

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/tradeflow/tradeflow/views"
)

// queryStream is POST /query-stream: a header object, then the rows as
// JSON arrays, newline-delimited (the default) or inside one JSON array
// (Accept: application/json).
func (s *Server) queryStream(w http.ResponseWriter, r *http.Request) {
	var out rowWriter
	switch negotiate(r.Header.Get("Accept")) {
	case delimited:
		out = &delimitedWriter{w: w}
	case "application/json":
		out = &jsonArrayWriter{w: w}
	default:
		writeError(w, genericError(codeNotAcceptable, "Accept "+r.Header.Get("Accept")+": this endpoint answers "+delimited+" or application/json"))
		return
	}
	sql, ok := readStatement(w, r, true)
	if !ok {
		return
	}
	if sel, ok := parseSelect(w, sql); ok {
		s.run(r.Context(), w, sel, out)
	}
}

// negotiate picks the answer's content type from Accept: the delimited
// format unless only application/json is asked for; "" when neither is
// acceptable.
func negotiate(accept string) string {
	if strings.TrimSpace(accept) == "" {
		return delimited
	}
	json := false
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(part)
		if err != nil {
			continue
		}
		switch mt {
		case delimited, "*/*", "application/*":
			return delimited
		case "application/json":
			json = true
		}
	}
	if json {
		return "application/json"
	}
	return ""
}

// query is POST /query, ksqlDB's older chunked API: one JSON array of a
// header, rows and a final message, streamed as it is produced.
func (s *Server) query(w http.ResponseWriter, r *http.Request) {
	sql, ok := readStatement(w, r, false)
	if !ok {
		return
	}
	if sel, ok := parseSelect(w, sql); ok {
		s.run(r.Context(), w, sel, &v1Writer{w: w, contentType: v1ContentType(r)})
	}
}

// run answers sel into out: the rows that are there, then, for a push
// query, each change until the client goes, the query is closed, its
// LIMIT is reached or it falls too far behind.
func (s *Server) run(ctx context.Context, w http.ResponseWriter, sel *Select, out rowWriter) {
	id := newQueryID(sel)
	flush := func() { _ = http.NewResponseController(w).Flush() } // the client went away: the next write fails
	var sub *views.Subscription
	if sel.Push {
		// Subscribed before the current rows are read, so that no change
		// falls between them (one may come twice: a row is an upsert).
		symbol := ""
		if sel.Where.Symbol != nil {
			symbol = *sel.Where.Symbol
		}
		sub, _ = s.Source.Subscribe(symbol, s.pushBuffer(), "")
		defer sub.Close()
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		defer s.register(id, cancel)()
	}
	if out.header(id, sel) != nil {
		return
	}
	q := &rows{sel: sel, out: out}
	if err := s.current(q); err != nil || q.done() {
		if err != nil {
			_ = out.fail(genericError(codeBadRequest, err.Error()))
		} else {
			_ = out.end(q.final())
		}
		return
	}
	if !sel.Push {
		_ = out.end("Query Completed")
		return
	}
	flush()
	for {
		select {
		case <-ctx.Done():
			_ = out.end("Query Completed") // closed; a gone client reads nothing
			return
		case ch, ok := <-sub.C:
			if !ok {
				_ = out.fail(genericError(codeServerError, fmt.Sprintf(
					"push query %s dropped: the client fell more than %d changes behind", id, s.pushBuffer())))
				return
			}
			if q.change(ch) != nil {
				return
			}
			if q.done() {
				_ = out.end(q.final())
				return
			}
			if len(sub.C) == 0 {
				flush()
			}
		}
	}
}

// current writes the rows there are: one symbol's, or every symbol's
// (a table scan, bounded by LIMIT or ScanRows).
func (s *Server) current(q *rows) error {
	symbols := []string{}
	if q.sel.Where.Symbol != nil {
		symbols = append(symbols, *q.sel.Where.Symbol)
	} else {
		symbols = s.Source.Symbols()
	}
	// Push queries are not bounded: they do not end anyway.
	scan := q.sel.Where.Symbol == nil && q.sel.Limit == 0 && !q.sel.Push
	bound := cmp.Or(s.ScanRows, DefaultScanRows)
	for _, symbol := range symbols {
		ws, err := s.Source.Windows(symbol, q.sel.Where.Start.Lo, q.sel.Where.Start.Hi)
		if err != nil {
			return err
		}
		for i := len(ws) - 1; i >= 0; i-- { // oldest first
			if scan && q.n >= bound {
				return fmt.Errorf("table scan stopped after %d rows: add LIMIT, or WHERE SYMBOL='...'", q.n)
			}
			if err := q.window(symbol, ws[i]); err != nil || q.done() {
				return err
			}
		}
	}
	return nil
}

func (s *Server) pushBuffer() int { return cmp.Or(s.PushBuffer, DefaultPushBuffer) }

// rows filters, projects and counts the rows of one query.
type rows struct {
	sel *Select
	out rowWriter
	n   int
	// encode's: the last symbol and its JSON, and the row's buffer
	// (written before the next row is encoded).
	symbol string
	quoted []byte
	buf    []byte
}

func (q *rows) done() bool { return q.sel.Limit > 0 && q.n >= q.sel.Limit }

func (q *rows) final() string {
	if q.done() {
		return "Limit Reached"
	}
	return "Query Completed"
}

// window writes symbol's window if it is a row of the query: the table has
// a row for a window with at least one trade of its disposition.
func (q *rows) window(symbol string, w views.Window) error {
	n := w.Count(q.sel.Table.Disposition)
	f := q.sel.Where
	if n == 0 || !f.Start.Contains(w.WindowStart) || !f.End.Contains(w.WindowEnd) || !f.Count.Contains(n) {
		return nil
	}
	q.n++
	return q.out.row(q.encode(symbol, w, n, false), false)
}

// change writes a push query's row for ch: when its table's count changed,
// or a tombstone when the window was removed (where the format has them).
func (q *rows) change(ch views.Change) error {
	d := q.sel.Table.Disposition
	if ch.Deleted {
		if ch.Prev.Count(d) == 0 || !q.out.tombstones() {
			return nil
		}
		q.n++
		return q.out.row(q.encode(ch.Symbol, ch.Prev, 0, true), true)
	}
	if ch.Window.Count(d) == ch.Prev.Count(d) {
		return nil
	}
	return q.window(ch.Symbol, ch.Window)
}

// encode is the JSON array of a row's columns: symbol's window w with
// count n, or with a null count for a tombstone. A pull query answers
// many rows per symbol, so the symbol is encoded once per symbol.
func (q *rows) encode(symbol string, w views.Window, n int64, tombstone bool) []byte {
	if symbol != q.symbol || q.quoted == nil {
		q.symbol = symbol
		q.quoted, _ = json.Marshal(symbol) // a string always encodes
	}
	b := q.buf[:0]
	b = append(b, '[')
	for i, c := range q.sel.Columns {
		if i > 0 {
			b = append(b, ',')
		}
		switch {
		case c == ColSymbol:
			b = append(b, q.quoted...)
		case c == ColWindowStart:
			b = strconv.AppendInt(b, w.WindowStart, 10)
		case c == ColWindowEnd:
			b = strconv.AppendInt(b, w.WindowEnd, 10)
		case tombstone:
			b = append(b, "null"...)
		default:
			b = strconv.AppendInt(b, n, 10)
		}
	}
	q.buf = append(b, ']')
	return q.buf
}

// schema is the /query header's schema: "`SYMBOL` STRING KEY, ...".
func schema(sel *Select) string {
	parts := make([]string, len(sel.Columns))
	for i, c := range sel.Columns {
		parts[i] = "`" + c.Name(sel.Table) + "` " + c.Type()
		if c.Key() {
			parts[i] += " KEY"
		}
	}
	return strings.Join(parts, ", ")
}
