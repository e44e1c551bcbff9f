module github.com/aponysus/rego/integrations/grpc

go 1.24
