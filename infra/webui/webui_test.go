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

// In the cluster the web client's route is the catch-all (PathPrefix /), so it also receives API
// paths no API route takes: those must be answered 404 with a problem, as the local gateway does,
// never with index.html.
func TestHandlerAnswersAPIPaths404(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "index.html", "<!doctype html><title>Parley</title>")
	writeFile(t, dir, "v1/stray.js", "a file that must stay unreachable under /v1/")
	h := webui.Handler(dir)
	for _, tc := range []struct{ method, path string }{
		{"GET", "/v1"}, {"GET", "/v1/"}, {"GET", "/v1/nothing"}, {"GET", "/v1/users/me/x"},
		{"GET", "/v1/stray.js"}, {"HEAD", "/v1/nothing"}, {"POST", "/v1/nothing"},
		{"GET", "/.well-known/openid-configuration"}, {"GET", "/.well-known/"}, {"GET", "/.well-known"},
		{"GET", "/x/../v1/nothing"}, {"GET", "/./.well-known/jwks.json"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, "http://api.example"+tc.path, nil))
		if rec.Code != http.StatusNotFound {
			t.Errorf("%s %s: status %d, want 404", tc.method, tc.path, rec.Code)
			continue
		}
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s %s: Content-Type %q, want a problem", tc.method, tc.path, ct)
		}
		if strings.Contains(rec.Body.String(), "Parley</title>") || strings.Contains(rec.Body.String(), "unreachable") {
			t.Errorf("%s %s served a file: %s", tc.method, tc.path, rec.Body)
		}
	}
	for _, p := range []string{"/v1x", "/v10/chat", "/chats/v1"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", p, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("GET %s: status %d, want index.html (not an API path)", p, rec.Code)
		}
	}
}

func TestIsAPIPath(t *testing.T) {
	for p, want := range map[string]bool{
		"/v1": true, "/v1/": true, "/v1/ws": true, "/.well-known/jwks.json": true, "/a/../v1/x": true,
		"/": false, "/v1x": false, "/assets/v1/x.js": false, "/.well-known": true, "/v1/../index.html": true,
	} {
		if got := webui.IsAPIPath(p); got != want {
			t.Errorf("IsAPIPath(%q) = %v, want %v", p, got, want)
		}
	}
}
