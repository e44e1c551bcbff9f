package regogrpc

import (
	"context"
	"strconv"

	"google.golang.org/grpc/metadata"
)

// PreviousAttemptsKey is the metadata sent on every attempt after the
// first, holding the number of attempts made before it (gRFC A6).
const PreviousAttemptsKey = "grpc-previous-rpc-attempts"

// smallInts avoids formatting the common attempt counts.
var smallInts = [...]string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10"}

// withPreviousAttempts adds the attempt-count metadata for an attempt that
// follows n others. The first attempt (n == 0) sends none, like a call
// without retries.
func withPreviousAttempts(ctx context.Context, n int) context.Context {
	if n <= 0 {
		return ctx
	}
	v := ""
	if n < len(smallInts) {
		v = smallInts[n]
	} else {
		v = strconv.Itoa(n)
	}
	return metadata.AppendToOutgoingContext(ctx, PreviousAttemptsKey, v)
}

// PreviousAttempts returns, in a server handler, how many attempts of the
// same call the client made before this one: the value of
// grpc-previous-rpc-attempts, or 0 for a first attempt (or a malformed
// value). Servers can use it to shed retries before first tries.
func PreviousAttempts(ctx context.Context) int {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return 0
	}
	vals := md.Get(PreviousAttemptsKey)
	if len(vals) == 0 {
		return 0
	}
	n, err := strconv.Atoi(vals[0])
	if err != nil || n < 0 {
		return 0
	}
	return n
}
