// Package regogrpc runs gRPC client calls under rego policies.
//
// UnaryClientInterceptor and StreamClientInterceptor return plain
// grpc.UnaryClientInterceptor and grpc.StreamClientInterceptor values; install
// them with grpc.WithChainUnaryInterceptor and grpc.WithChainStreamInterceptor.
// Each call is keyed by its full method name (MethodKey), so policies are
// per method and keys stay low-cardinality.
//
// Attempts are judged by status code (see ClassifierOptions): UNAVAILABLE is
// retried, RESOURCE_EXHAUSTED only when the server sends pushback, and
// DEADLINE_EXCEEDED only when it was the attempt's own deadline that fired;
// every other code ends the call. A unary attempt that failed after its
// response headers arrived is not retried whatever its code: gRFC A6 (and
// grpc-go) commit a call at its headers. Server pushback follows gRFC A6:
// the trailer grpc-retry-pushback-ms holds the wait before the next attempt,
// and a negative or malformed value means "do not retry". Retried attempts
// carry the metadata grpc-previous-rpc-attempts so that servers can tell
// retries from first tries.
//
// A call its context ends (the caller's, or the policy's OverallTimeout)
// returns codes.Canceled or codes.DeadlineExceeded, as gRPC does. A unary
// call whose server pushback would end at or after the caller's deadline
// returns codes.DeadlineExceeded at once, where grpc-go would wait for the
// deadline to pass. So does a call with an attempt left whose next wait
// (backoff or pushback) would end at or after its deadline, the earlier of
// the caller's and the policy's OverallTimeout (the executor stops it with
// retry.ErrDeadline): the message holds the last attempt's status. Any
// other call whose attempts ran out returns the last attempt's status.
//
// Streams are retried only before they commit, as gRFC A6 defines: until
// the response headers (or the first response message) arrive. The messages
// sent before that are buffered, up to Options.StreamBufferBytes and
// Options.StreamBufferMessages, and replayed on the next attempt; sending
// more than the buffer holds commits the stream to its current attempt, or,
// when no attempt is live (a retry is waiting out its backoff), ends the
// call at once with the last attempt's error.
// After commit the caller talks to that attempt's stream directly and its
// errors reach the caller unchanged.
//
// UnaryServerInterceptor and StreamServerInterceptor apply rego's overload
// gates on the server side and answer refusals with RESOURCE_EXHAUSTED or
// UNAVAILABLE and grpc-retry-pushback-ms; see docs/overload.md.
//
// The interceptors mark the errors of attempts that must not be retried
// with classify.Permanent and pushback delays with classify.RetryAfter, so
// they behave the same on an executor that uses classify.Default. Register
// the classifier from NewClassifier (or set it as the executor's
// DefaultClassifier) to also get the attributes grpc.code and grpc.method in
// attempt records.
package regogrpc
