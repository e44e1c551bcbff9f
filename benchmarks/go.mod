module github.com/aponysus/rego/benchmarks

go 1.24
