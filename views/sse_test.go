package views

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// sseClient reads one server-sent event stream.
type sseClient struct {
	t     *testing.T
	resp  *http.Response
	lines *bufio.Scanner
}

func openSSE(t *testing.T, url, lastID string) *sseClient {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return &sseClient{t, resp, bufio.NewScanner(resp.Body)}
}

// next returns the next event's id and data, skipping retry and comment
// blocks unless comments is set (then a comment block is returned as
// its text).
func (c *sseClient) next(comments bool) (id, data string) {
	c.t.Helper()
	for {
		var block []string
		for c.lines.Scan() && c.lines.Text() != "" {
			block = append(block, c.lines.Text())
		}
		if len(block) == 0 {
			c.t.Fatalf("stream ended: %v", c.lines.Err())
		}
		for _, l := range block {
			switch {
			case strings.HasPrefix(l, "id: "):
				id = l[4:]
			case strings.HasPrefix(l, "data: "):
				data = l[6:]
			case strings.HasPrefix(l, ":") && comments:
				return "", l
			}
		}
		if data != "" {
			return id, data
		}
	}
}

// The stream sends the windows there are, then each change; a client that
// comes back with Last-Event-ID gets only what it missed; idle streams get
// heartbeats.
func TestChangeStream(t *testing.T) {
	m := NewMemory()
	put := func(start, completed int64) {
		t.Helper()
		if err := m.Put("ZVV", Window{WindowStart: start, WindowEnd: start + 60_000, Completed: completed}); err != nil {
			t.Fatal(err)
		}
	}
	put(60_000, 1)
	put(120_000, 2)
	srv := httptest.NewServer((&API{Store: m, Heartbeat: 50 * time.Millisecond}).Handler())
	defer srv.Close()
	url := srv.URL + "/v1/counts/ZVV/changes"

	c := openSSE(t, url, "")
	if _, a := c.next(false); a != `{"symbol":"ZVV","windowStart":60000,"windowEnd":120000,"completed":1,"pending":0,"flagged":0,"rejected":0}` {
		t.Fatalf("first window: %s", a)
	}
	if _, b := c.next(false); !strings.Contains(b, `"windowStart":120000`) {
		t.Fatalf("second window: %s", b)
	}
	put(120_000, 3)
	id, data := c.next(false)
	if !strings.Contains(data, `"windowStart":120000,"windowEnd":180000,"completed":3`) || id == "" {
		t.Fatalf("change: id %q data %s", id, data)
	}
	if _, hb := c.next(true); hb != ": heartbeat" {
		t.Fatalf("want a heartbeat, got %s", hb)
	}
	c.resp.Body.Close()

	put(180_000, 1) // missed
	m.Delete("ZVV", 60_000)
	back := openSSE(t, url, id)
	defer back.resp.Body.Close()
	if _, d := back.next(false); !strings.Contains(d, `"windowStart":180000`) || !strings.Contains(d, `"completed":1`) {
		t.Fatalf("resumed with %s, want the missed window", d)
	}
	if _, d := back.next(false); !strings.Contains(d, `"windowStart":60000`) || !strings.Contains(d, `"deleted":true`) {
		t.Fatalf("resumed with %s, want the deletion", d)
	}

	// An ID of another process starts from the windows as they are.
	other := openSSE(t, url, "elsewhere.12")
	defer other.resp.Body.Close()
	if _, d := other.next(false); !strings.Contains(d, `"windowStart":120000`) {
		t.Fatalf("unknown ID: first event %s, want the oldest window there is", d)
	}
}
