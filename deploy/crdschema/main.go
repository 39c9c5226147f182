// Command crdschema writes the JSON schemas `make deploy-check` validates the rendered chart with
// (kubeconform -strict, offline): one standalone file per kind and version, named as kubeconform's
// schema-location template {{.ResourceKind}}{{.KindSuffix}}.json expects (deployment-apps-v1.json,
// service-serving-v1.json, trigger-eventing-v1.json ...).
//
//	crdschema -out DIR [-k8s OPENAPI.json=io.k8s.api.apps.v1.Deployment,... ...] [CRD.yaml ...]
//
// Built-in kinds come from Kubernetes OpenAPI documents (-k8s, repeatable; v2 "definitions" or v3
// "components.schemas"): the named definitions with every $ref inlined. Custom resources come from CRD manifests: each served version's
// openAPIV3Schema. Both are made strict the way kubeconform's own openapi2jsonschema.py --strict
// does (additionalProperties: false on every object that lists its properties and says nothing
// about others), except, unlike that script, never under x-kubernetes-preserve-unknown-fields,
// which is how Knative keeps fields such as a Trigger's delivery.timeout open. int-or-string and
// Quantity become "string or number". deploy/schemas/generate.sh says where the inputs come from.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

func main() {
	out := flag.String("out", "", "directory to write the schemas into")
	var k8s []string
	flag.Func("k8s", "FILE=def1,def2: Kubernetes OpenAPI v2/v3 document and the definitions to write (repeatable)",
		func(v string) error { k8s = append(k8s, v); return nil })
	flag.Parse()
	if *out == "" {
		log.Fatal("crdschema: -out is required")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		log.Fatal(err)
	}
	var files []string
	for _, spec := range k8s {
		file, kinds, ok := strings.Cut(spec, "=")
		if !ok {
			log.Fatalf("crdschema: -k8s %q: want FILE=definition,...", spec)
		}
		fs, err := builtins(file, splitList(kinds), *out)
		if err != nil {
			log.Fatalf("crdschema: %s: %v", file, err)
		}
		files = append(files, fs...)
	}
	for _, crd := range flag.Args() {
		fs, err := crds(crd, *out)
		if err != nil {
			log.Fatalf("crdschema: %s: %v", crd, err)
		}
		files = append(files, fs...)
	}
	for _, f := range files {
		fmt.Println(f)
	}
}

// builtins writes the definitions named in kinds from an OpenAPI v2 or v3 document.
func builtins(path string, kinds []string, out string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Definitions map[string]map[string]any `json:"definitions"` // v2
		Components  struct {
			Schemas map[string]map[string]any `json:"schemas"` // v3
		} `json:"components"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	defs := doc.Definitions
	if defs == nil {
		defs = doc.Components.Schemas
	}
	var files []string
	for _, name := range kinds {
		def, ok := defs[name]
		if !ok {
			return nil, fmt.Errorf("no definition %s", name)
		}
		gvks, _ := def["x-kubernetes-group-version-kind"].([]any)
		if len(gvks) != 1 {
			return nil, fmt.Errorf("%s: want one x-kubernetes-group-version-kind, got %d", name, len(gvks))
		}
		gvk := gvks[0].(map[string]any)
		s, err := inline(def, defs, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		f, err := write(out, gvk["kind"].(string), gvk["group"].(string), gvk["version"].(string), strict(s))
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	return files, nil
}

// inline replaces every $ref to #/definitions/X by a copy of X (recursively); seen guards cycles.
func inline(node any, defs map[string]map[string]any, seen []string) (any, error) {
	switch n := node.(type) {
	case map[string]any:
		if ref, ok := n["$ref"].(string); ok {
			name := strings.TrimPrefix(strings.TrimPrefix(ref, "#/definitions/"), "#/components/schemas/")
			for _, s := range seen {
				if s == name {
					return nil, fmt.Errorf("recursive definition %s (not needed by Parley's kinds)", name)
				}
			}
			def, ok := defs[name]
			if !ok {
				return nil, fmt.Errorf("dangling $ref %s", ref)
			}
			switch name {
			case "io.k8s.apimachinery.pkg.util.intstr.IntOrString", "io.k8s.apimachinery.pkg.api.resource.Quantity":
				return stringOrNumber(def["description"]), nil
			}
			return inline(def, defs, append(seen, name))
		}
		m := make(map[string]any, len(n))
		for k, v := range n {
			if k == "x-kubernetes-group-version-kind" {
				continue
			}
			c, err := inline(v, defs, seen)
			if err != nil {
				return nil, err
			}
			m[k] = c
		}
		return m, nil
	case []any:
		l := make([]any, len(n))
		for i, v := range n {
			c, err := inline(v, defs, seen)
			if err != nil {
				return nil, err
			}
			l[i] = c
		}
		return l, nil
	}
	return node, nil
}

// crds writes every version of every CustomResourceDefinition in a (multi-document) manifest.
func crds(path string, out string) ([]string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, docRaw := range splitDocs(raw) {
		var crd struct {
			Kind string `json:"kind"`
			Spec struct {
				Group string `json:"group"`
				Names struct {
					Kind string `json:"kind"`
				} `json:"names"`
				Versions []struct {
					Name   string `json:"name"`
					Served bool   `json:"served"`
					Schema struct {
						OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
					} `json:"schema"`
				} `json:"versions"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(docRaw, &crd); err != nil {
			return nil, err
		}
		if crd.Kind != "CustomResourceDefinition" {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if !v.Served || v.Schema.OpenAPIV3Schema == nil {
				continue
			}
			f, err := write(out, crd.Spec.Names.Kind, crd.Spec.Group, v.Name, strict(withObjectMeta(v.Schema.OpenAPIV3Schema)))
			if err != nil {
				return nil, err
			}
			files = append(files, f)
		}
	}
	if len(files) == 0 {
		return nil, errors.New("no CustomResourceDefinition with a schema in it")
	}
	return files, nil
}

