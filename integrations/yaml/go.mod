module github.com/aponysus/rego/integrations/yaml

go 1.24
