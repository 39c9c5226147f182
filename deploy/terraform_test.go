package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

// What can be checked of terraform/ without providers (none can be downloaded here, and terraform
// itself is BUSL): formatting, that every module parses, that every variable is typed and
// described and every output described, that module calls pass only declared variables and every
// required one, that module.X.Y and var.Y references resolve, and that the environment files set
// only variables the stack declares. `terraform validate` and `plan` have never run (README).

const tfRoot = "../terraform"

// tfModules lists the module directories: every modules/* and the root stack/.
func tfModules(t *testing.T) []string {
	t.Helper()
	dirs, err := filepath.Glob(filepath.Join(tfRoot, "modules", "*"))
	if err != nil {
		t.Fatal(err)
	}
	dirs = append(dirs, filepath.Join(tfRoot, "stack"))
	var out []string
	for _, d := range dirs {
		if tfconfig.IsModuleDir(d) {
			out = append(out, d)
		}
	}
	if len(out) < 5 {
		t.Fatalf("found only %v: run from deploy/", out)
	}
	return out
}

func TestTerraformFormatted(t *testing.T) {
	var files []string
	err := filepath.WalkDir(tfRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".terraform" || d.Name() == "chart") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".tf") || strings.HasSuffix(p, ".tfvars") || strings.HasSuffix(p, ".tfvars.example") || strings.HasSuffix(p, ".hcl.example")) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, diags := hclwrite.ParseConfig(src, f, hcl.InitialPos); diags.HasErrors() {
			t.Errorf("%s does not parse: %v", f, diags)
			continue
		}
		// hclwrite.Format is the formatter `terraform fmt` is built on.
		if got := hclwrite.Format(src); !bytes.Equal(got, src) {
			t.Errorf("%s is not formatted (terraform fmt / tofu fmt would change it)", f)
		}
	}
}

func TestTerraformVariablesAndOutputsDocumented(t *testing.T) {
	for _, dir := range tfModules(t) {
		m, diags := tfconfig.LoadModule(dir)
		if diags.HasErrors() {
			t.Errorf("%s does not load: %v", dir, diags.Err())
			continue
		}
		for _, v := range m.Variables {
			if strings.TrimSpace(v.Description) == "" {
				t.Errorf("%s: variable %s has no description", dir, v.Name)
			}
			if v.Type == "" {
				t.Errorf("%s: variable %s has no type", dir, v.Name)
			}
		}
		for _, o := range m.Outputs {
			if strings.TrimSpace(o.Description) == "" {
				t.Errorf("%s: output %s has no description", dir, o.Name)
			}
		}
		if _, err := os.Stat(filepath.Join(dir, "README.md")); err != nil && filepath.Base(dir) != "stack" {
			t.Errorf("%s: no README.md", dir)
		}
	}
}

// moduleBodies parses every .tf file of dir.
func moduleBodies(t *testing.T, dir string) []*hclsyntax.Body {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.tf"))
	p := hclparse.NewParser()
	var bodies []*hclsyntax.Body
	for _, f := range files {
		hf, diags := p.ParseHCLFile(f)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", f, diags)
		}
		bodies = append(bodies, hf.Body.(*hclsyntax.Body))
	}
	return bodies
}

// traversals returns every root.attr reference with root "var" or "module" in body.
func traversals(body *hclsyntax.Body) []hcl.Traversal {
	var out []hcl.Traversal
	_ = hclsyntax.VisitAll(body, func(n hclsyntax.Node) hcl.Diagnostics {
		if e, ok := n.(hclsyntax.Expression); ok {
			for _, tr := range e.Variables() {
				switch tr.RootName() {
				case "var", "module":
					out = append(out, tr)
				}
			}
		}
		return nil
	})
	return out
}

func TestTerraformReferencesResolve(t *testing.T) {
	loaded := map[string]*tfconfig.Module{}
	load := func(dir string) *tfconfig.Module {
		dir = filepath.Clean(dir)
		if m, ok := loaded[dir]; ok {
			return m
		}
		m, diags := tfconfig.LoadModule(dir)
		if diags.HasErrors() {
			t.Fatalf("%s: %v", dir, diags.Err())
		}
		loaded[dir] = m
		return m
	}
	for _, dir := range tfModules(t) {
		m := load(dir)
		for _, body := range moduleBodies(t, dir) {
			for _, tr := range traversals(body) {
				if len(tr) < 2 {
					continue
				}
				attr, ok := tr[1].(hcl.TraverseAttr)
				if !ok {
					continue
				}
				pos := tr.SourceRange()
				switch tr.RootName() {
				case "var":
					if m.Variables[attr.Name] == nil {
						t.Errorf("%s: var.%s is not declared", pos, attr.Name)
					}
				case "module":
					call := m.ModuleCalls[attr.Name]
					if call == nil {
						t.Errorf("%s: module.%s is not called", pos, attr.Name)
						continue
					}
					if len(tr) < 3 {
						continue
					}
					out, ok := tr[2].(hcl.TraverseAttr)
					if !ok {
						continue
					}
					callee := load(filepath.Join(dir, call.Source))
					if callee.Outputs[out.Name] == nil {
						t.Errorf("%s: module.%s.%s: %s has no such output", pos, attr.Name, out.Name, call.Source)
					}
				}
			}
			// Module calls: only declared variables, and every variable without a default.
			for _, b := range body.Blocks {
				if b.Type != "module" || len(b.Labels) != 1 {
					continue
				}
				call := m.ModuleCalls[b.Labels[0]]
				callee := load(filepath.Join(dir, call.Source))
				passed := map[string]bool{}
				for name := range b.Body.Attributes {
					switch name {
					case "source", "version", "depends_on", "count", "for_each", "providers":
						continue
					}
					passed[name] = true
					if callee.Variables[name] == nil {
						t.Errorf("%s: module %q passes %s, which %s does not declare", b.DefRange(), b.Labels[0], name, call.Source)
					}
				}
				var missing []string
				for name, v := range callee.Variables {
					if v.Required && !passed[name] {
						missing = append(missing, name)
					}
				}
				sort.Strings(missing)
				if len(missing) > 0 {
					t.Errorf("%s: module %q does not pass required %v", b.DefRange(), b.Labels[0], missing)
				}
			}
		}
	}
}

func TestTerraformEnvFilesSetDeclaredVariables(t *testing.T) {
	stack, diags := tfconfig.LoadModule(filepath.Join(tfRoot, "stack"))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	files, _ := filepath.Glob(filepath.Join(tfRoot, "envs", "*.tfvars*"))
	if len(files) == 0 {
		t.Fatal("no envs/*.tfvars files")
	}
	for _, f := range files {
		src, _ := os.ReadFile(f)
		hf, d := hclsyntax.ParseConfig(src, f, hcl.InitialPos)
		if d.HasErrors() {
			t.Errorf("%s: %v", f, d)
			continue
		}
		for name := range hf.Body.(*hclsyntax.Body).Attributes {
			if stack.Variables[name] == nil {
				t.Errorf("%s sets %s, which terraform/stack does not declare", f, name)
			}
		}
	}
}
