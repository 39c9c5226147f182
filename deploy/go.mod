// Deployment checks: the JSON schema generator behind `make deploy-check`, and tests over the
// published YAML documents and the Terraform modules.
module github.com/parley-im/parley/deploy

go 1.26

require (
	go.yaml.in/yaml/v3 v3.0.4
	sigs.k8s.io/yaml v1.6.0
)

require (
	github.com/google/go-cmp v0.6.0 // indirect
	go.yaml.in/yaml/v2 v2.4.2 // indirect
)
