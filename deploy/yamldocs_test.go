package deploy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
)

// yamlProblems lists, for one YAML document, every mapping key that appears twice in the same
// mapping and every key whose value is null. Both are how a YAML flow mapping with an unquoted
// comma ({description: a, b}) silently turns prose into a stray key: "b" with a null value.
func yamlProblems(raw []byte) ([]string, error) {
	var problems []string
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	for {
		var doc yaml.Node
		if err := dec.Decode(&doc); err != nil {
			if err.Error() == "EOF" {
				return problems, nil
			}
			return problems, err
		}
		walkYAML(&doc, "", &problems)
	}
}

func walkYAML(n *yaml.Node, path string, problems *[]string) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			walkYAML(c, path, problems)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			walkYAML(c, fmt.Sprintf("%s[%d]", path, i), problems)
		}
	case yaml.MappingNode:
		seen := map[string]int{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := path + "." + k.Value
			if first, dup := seen[k.Value]; dup {
				*problems = append(*problems, fmt.Sprintf("line %d: duplicate key %s (first at line %d)", k.Line, p, first))
			} else {
				seen[k.Value] = k.Line
			}
			if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
				*problems = append(*problems, fmt.Sprintf("line %d: key %s has a null value", k.Line, p))
			}
			walkYAML(v, p, problems)
		}
	case yaml.AliasNode:
		// Anchors are resolved where they are defined.
	}
}

// TestPublishedYAMLHasNoNullOrDuplicateKeys checks docs/*.yaml (OpenAPI, AsyncAPI) and the chart's
// values files: a null-valued or repeated key there is always a mistake (a stray key from a flow
// mapping, or a second definition silently replacing the first).
func TestPublishedYAMLHasNoNullOrDuplicateKeys(t *testing.T) {
	var files []string
	for _, pat := range []string{"../docs/*.yaml", "../charts/parley/values*.yaml"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 3 {
		t.Fatalf("found only %v: run from deploy/", files)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		problems, err := yamlProblems(raw)
		if err != nil {
			t.Errorf("%s: %v", f, err)
		}
		if len(problems) > 0 {
			t.Errorf("%s:\n  %s", f, strings.Join(problems, "\n  "))
		}
	}
}

// The checker itself: it must see the two mistakes it exists for.
func TestYAMLProblemsFindsStrayAndDuplicateKeys(t *testing.T) {
	raw := []byte("a:\n  x: {description: close, then reconnect}\n  y: 1\n  y: 2\nb: [1, {c: }]\n---\nok: true\n")
	got, err := yamlProblems(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"line 2: key .a.x.then reconnect has a null value",
		"line 4: duplicate key .a.y (first at line 3)",
		"line 5: key .b[1].c has a null value",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
	if got, _ := yamlProblems([]byte("a: 1\nb: [x, y]\nc: {d: e}\nf: \"\"\n")); len(got) != 0 {
		t.Errorf("clean YAML reported: %v", got)
	}
}
