// Package dashboard is the live page at / : per symbol, the last minutes
// of the four counts as a chart and a table, fed by the change stream
// (GET /v1/counts/{symbol}/changes). Plain HTML, JavaScript and CSS
// embedded in the binary: no build step, nothing fetched from elsewhere,
// so the page works offline.
package dashboard

import (
	"embed"
	"io/fs"
	"net/http"
)

//go:embed static
var static embed.FS

// Routes registers the page at / and its files under /dashboard/.
func Routes(handle func(pattern string, h http.Handler)) {
	files, _ := fs.Sub(static, "static") // static is always there: embedded
	handle("GET /{$}", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, "index.html")
	}))
	handle("GET /dashboard/", http.StripPrefix("/dashboard/", http.FileServerFS(files)))
}
