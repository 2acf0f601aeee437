package ksql

import (
	"encoding/json"
	"io"
	"net/http"
)

// rowWriter writes a query's answer in one of ksqlDB's formats.
type rowWriter interface {
	header(queryID string, sel *Select) error
	// row writes one row, its columns as a JSON array.
	row(columns []byte, tombstone bool) error
	// end closes the answer; final is the completion message of the
	// formats that have one.
	end(final string) error
	// fail ends the answer with an error (after the header: the status
	// is sent).
	fail(e ksqlError) error
	// tombstones reports whether the format can say a row was deleted.
	tombstones() bool
}

// queryHeader is /query-stream's header object.
type queryHeader struct {
	QueryID     string   `json:"queryId"`
	ColumnNames []string `json:"columnNames"`
	ColumnTypes []string `json:"columnTypes"`
}

func newQueryHeader(id string, sel *Select) queryHeader {
	h := queryHeader{QueryID: id}
	for _, c := range sel.Columns {
		h.ColumnNames = append(h.ColumnNames, c.Name(sel.Table))
		h.ColumnTypes = append(h.ColumnTypes, c.Type())
	}
	return h
}

// writeLine writes v as JSON after prefix.
func writeLine(w http.ResponseWriter, prefix string, v any, suffix string) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(append([]byte(prefix), b...), suffix...)
	_, err = w.Write(b)
	return err
}

// writeRaw writes b, already JSON, between prefix and suffix.
func writeRaw(w http.ResponseWriter, prefix string, b []byte, suffix string) error {
	if _, err := io.WriteString(w, prefix); err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		return err
	}
	_, err := io.WriteString(w, suffix)
	return err
}

// delimitedWriter is application/vnd.ksqlapi.delimited.v1: the header,
// then one JSON array per row, each on its own line; an error after the
// header is an error object on its own line.
type delimitedWriter struct{ w http.ResponseWriter }

func (d *delimitedWriter) header(id string, sel *Select) error {
	d.w.Header().Set("Content-Type", delimited)
	return writeLine(d.w, "", newQueryHeader(id, sel), "\n")
}
func (d *delimitedWriter) row(columns []byte, _ bool) error { return writeRaw(d.w, "", columns, "\n") }
func (d *delimitedWriter) end(string) error                 { return nil }
func (d *delimitedWriter) fail(e ksqlError) error           { return writeLine(d.w, "", e, "\n") }
func (d *delimitedWriter) tombstones() bool                 { return false }

// jsonArrayWriter is /query-stream's application/json: one JSON array
// holding the header and the rows.
type jsonArrayWriter struct{ w http.ResponseWriter }

func (j *jsonArrayWriter) header(id string, sel *Select) error {
	j.w.Header().Set("Content-Type", "application/json")
	return writeLine(j.w, "[", newQueryHeader(id, sel), "")
}
func (j *jsonArrayWriter) row(columns []byte, _ bool) error { return writeRaw(j.w, ",", columns, "") }
func (j *jsonArrayWriter) end(string) error {
	_, err := j.w.Write([]byte("]\n"))
	return err
}
func (j *jsonArrayWriter) fail(e ksqlError) error { return writeLine(j.w, ",", e, "]\n") }
func (j *jsonArrayWriter) tombstones() bool       { return false }

// v1Writer is /query's application/vnd.ksql.v1+json: a JSON array of
// {"header":...}, {"row":...} objects and a {"finalMessage":...}, one per
// line, streamed in chunks.
type v1Writer struct {
	w           http.ResponseWriter
	contentType string
}

func (v *v1Writer) header(id string, sel *Select) error {
	v.w.Header().Set("Content-Type", v.contentType)
	h := map[string]any{"header": map[string]string{"queryId": id, "schema": schema(sel)}}
	return writeLine(v.w, "[", h, "")
}

func (v *v1Writer) row(columns []byte, tombstone bool) error {
	suffix := "}}"
	if tombstone {
		suffix = `,"tombstone":true}}`
	}
	return writeRaw(v.w, ",\n{\"row\":{\"columns\":", columns, suffix)
}

func (v *v1Writer) end(final string) error {
	return writeLine(v.w, ",\n", map[string]string{"finalMessage": final}, "]\n")
}

func (v *v1Writer) fail(e ksqlError) error {
	return writeLine(v.w, ",\n", map[string]any{"errorMessage": e}, "]\n")
}
func (v *v1Writer) tombstones() bool { return true }