// withObjectMeta adds the fields every object has to a CRD schema that leaves them out (Knative's
// declare only spec and status), so closing the root does not refuse apiVersion, kind and metadata.
func withObjectMeta(root map[string]any) map[string]any {
	props, _ := root["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		root["properties"] = props
	}
	for name, s := range map[string]any{
		"apiVersion": map[string]any{"type": "string"},
		"kind":       map[string]any{"type": "string"},
		"metadata":   map[string]any{"type": "object"},
	} {
		if _, ok := props[name]; !ok {
			props[name] = s
		}
	}
	return root
}

// strict closes every object that lists its properties, outside preserve-unknown-fields, and turns
// the Kubernetes extensions kubeconform's validator does not know into plain JSON schema.
func strict(node any) any {
	switch n := node.(type) {
	case map[string]any:
		if n["x-kubernetes-int-or-string"] == true {
			return stringOrNumber(n["description"])
		}
		if f, _ := n["format"].(string); f == "int-or-string" {
			return stringOrNumber(n["description"])
		}
		m := make(map[string]any, len(n)+1)
		for k, v := range n {
			switch k {
			case "enum":
				// Some published documents repeat enum values, which draft-04 forbids.
				m[k] = dedupe(v.([]any))
			case "properties", "patternProperties":
				props := map[string]any{}
				for pk, pv := range v.(map[string]any) {
					props[pk] = strict(pv)
				}
				m[k] = props
			default:
				m[k] = strict(v)
			}
		}
		_, hasProps := n["properties"]
		_, hasAP := n["additionalProperties"]
		if hasProps && !hasAP && n["x-kubernetes-preserve-unknown-fields"] != true {
			m["additionalProperties"] = false
		}
		return m
	case []any:
		l := make([]any, len(n))
		for i, v := range n {
			l[i] = strict(v)
		}
		return l
	}
	return node
}

func dedupe(vals []any) []any {
	var out []any
	seen := map[string]bool{}
	for _, v := range vals {
		k := fmt.Sprintf("%#v", v)
		if !seen[k] {
			seen[k] = true
			out = append(out, v)
		}
	}
	return out
}

func stringOrNumber(desc any) map[string]any {
	m := map[string]any{"oneOf": []any{map[string]any{"type": "string"}, map[string]any{"type": "number"}}}
	if desc != nil {
		m["description"] = desc
	}
	return m
}

// write stores schema under kubeconform's name for kind in group/version.
func write(out, kind, group, version string, schema any) (string, error) {
	suffix := "-" + version
	if group != "" {
		suffix = "-" + strings.ToLower(strings.Split(group, ".")[0]) + "-" + version
	}
	name := strings.ToLower(kind) + suffix + ".json"
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(schema); err != nil {
		return "", err
	}
	return name, os.WriteFile(filepath.Join(out, name), buf.Bytes(), 0o644)
}

// splitDocs splits a YAML stream on document separators.
func splitDocs(raw []byte) [][]byte {
	var docs [][]byte
	var cur bytes.Buffer
	lines := bytes.SplitAfter(raw, []byte("\n"))
	for _, l := range lines {
		if bytes.Equal(bytes.TrimRight(l, "\r\n"), []byte("---")) {
			docs = append(docs, append([]byte(nil), cur.Bytes()...))
			cur.Reset()
			continue
		}
		cur.Write(l)
	}
	docs = append(docs, cur.Bytes())
	return docs
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
