// Package ksql answers ksqlDB's REST API over the count view, so that
// ksqlDB's clients and habits work against tradeflow: pull and push
// (EMIT CHANGES) queries on the four tables through POST /query-stream and
// the older POST /query, LIST TABLES and DESCRIBE through POST /ksql,
// POST /close-query, GET /info and GET /healthcheck, in ksqlDB's formats
// (its REST API documentation). Statements are parsed by a small grammar
// of their own (parse.go), not ksqlDB's whole language: SELECT on one
// table with conjunctions of comparisons, EMIT CHANGES, LIMIT.
//
// Every worker's view holds the whole count table, so any worker answers
// any symbol, where a ksqlDB pull query fails when the key lives on
// another server.
package ksql

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/tradeflow/tradeflow/views"
)

// Source is what the queries read (views.Counts).
type Source interface {
	Windows(symbol string, from, to int64) ([]views.Window, error)
	Symbols() []string
	Subscribe(symbol string, buffer int, after string) (*views.Subscription, bool)
}

// Server answers the ksqlDB endpoints.
type Server struct {
	Source Source
	// Token, when set, is required on the query endpoints
	// (views.Authorized); /healthcheck stays open, like /healthz.
	Token string
	// Ready says whether the worker serves current counts (/healthcheck).
	Ready func() bool
	// Version is tradeflow's version, for /info.
	Version string
	// ClusterID returns the Kafka cluster's id, for /info ("" if unknown).
	ClusterID func(context.Context) string
	// Topic returns the count table topic's partitions and replication
	// factor, for DESCRIBE (nil, or an error: zero).
	Topic func(context.Context) (partitions, replication int, err error)
	// ScanRows bounds a pull query's table scan (no WHERE SYMBOL) without
	// LIMIT: it ends with an error after that many rows instead of
	// answering at length (ksqlDB refuses such scans unless
	// ksql.query.pull.table.scan.enabled is set). Zero is
	// DefaultScanRows.
	ScanRows int
	// PushBuffer is how many changes a push query may fall behind before
	// it is dropped (the pipeline is never slowed for a slow client).
	// Zero is DefaultPushBuffer.
	PushBuffer int

	mu     sync.Mutex
	pushes map[string]context.CancelFunc // running push queries by id
}

// The defaults of Server's bounds.
const (
	DefaultScanRows   = 10_000
	DefaultPushBuffer = 1024
)

// Content types of ksqlDB's API.
const (
	delimited = "application/vnd.ksqlapi.delimited.v1"
	v1JSON    = "application/vnd.ksql.v1+json"
)

// Routes registers the endpoints with handle (the API's mux, which counts
// and times them by pattern).
func (s *Server) Routes(handle func(pattern string, h http.Handler)) {
	handle("POST /query-stream", s.authorized(s.queryStream))
	handle("POST /query", s.authorized(s.query))
	handle("POST /ksql", s.authorized(s.ksql))
	handle("POST /close-query", s.authorized(s.closeQuery))
	handle("GET /info", s.authorized(s.info))
	handle("GET /healthcheck", http.HandlerFunc(s.healthcheck))
}

// ksqlError is ksqlDB's error body (KsqlErrorMessage, and
// KsqlStatementErrorMessage with the statement).
type ksqlError struct {
	Type          string     `json:"@type"`
	ErrorCode     int        `json:"error_code"`
	Message       string     `json:"message"`
	StatementText *string    `json:"statementText,omitempty"`
	Entities      []struct{} `json:"entities,omitempty"`
}

// ksqlDB's error codes: the HTTP status times 100, plus a detail.
const (
	codeBadRequest    = 40000
	codeBadStatement  = 40001
	codeQueryEndpoint = 40002
	codeUnauthorized  = 40100
	codeNotFound      = 40400
	codeNotAcceptable = 40600
	codeServerError   = 50000
)

func genericError(code int, msg string) ksqlError {
	return ksqlError{Type: "generic_error", ErrorCode: code, Message: msg}
}

func statementError(code int, msg, sql string) ksqlError {
	return ksqlError{Type: "statement_error", ErrorCode: code, Message: msg, StatementText: &sql, Entities: []struct{}{}}
}

// writeError writes e with the HTTP status its code implies.
func writeError(w http.ResponseWriter, e ksqlError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.ErrorCode / 100)
	_ = json.NewEncoder(w).Encode(e) // the client went away; nothing to do
}

func (s *Server) authorized(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !views.Authorized(r, s.Token) {
			w.Header().Set("WWW-Authenticate", `Basic realm="tradeflow"`)
			writeError(w, genericError(codeUnauthorized, views.Unauthorized))
			return
		}
		h(w, r)
	})
}

// maxBody bounds a request body: a statement, not data.
const maxBody = 1 << 20

