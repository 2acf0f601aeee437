package ksql

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Client runs statements against a ksqlDB API (tradeflow's, or ksqlDB's):
// `tradeflow query` is built on it.
type Client struct {
	URL   string // e.g. http://127.0.0.1:8080
	Token string // sent as a bearer token when set
	HTTP  *http.Client
}

// Header is a query's header: its id and columns.
type Header struct {
	QueryID     string   `json:"queryId"`
	ColumnNames []string `json:"columnNames"`
	ColumnTypes []string `json:"columnTypes"`
}

// ServerError is an error answer of the API: ksqlDB's error body.
type ServerError struct {
	Status  int
	Code    int    `json:"error_code"`
	Message string `json:"message"`
}

func (e *ServerError) Error() string {
	return fmt.Sprintf("%s (HTTP %d, error_code %d)", e.Message, e.Status, e.Code)
}

func (c *Client) post(ctx context.Context, path string, body any) (*http.Response, error) {
	b, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.URL, "/")+path, bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", delimited)
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		e := &ServerError{Status: resp.StatusCode}
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if json.Unmarshal(raw, e) != nil || e.Message == "" {
			e.Message = strings.TrimSpace(string(raw))
		}
		return nil, e
	}
	return resp, nil
}

// Query runs a SELECT through POST /query-stream: header is called once,
// then row for each row as it arrives, until the query ends (a pull
// query, or a push query's LIMIT) or ctx is done (a push query followed
// until Ctrl-C: then the error is ctx's).
func (c *Client) Query(ctx context.Context, sql string, header func(Header), row func([]any)) error {
	resp, err := c.post(ctx, "/query-stream", map[string]any{"sql": sql, "properties": map[string]any{}})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	lines := bufio.NewScanner(resp.Body)
	lines.Buffer(make([]byte, 64<<10), 16<<20)
	first := true
	for lines.Scan() {
		line := bytes.TrimSpace(lines.Bytes())
		if len(line) == 0 {
			continue
		}
		if first {
			var h Header
			if err := json.Unmarshal(line, &h); err != nil {
				return fmt.Errorf("query header %q: %w", line, err)
			}
			header(h)
			first = false
			continue
		}
		if line[0] == '{' { // an error after the header
			e := &ServerError{Status: http.StatusOK}
			if json.Unmarshal(line, e) != nil {
				e.Message = string(line)
			}
			return e
		}
		var values []any
		d := json.NewDecoder(bytes.NewReader(line))
		d.UseNumber()
		if err := d.Decode(&values); err != nil {
			return fmt.Errorf("row %q: %w", line, err)
		}
		row(values)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return lines.Err()
}

// Statement runs statements other than SELECT through POST /ksql and
// returns its entities, one per statement.
func (c *Client) Statement(ctx context.Context, sql string) ([]map[string]any, error) {
	resp, err := c.post(ctx, "/ksql", map[string]any{"ksql": sql, "streamsProperties": map[string]any{}})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var entities []map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&entities); err != nil {
		return nil, fmt.Errorf("answer of /ksql: %w", err)
	}
	if len(entities) == 0 {
		return nil, errors.New("answer of /ksql holds no entity")
	}
	return entities, nil
}
