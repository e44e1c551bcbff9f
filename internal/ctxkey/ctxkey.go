// Package ctxkey holds the context keys that packages of the module share:
// a context of one package answers for a key of another.
package ctxkey

// Attempt is the key of an attempt's observe.AttemptInfo. Its value is
// an observe.AttemptInfo or a *observe.AttemptInfo.
type Attempt struct{}
