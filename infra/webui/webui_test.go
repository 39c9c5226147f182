package webui_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parley-im/parley/infra/webui"
)

func writeFile(t *testing.T, dir, name, body string) {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestHandlerServesFilesAndFallsBackToIndex(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "index.html", "<!doctype html><title>Parley</title>")
	writeFile(t, dir, "assets/index-abc123.js", "console.log(1)")
	writeFile(t, dir, "favicon.svg", "<svg/>")
	h := webui.Handler(dir)

	tests := []struct {
		name, method, path string
		status             int
		body, cache, ctype string
	}{
		{"root is index", "GET", "/", 200, "<title>Parley</title>", "no-cache", "text/html"},
		{"an app route is index", "GET", "/chats/0190", 200, "<title>Parley</title>", "no-cache", "text/html"},
		{"hashed asset cached long", "GET", "/assets/index-abc123.js", 200, "console.log", "immutable", "javascript"},
		{"a top-level file", "GET", "/favicon.svg", 200, "<svg/>", "no-cache", "image/svg+xml"},
		{"HEAD works", "HEAD", "/", 200, "", "no-cache", "text/html"},
		{"missing asset is 404", "GET", "/assets/gone.js", 404, "no file", "", "application/problem+json"},
		{"missing file with extension is 404", "GET", "/robots.txt", 404, "not_found", "", "application/problem+json"},
		{"no escape from dir", "GET", "/../../etc/passwd", 200, "<title>Parley</title>", "no-cache", "text/html"},
		{"POST refused", "POST", "/", 405, "GET only", "", "application/problem+json"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", rec.Code, tc.status, rec.Body)
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("body %q lacks %q", rec.Body, tc.body)
			}
			if !strings.Contains(rec.Header().Get("Cache-Control"), tc.cache) {
				t.Errorf("Cache-Control %q, want %q", rec.Header().Get("Cache-Control"), tc.cache)
			}
			if !strings.Contains(rec.Header().Get("Content-Type"), tc.ctype) {
				t.Errorf("Content-Type %q, want %q", rec.Header().Get("Content-Type"), tc.ctype)
			}
			if rec.Header().Get("Content-Security-Policy") != webui.ContentSecurityPolicy {
				t.Errorf("no CSP header")
			}
		})
	}
}

func TestHandlerSaysHowToBuildWhenNotBuilt(t *testing.T) {
	rec := httptest.NewRecorder()
	webui.Handler(t.TempDir()).ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("status %d, want 404", rec.Code)
	}
	var p struct{ Code, Detail string }
	if err := json.NewDecoder(rec.Body).Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p.Code != "not_found" || !strings.Contains(p.Detail, "npm run build") {
		t.Errorf("problem %+v does not say how to build the client", p)
	}
}
