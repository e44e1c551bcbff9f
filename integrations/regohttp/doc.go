// Package regohttp runs HTTP requests through rego: a Transport (an
// http.RoundTripper) that retries, waits, times out and hedges requests
// as the policy of their key says, and a Classifier that tells the
// executor what a response or a transport error means.
//
//	client := &http.Client{Transport: regohttp.NewTransport(regohttp.Options{
//		Executor: exec,
//		Key:      policy.ParseKey("payments.http"),
//	})}
//	resp, err := client.Get("https://payments.internal/v1/balance")
//
// # Contract
//
// Each request is one call of the executor; each attempt sends a copy of
// the request (Request.WithContext) through the base transport under the
// attempt's context, so per-attempt timeouts and hedge cancellation stop
// it. The base transport must not modify the request (the
// http.RoundTripper contract); attempts that may run alongside others get
// a Header of their own all the same. The caller's context bounds the
// whole call, waits included.
//
// Which requests are retried. Requests are retried only when repeating
// them is safe (RFC 9110, section 9.2.2): GET, HEAD, OPTIONS, TRACE, PUT
// and DELETE, and any other method, POST and PATCH included, that carries
// an Idempotency-Key header. WithIdempotent marks a request either way;
// Options.Idempotent replaces the rule. Other requests run as a single
// attempt: no retries, no hedges, still timed out and observed.
//
// Bodies. The first attempt sends Request.Body; every later attempt, and
// every hedge, sends a fresh copy from Request.GetBody (set by
// http.NewRequest for bytes and strings readers and buffers). A request
// with a body and no GetBody is sent once, never retried with an empty
// body. RoundTrip closes Request.Body, even on errors.
//
// What is retried. The Classifier judges each attempt: transport errors
// (refused or reset connections, per-attempt timeouts) and the statuses
// 408, 429, 500, 502, 503 and 504 are retryable; every other status ends
// the call and goes to the caller. A Retry-After header on a retryable
// response, in either form (seconds or HTTP-date), becomes the next wait,
// up to ClassifierOptions.MaxRetryAfter; a longer, past or malformed
// value is ignored (or, with StopBeyondMaxRetryAfter, ends the call),
// and the attempt record says so. The caller cancelling its context is
// never retried.
//
// What the caller gets. The response of the attempt that succeeded,
// whose body stays readable after the executor has finished with the
// attempt; or, when every attempt failed on a retryable status, the last
// such response with a nil error, exactly what a plain transport would
// have returned (Options.FailedResponseError turns it into a
// *StatusError); or the error that ended the call (the base transport's
// error, a budget denial, the context's error).
//
// Connections. The body of a failed response is read at once, on the
// caller's goroutine, up to Options.DrainLimit bytes and for at most
// Options.DrainTimeout (100ms by default, and at most a quarter more; the
// attempt's timeout bounds it too): a body that fits is kept in memory
// and its connection goes back to the pool before the retry. A body that
// stalls does not hold the call up: when the drain timeout expires the
// Transport closes it, and its connection, and the call goes on; the
// caller who gets that response reads the bytes that arrived, then an
// error matching ErrDrainTimeout.
// The Transport closes every response the caller will not see: failed
// responses superseded by a later attempt, and losing hedges, even those
// that arrive after RoundTrip has returned.
//
// Records. The Transport has the executor judge its attempts with its
// Classifier (through retry.CallOptions.Classifier), so the timeline and
// observers see the status code, the method and the Retry-After decision
// of every attempt (the attributes http.status_code, http.method,
// http.retry_after and http.retry_after_ignored). A classifier named by
// the request's policy takes precedence; the Transport reports failed
// responses as errors that any classifier following classify.Default's
// rules understands (a *StatusError, marked with classify.RetryAfter or
// classify.Permanent), so such a policy still retries what the
// Transport's Classifier says. CaptureTimeline hands the timeline of one
// request to its caller.
//
// Servers. Middleware applies rego's overload gates (shedding by the
// Rego-Criticality header, rate limiter, bulkhead, adaptive limit) per
// route key and answers refusals with 429 or 503 and Retry-After; see
// docs/overload.md.
//
// Keys. A Transport uses one policy key (Options.Key, else DefaultKey)
// or one per request (Options.KeyFunc). Keys must be low-cardinality:
// never the raw URL.
package regohttp
