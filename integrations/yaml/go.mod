module github.com/aponysus/rego/integrations/yaml

go 1.24

require (
	github.com/aponysus/rego v0.1.0
	go.yaml.in/yaml/v3 v3.0.6
)

replace github.com/aponysus/rego => ../..
