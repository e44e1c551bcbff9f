// Package policy defines policy keys and the policy schema that the rego
// executor carries out.
//
// A call site names itself with a low-cardinality PolicyKey such as
// "payments.Charge". An EffectivePolicy attached to that key says how many
// attempts to make, how to back off between them, which timeouts apply,
// which classifier judges outcomes, which budget gates extra attempts,
// whether to hedge, whether a circuit breaker guards the key, which
// overload gates apply (BulkheadPolicy, RateLimitPolicy, ConcurrencyPolicy,
// ShedPolicy) and which user gates are asked (GateRef).
//
// A zero field in a policy means "the default", so
//
//	policy.EffectivePolicy{Retry: policy.RetryPolicy{MaxAttempts: 5}}
//
// is a complete policy. Normalize fills in defaults and clamps every value to
// the documented safe range, recording each field it changed in
// Meta.ClampedFields; it fails only for values that cannot be repaired (an
// unknown jitter kind or concurrency algorithm, a gate without a name or
// listed twice).
//
// Policies encode to JSON with snake_case field names and durations as Go
// duration strings ("250ms"). Policy documents (DecodeDocument) are checked
// more strictly than Normalize checks Go values: negative numbers and values
// far out of range are errors there, and every problem of a document is
// reported at once. docs/policies.md gives the rules and the fields; one
// table in this package declares every field, and the decoder, Normalize,
// the encoder and the JSON Schema (JSONSchema, docs/policy.schema.json) all
// derive from it.
package policy
