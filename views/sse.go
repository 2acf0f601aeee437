package views

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"
)

// Feed follows the changes of the windows (Counts, Memory).
type Feed interface {
	Subscribe(symbol string, buffer int, after string) (s *Subscription, resumed bool)
}

// The defaults of the change stream's timings and bound.
const (
	DefaultHeartbeat    = 15 * time.Second
	DefaultChangeBuffer = 1024
)

// windowEvent is the data of one server-sent event: a window of the
// symbol, as GET /v1/counts has it, or its removal after retention.
type windowEvent struct {
	Symbol string `json:"symbol"`
	Window
	Deleted bool `json:"deleted,omitempty"`
}

// changes is GET /v1/counts/{symbol}/changes, server-sent events
// (text/event-stream) for browsers and curl: the symbol's windows as
// they are (oldest first), then each window as it changes, every event
// with an id. A client that reconnects with Last-Event-ID (as browsers'
// EventSource does by itself) gets only what it missed, when this worker
// still has it, else the windows as they are again. A comment line every
// Heartbeat keeps proxies from closing an idle stream; a client that falls
// more than ChangeBuffer changes behind is disconnected, and reconnects.
func (a *API) changes(w http.ResponseWriter, r *http.Request) {
	feed, ok := a.Store.(Feed)
	if !ok {
		writeError(w, http.StatusNotImplemented, errors.New("this store has no change feed"))
		return
	}
	symbol := r.PathValue("symbol")
	after := cmp.Or(r.Header.Get("Last-Event-ID"), r.URL.Query().Get("lastEventId"))
	sub, resumed := feed.Subscribe(symbol, cmp.Or(a.ChangeBuffer, DefaultChangeBuffer), after)
	defer sub.Close()
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	send := func(id string, ev windowEvent) error {
		data, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "id: %s\nevent: window\ndata: %s\n\n", id, data)
		return err
	}
	if _, err := fmt.Fprint(w, "retry: 2000\n\n"); err != nil {
		return
	}
	if !resumed {
		ws, err := a.Store.Windows(symbol, math.MinInt64, math.MaxInt64)
		if err != nil {
			return
		}
		for i := len(ws) - 1; i >= 0; i-- {
			if send(sub.Since, windowEvent{Symbol: symbol, Window: ws[i]}) != nil {
				return
			}
		}
	}
	if rc.Flush() != nil {
		return
	}
	heartbeat := time.NewTicker(cmp.Or(a.Heartbeat, DefaultHeartbeat))
	defer heartbeat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-heartbeat.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil || rc.Flush() != nil {
				return
			}
		case ch, ok := <-sub.C:
			if !ok {
				return // dropped: the client reconnects and resumes
			}
			if send(ch.ID, windowEvent{Symbol: ch.Symbol, Window: ch.Window, Deleted: ch.Deleted}) != nil {
				return
			}
			if len(sub.C) == 0 && rc.Flush() != nil {
				return
			}
		}
	}
}
