module github.com/aponysus/rego

go 1.22
