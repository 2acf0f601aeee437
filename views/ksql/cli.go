package ksql

import (
	"context"
	"fmt"
	"io"
	"strings"
)

// Run runs one statement with c and prints its answer to out as the
// ksqlDB CLI does: a pull query's rows as an aligned table, a push query's
// rows as they come (until its LIMIT or ctx is done: Ctrl-C), LIST TABLES
// and DESCRIBE as tables. A statement that does not parse is not sent.
func Run(ctx context.Context, c *Client, sql string, out io.Writer) error {
	st, err := Parse(sql)
	if err != nil {
		return err
	}
	sel, ok := st.(*Select)
	if !ok {
		entities, err := c.Statement(ctx, sql)
		if err != nil {
			return err
		}
		for _, e := range entities {
			printEntity(out, e)
		}
		return nil
	}
	var header Header
	if !sel.Push {
		var rows [][]string
		err := c.Query(ctx, sql, func(h Header) { header = h }, func(vs []any) { rows = append(rows, cells(vs)) })
		if err != nil {
			return err
		}
		printTable(out, header.ColumnNames, rows)
		fmt.Fprintf(out, "Query terminated\n")
		return nil
	}
	var widths []int
	err = c.Query(ctx, sql, func(h Header) {
		for _, n := range h.ColumnNames {
			widths = append(widths, max(len(n), 15))
		}
		line := border(widths)
		fmt.Fprint(out, line, row(widths, h.ColumnNames), line)
	}, func(vs []any) { fmt.Fprint(out, row(widths, cells(vs))) })
	if err == nil || ctx.Err() != nil { // ended, or interrupted
		fmt.Fprintf(out, "Query terminated\n")
		return nil
	}
	return err
}

func cells(vs []any) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		if v == nil {
			out[i] = "null"
		} else {
			out[i] = fmt.Sprint(v)
		}
	}
	return out
}

// printTable prints rows under names, each column as wide as its widest
// cell.
func printTable(out io.Writer, names []string, rows [][]string) {
	widths := make([]int, len(names))
	for i, n := range names {
		widths[i] = len(n)
	}
	for _, r := range rows {
		for i, c := range r {
			if i < len(widths) {
				widths[i] = max(widths[i], len(c))
			}
		}
	}
	line := border(widths)
	fmt.Fprint(out, line, row(widths, names), line)
	for _, r := range rows {
		fmt.Fprint(out, row(widths, r))
	}
	fmt.Fprint(out, line)
}

func border(widths []int) string {
	var b strings.Builder
	for _, w := range widths {
		b.WriteString("+" + strings.Repeat("-", w+2))
	}
	return b.String() + "+\n"
}

func row(widths []int, cells []string) string {
	var b strings.Builder
	for i, w := range widths {
		c := ""
		if i < len(cells) {
			c = cells[i]
		}
		fmt.Fprintf(&b, "| %-*s ", w, c)
	}
	return b.String() + "|\n"
}

// printEntity prints one answer of /ksql: a table list or a description.
func printEntity(out io.Writer, e map[string]any) {
	switch e["@type"] {
	case "tables":
		var rows [][]string
		tables, _ := e["tables"].([]any)
		for _, t := range tables {
			t, _ := t.(map[string]any)
			rows = append(rows, []string{fmt.Sprint(t["name"]), fmt.Sprint(t["topic"]), fmt.Sprint(t["keyFormat"]),
				fmt.Sprint(t["valueFormat"]), fmt.Sprint(t["isWindowed"])})
		}
		printTable(out, []string{"Table Name", "Kafka Topic", "Key Format", "Value Format", "Windowed"}, rows)
	case "sourceDescription":
		d, _ := e["sourceDescription"].(map[string]any)
		fmt.Fprintf(out, "Name                 : %v\n", d["name"])
		var rows [][]string
		fields, _ := d["fields"].([]any)
		for _, f := range fields {
			f, _ := f.(map[string]any)
			s, _ := f["schema"].(map[string]any)
			typ := fmt.Sprint(s["type"])
			if f["type"] == "KEY" {
				typ += " (key)"
			}
			rows = append(rows, []string{fmt.Sprint(f["name"]), typ})
		}
		printTable(out, []string{"Field", "Type"}, rows)
		fmt.Fprintf(out, "Windowed by %v, topic %v (%v partitions, replication %v)\n", d["windowType"], d["topic"], d["partitions"], d["replication"])
	default:
		fmt.Fprintf(out, "%v\n", e)
	}
}
