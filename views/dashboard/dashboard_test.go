package dashboard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The page and its files are served from the binary; other paths are not
// the page's.
func TestRoutes(t *testing.T) {
	mux := http.NewServeMux()
	Routes(func(p string, h http.Handler) { mux.Handle(p, h) })
	mux.Handle("/", http.NotFoundHandler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, c := range []struct{ path, contentType, contains string }{
		{"/", "text/html", `<script src="/dashboard/app.js">`},
		{"/dashboard/app.js", "javascript", "/v1/counts/"},
		{"/dashboard/style.css", "text/css", "--completed"},
	} {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), c.contentType) || !strings.Contains(string(b), c.contains) {
			t.Errorf("GET %s: %d %s, want %s with %q", c.path, resp.StatusCode, resp.Header.Get("Content-Type"), c.contentType, c.contains)
		}
		if strings.Contains(string(b), "http://") || strings.Contains(string(b), "https://") {
			t.Errorf("GET %s refers to another site: the page must work offline", c.path)
		}
	}
	for _, path := range []string{"/nope", "/dashboard/nope.js"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
}
