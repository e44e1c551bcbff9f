// Package classify decides what the result of an attempt means: success,
// a failure worth retrying, a failure that must not be retried, or a reason
// to abort the whole call.
//
// A policy picks a classifier by name (RetryPolicy.ClassifierName) from the
// executor's Registry; without a name the executor uses Default, which
// retries every error except those marked with Permanent, and honours delays
// requested with RetryAfter. The executor itself stops when the caller's
// context is done, whatever the classifier says; a per-attempt timeout is an
// ordinary retryable failure.
//
// Operations mark their errors without knowing the classifier in use:
//
//	if resp.StatusCode == http.StatusBadRequest {
//		return classify.Permanent(err) // never retried
//	}
//	return classify.RetryAfter(err, 2*time.Second) // retried after 2s
package classify
