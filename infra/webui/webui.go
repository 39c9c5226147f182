// Package webui serves the browser client's built files (web/dist, made by Vite): each file as it
// is, and index.html for any other path, so the single-page app loads on a reload of any of its
// screens. The local platform's gateway mounts it on the paths no API route takes; the chart runs it
// as its own Knative Service (cmd/parley-web).
package webui

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
)

// ContentSecurityPolicy is sent with every file: scripts only from the page's origin (the bundle has
// no inline script), so an injected message text can never run; images, media and uploads may use
// the S3 endpoint of presigned URLs, which is another origin.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' blob: data: http: https:; media-src 'self' blob: http: https:; " +
	"connect-src 'self' ws: wss: http: https:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// IsAPIPath reports whether urlPath is in one of the public API's path spaces (/v1 and
// /.well-known, and below them), as sent or once cleaned of dot segments: never the web client's, so an unknown
// API path is answered 404, not index.html.
// The local gateway sends only other paths here; in the cluster the chart's catch-all route for
// the web client (PathPrefix /) also receives API paths no API route takes.
func IsAPIPath(urlPath string) bool {
	api := func(p string) bool {
		return p == "/v1" || strings.HasPrefix(p, "/v1/") || p == "/.well-known" || strings.HasPrefix(p, "/.well-known/")
	}
	return api(urlPath) || api(path.Clean("/"+urlPath))
}

// Handler serves the files under dir. A path without a file gets index.html (no-cache); Vite's
// content-hashed /assets/ are cached for a year. When dir holds no index.html it answers 404 with a
// problem saying how to build the client. Only GET and HEAD are served. API paths (IsAPIPath) are
// answered 404 with the problem the local gateway sends for a path no route takes.
func Handler(dir string) http.Handler {
	return &handler{fsys: os.DirFS(dir), dir: dir}
}

type handler struct {
	fsys fs.FS
	dir  string
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	if IsAPIPath(r.URL.Path) {
		problem(w, http.StatusNotFound, "not_found", "no route for "+r.Method+" "+r.URL.Path)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		problem(w, http.StatusMethodNotAllowed, "invalid_argument", "the web client is served with GET only")
		return
	}

	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name != "" && h.serveFile(w, r, name) {
		return
	}
	if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" && name != "index.html" {
		problem(w, http.StatusNotFound, "not_found", "no file "+r.URL.Path)
		return
	}
	if !h.serveFile(w, r, "index.html") {
		problem(w, http.StatusNotFound, "not_found",
			"the web client is not built in "+h.dir+" (make dev or make test build it: npm ci && npm run build in web/)")
	}
}

// serveFile serves name when it is a regular file, and reports whether it did.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, name string) bool {
	fi, err := fs.Stat(h.fsys, name)
	if err != nil || !fi.Mode().IsRegular() {
		return false
	}
	b, err := fs.ReadFile(h.fsys, name)
	if err != nil {
		return false
	}
	if strings.HasPrefix(name, "assets/") {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, fi.ModTime(), bytes.NewReader(b))
	return true
}

// problem writes an application/problem+json error as the public API does.
func problem(w http.ResponseWriter, status int, code, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Del("Cache-Control")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"type": "about:blank", "title": http.StatusText(status), "status": status, "code": code, "detail": detail,
	})
}
