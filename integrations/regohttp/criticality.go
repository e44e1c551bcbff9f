package regohttp

import (
	"net/http"

	"github.com/aponysus/rego/gate"
)

// CriticalityHeader carries a call's criticality (gate.Criticality) from a
// client to a server, as gate.Criticality.String() spells it:
// "critical_plus", "critical", "sheddable_plus" or "sheddable".
const CriticalityHeader = "Rego-Criticality"

// SetCriticality sets the criticality header of h to c.
func SetCriticality(h http.Header, c gate.Criticality) {
	h.Set(CriticalityHeader, c.String())
}

// CriticalityFromHeader returns the criticality the header of h names, and
// false when it is missing or names none (the caller then uses its
// default). Only the first value counts; case and surrounding spaces are
// ignored.
func CriticalityFromHeader(h http.Header) (gate.Criticality, bool) {
	v := h.Values(CriticalityHeader)
	if len(v) == 0 {
		return gate.CriticalityDefault, false
	}
	return gate.ParseCriticality(v[0])
}

// CriticalityTransport sets the criticality header of every request whose
// context carries a criticality (gate.WithCriticality) other than
// gate.CriticalityDefault, and whose header is not set already, then sends
// it through Base. Use it as Options.Base of a Transport, so every attempt
// carries the header, or as the transport of any http.Client.
type CriticalityTransport struct {
	// Base sends the requests. If nil, http.DefaultTransport.
	Base http.RoundTripper
}

// RoundTrip sends req with the criticality header. The request is cloned
// when the header is added (a RoundTripper must not modify its request).
func (t *CriticalityTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	c := gate.CriticalityFrom(req.Context())
	if c == gate.CriticalityDefault || req.Header.Get(CriticalityHeader) != "" {
		return base.RoundTrip(req)
	}
	r2 := req.Clone(req.Context())
	SetCriticality(r2.Header, c)
	return base.RoundTrip(r2)
}

// CloseIdleConnections closes the idle connections of Base when it can.
func (t *CriticalityTransport) CloseIdleConnections() {
	type closer interface{ CloseIdleConnections() }
	base := t.Base
	if base == nil {
		base = http.DefaultTransport
	}
	if c, ok := base.(closer); ok {
		c.CloseIdleConnections()
	}
}
