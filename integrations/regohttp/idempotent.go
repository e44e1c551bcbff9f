package regohttp

import (
	"context"
	"net/http"
)

// IdempotencyKeyHeader is the request header that marks a POST or PATCH
// as safe to repeat: the server deduplicates requests carrying the same
// key.
const IdempotencyKeyHeader = "Idempotency-Key"

// IsIdempotent is the default rule for whether a request may be sent more
// than once. The methods RFC 9110 (section 9.2.2) defines as idempotent
// are: GET, HEAD, OPTIONS, TRACE, PUT and DELETE (an empty method means
// GET). Any other method, POST and PATCH included, is idempotent only when
// the request carries an Idempotency-Key header.
func IsIdempotent(req *http.Request) bool {
	switch req.Method {
	case "", http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace, http.MethodPut, http.MethodDelete:
		return true
	}
	return len(req.Header[IdempotencyKeyHeader]) > 0
}

type idempotentKey struct{}

// WithIdempotent returns a context that marks the requests made with it
// as safe to repeat (true) or not (false), overriding both IsIdempotent
// and Options.Idempotent. Mark a POST whose handler is idempotent, or a
// GET whose handler is not:
//
//	req, _ := http.NewRequestWithContext(regohttp.WithIdempotent(ctx, true), "POST", url, body)
func WithIdempotent(ctx context.Context, idempotent bool) context.Context {
	return context.WithValue(ctx, idempotentKey{}, idempotent)
}

// idempotentFromContext returns the mark WithIdempotent left, if any.
func idempotentFromContext(ctx context.Context) (idempotent, ok bool) {
	idempotent, ok = ctx.Value(idempotentKey{}).(bool)
	return idempotent, ok
}
