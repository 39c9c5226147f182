package platform

import (
	"reflect"
	"testing"
)

func TestDefaultOriginsAdmitTheGatewaysOrigin(t *testing.T) {
	tests := []struct {
		publicURL string
		want      []string
	}{
		{"http://127.0.0.1:8080", []string{"http://127.0.0.1:8080", "http://localhost:8080"}},
		{"http://localhost:8080/", []string{"http://localhost:8080", "http://127.0.0.1:8080"}},
		{"https://api.parley.example", []string{"https://api.parley.example"}},
		{"https://chat.example:8443/base", []string{"https://chat.example:8443"}},
	}
	for _, tc := range tests {
		got, err := defaultOrigins(tc.publicURL)
		if err != nil {
			t.Fatalf("%s: %v", tc.publicURL, err)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("defaultOrigins(%q) = %v, want %v", tc.publicURL, got, tc.want)
		}
	}
	if _, err := defaultOrigins("127.0.0.1:8080"); err == nil {
		t.Error("a public URL without a scheme was taken")
	}
}

func TestConfigDefaultsTheWebDir(t *testing.T) {
	c := Config{RootDir: "/repo"}
	if err := c.setDefaults(); err != nil {
		t.Fatal(err)
	}
	if c.WebDir != "/repo/web/dist" {
		t.Errorf("WebDir = %q, want /repo/web/dist", c.WebDir)
	}
}
