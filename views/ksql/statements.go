package ksql

import (
	"context"
	"net/http"

	"github.com/tradeflow/tradeflow/processor"
)

// The formats of the count table as ksqlDB would name them: a string key
// (symbol@window start) and a protobuf value (proto/).
const (
	keyFormat   = "KAFKA"
	valueFormat = "PROTOBUF"
)

// ksql is POST /ksql: LIST TABLES, SHOW TABLES and DESCRIBE, one entity
// per statement, in ksqlDB's shapes (TablesList, SourceDescriptionEntity).
func (s *Server) ksql(w http.ResponseWriter, r *http.Request) {
	sql, ok := readStatement(w, r, false)
	if !ok {
		return
	}
	stmts, err := ParseAll(sql)
	if err != nil {
		writeError(w, statementError(codeBadStatement, err.Error(), sql))
		return
	}
	entities := make([]any, 0, len(stmts))
	for _, p := range stmts {
		switch st := p.Statement.(type) {
		case *Select:
			writeError(w, statementError(codeQueryEndpoint,
				"The following statement types should be issued to the websocket endpoint '/query':\n\t* PRINT\n\t* SELECT", p.Text))
			return
		case ListTables:
			entities = append(entities, s.tables(p.Text))
		case *Describe:
			entities = append(entities, s.describe(r.Context(), st, p.Text))
		}
	}
	writeJSON(w, v1ContentType(r), entities)
}

type tableInfo struct {
	Type        string `json:"type"`
	Name        string `json:"name"`
	Topic       string `json:"topic"`
	KeyFormat   string `json:"keyFormat"`
	ValueFormat string `json:"valueFormat"`
	IsWindowed  bool   `json:"isWindowed"`
}

func (s *Server) tables(text string) any {
	var tables []tableInfo
	for _, t := range processor.Tables() {
		tables = append(tables, tableInfo{"TABLE", t.Name, string(processor.CountTable), keyFormat, valueFormat, true})
	}
	return map[string]any{"@type": "tables", "statementText": text, "tables": tables, "warnings": []any{}}
}

type fieldInfo struct {
	Name   string         `json:"name"`
	Schema map[string]any `json:"schema"`
	Type   string         `json:"type,omitempty"` // KEY for key columns
}

func (s *Server) describe(ctx context.Context, d *Describe, text string) any {
	var partitions, replication int
	if s.Topic != nil {
		var err error
		if partitions, replication, err = s.Topic(ctx); err != nil {
			partitions, replication = 0, 0
		}
	}
	var fields []fieldInfo
	for _, c := range allColumns() {
		f := fieldInfo{Name: c.Name(d.Table), Schema: map[string]any{"type": c.Type(), "fields": nil, "memberSchema": nil}}
		if c.Key() {
			f.Type = "KEY"
		}
		fields = append(fields, f)
	}
	return map[string]any{
		"@type": "sourceDescription", "statementText": text, "warnings": []any{},
		"sourceDescription": map[string]any{
			"name": d.Table.Name, "windowType": "TUMBLING", "readQueries": []any{}, "writeQueries": []any{},
			"fields": fields, "type": "TABLE", "timestamp": "", "statistics": "", "errorStats": "",
			"extended": d.Extended, "keyFormat": keyFormat, "valueFormat": valueFormat,
			"topic": string(processor.CountTable), "partitions": partitions, "replication": replication,
			"statement": "", "queryOffsetSummaries": []any{}, "sourceConstraints": []any{},
			"clusterStatistics": []any{}, "clusterErrorStats": []any{},
		},
	}
}
