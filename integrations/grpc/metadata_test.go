package regogrpc_test

import (
	"context"
	"testing"

	regogrpc "github.com/aponysus/rego/integrations/grpc"
	"google.golang.org/grpc/metadata"
)

func TestPreviousAttempts(t *testing.T) {
	for _, tc := range []struct {
		md   metadata.MD
		want int
	}{
		{nil, 0},
		{metadata.Pairs(regogrpc.PreviousAttemptsKey, "2"), 2},
		{metadata.Pairs(regogrpc.PreviousAttemptsKey, "-3"), 0},
		{metadata.Pairs(regogrpc.PreviousAttemptsKey, "x"), 0},
	} {
		ctx := context.Background()
		if tc.md != nil {
			ctx = metadata.NewIncomingContext(ctx, tc.md)
		}
		if got := regogrpc.PreviousAttempts(ctx); got != tc.want {
			t.Errorf("PreviousAttempts(%v) = %d, want %d", tc.md, got, tc.want)
		}
	}
}
