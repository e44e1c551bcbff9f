package regogrpc

import (
	"context"

	"github.com/aponysus/rego/gate"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// CriticalityKey is the metadata that carries a call's criticality
// (gate.Criticality) from a client to a server, as
// gate.Criticality.String() spells it: "critical_plus", "critical",
// "sheddable_plus" or "sheddable".
const CriticalityKey = "rego-criticality"

// WithOutgoingCriticality returns ctx with the criticality ctx carries
// (gate.WithCriticality) added to its outgoing metadata, unless that is
// gate.CriticalityDefault or the metadata already names one.
func WithOutgoingCriticality(ctx context.Context) context.Context {
	c := gate.CriticalityFrom(ctx)
	if c == gate.CriticalityDefault {
		return ctx
	}
	if md, ok := metadata.FromOutgoingContext(ctx); ok && len(md.Get(CriticalityKey)) > 0 {
		return ctx
	}
	return metadata.AppendToOutgoingContext(ctx, CriticalityKey, c.String())
}

// IncomingCriticality returns, in a server handler, the criticality the
// client sent, and false when it sent none (or an unknown name). Only the
// first value counts.
func IncomingCriticality(ctx context.Context) (gate.Criticality, bool) {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return gate.CriticalityDefault, false
	}
	return CriticalityFromMetadata(md)
}

// CriticalityFromMetadata parses the criticality of md, as
// IncomingCriticality does.
func CriticalityFromMetadata(md metadata.MD) (gate.Criticality, bool) {
	v := md.Get(CriticalityKey)
	if len(v) == 0 {
		return gate.CriticalityDefault, false
	}
	return gate.ParseCriticality(v[0])
}

// CriticalityUnaryClientInterceptor sends the criticality of each call's
// context in its metadata (WithOutgoingCriticality). Chain it with
// UnaryClientInterceptor in either order.
func CriticalityUnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		return invoker(WithOutgoingCriticality(ctx), method, req, reply, cc, opts...)
	}
}

// CriticalityStreamClientInterceptor is CriticalityUnaryClientInterceptor
// for streams.
func CriticalityStreamClientInterceptor() grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
		return streamer(WithOutgoingCriticality(ctx), desc, cc, method, opts...)
	}
}