// decodeBody reads r's JSON body into v; a bad body is written as an
// error and false returned.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err == nil {
		err = json.Unmarshal(body, v)
	}
	if err != nil {
		writeError(w, genericError(codeBadRequest, "request body is not a JSON object as the endpoint takes: "+err.Error()))
		return false
	}
	return true
}

// readStatement reads a request body's statement, "sql" for
// /query-stream and "ksql" for /query and /ksql, with its session
// variables substituted; false when it wrote an error. properties (and
// streamsProperties, which the curl example of ksqlDB's documentation
// sends) tune ksqlDB's engine; nothing here depends on them, so they are
// accepted and unused.
func readStatement(w http.ResponseWriter, r *http.Request, streamAPI bool) (string, bool) {
	var req struct {
		SQL              string         `json:"sql"`
		KSQL             string         `json:"ksql"`
		SessionVariables map[string]any `json:"sessionVariables"`
	}
	if !decodeBody(w, r, &req) {
		return "", false
	}
	text := req.KSQL
	if streamAPI {
		text = req.SQL
	}
	sql, err := substitute(text, req.SessionVariables)
	if err != nil {
		writeError(w, statementError(codeBadStatement, err.Error(), text))
		return "", false
	}
	return sql, true
}

// v1ContentType is the answer's type on /query and /ksql: ksqlDB's, or
// plain JSON when only that is asked for.
func v1ContentType(r *http.Request) string {
	if negotiate(r.Header.Get("Accept")) == "application/json" {
		return "application/json"
	}
	return v1JSON
}

// parseSelect parses sql for a query endpoint: a SELECT, or an error
// written in ksqlDB's shape.
func parseSelect(w http.ResponseWriter, sql string) (*Select, bool) {
	st, err := Parse(sql)
	if err != nil {
		writeError(w, statementError(codeBadStatement, err.Error(), sql))
		return nil, false
	}
	sel, ok := st.(*Select)
	if !ok {
		writeError(w, statementError(codeBadStatement, "only SELECT statements are run on this endpoint; send others to POST /ksql", sql))
		return nil, false
	}
	return sel, true
}

// substitute replaces ${name} with its session variable, as ksqlDB does
// (0.18 and later); an unknown variable is an error.
func substitute(sql string, vars map[string]any) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(sql, "${")
		if i < 0 {
			b.WriteString(sql)
			return b.String(), nil
		}
		j := strings.IndexByte(sql[i:], '}')
		if j < 0 {
			return "", errors.New("${ without a closing }")
		}
		name := sql[i+2 : i+j]
		v, ok := vars[name]
		if !ok {
			return "", fmt.Errorf("no value for variable ${%s} in sessionVariables", name)
		}
		b.WriteString(sql[:i])
		fmt.Fprint(&b, v)
		sql = sql[i+j+1:]
	}
}

// newQueryID is a push or pull query's id, as ksqlDB forms transient ones.
func newQueryID(sel *Select) string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand)
	kind := "transient_"
	if !sel.Push {
		kind = "query_"
	}
	return kind + sel.Table.Name + "_" + hex.EncodeToString(b[:])
}

// register makes a push query closable by id (POST /close-query); the
// returned func unregisters it.
func (s *Server) register(id string, cancel context.CancelFunc) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pushes == nil {
		s.pushes = map[string]context.CancelFunc{}
	}
	s.pushes[id] = cancel
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.pushes, id)
	}
}

// running is how many push queries run.
func (s *Server) running() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pushes)
}

func (s *Server) closeQuery(w http.ResponseWriter, r *http.Request) {
	var req struct {
		QueryID string `json:"queryId"`
	}
	if !decodeBody(w, r, &req) {
		return
	}
	s.mu.Lock()
	cancel, ok := s.pushes[req.QueryID]
	s.mu.Unlock()
	if !ok {
		writeError(w, genericError(codeBadRequest, "no running push query with id "+req.QueryID))
		return
	}
	cancel()
	w.WriteHeader(http.StatusOK)
}

func (s *Server) info(w http.ResponseWriter, r *http.Request) {
	id := ""
	if s.ClusterID != nil {
		id = s.ClusterID(r.Context())
	}
	writeJSON(w, "application/json", map[string]any{"KsqlServerInfo": map[string]string{
		"version": s.Version, "kafkaClusterId": id, "ksqlServiceId": "tradeflow", "serverStatus": "RUNNING",
	}})
}

func (s *Server) healthcheck(w http.ResponseWriter, _ *http.Request) {
	ready := s.Ready == nil || s.Ready()
	status := http.StatusOK
	if !ready {
		status = http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"isHealthy": ready, "details": map[string]any{
		"metastore": map[string]bool{"isHealthy": true}, "kafka": map[string]bool{"isHealthy": ready},
	}})
}

func writeJSON(w http.ResponseWriter, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	_ = json.NewEncoder(w).Encode(v) // the client went away; nothing to do
}
