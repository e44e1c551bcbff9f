package regogrpc

import (
	"time"

	"google.golang.org/grpc/metadata"
)

// PushbackKey is the trailer in which a server asks the client to wait
// before retrying, or not to retry at all (gRFC A6).
const PushbackKey = "grpc-retry-pushback-ms"

// pushback is a server's pushback, parsed.
type pushback int

const (
	pushbackNone      pushback = iota // no pushback trailer
	pushbackDelay                     // a valid delay: retry after it
	pushbackStop                      // a negative value: do not retry
	pushbackMalformed                 // not an integer: do not retry (gRFC A6)
)

// maxPushbackMs keeps the conversion to a time.Duration from overflowing;
// any value this large is beyond every sensible MaxPushback anyway.
const maxPushbackMs = int64(1<<63-1) / int64(time.Millisecond)

// parsePushback reads the pushback trailer. Only the first value counts.
// A value of optional '-' and ASCII digits is an integer; anything else
// (spaces, '+', an empty string) is malformed. Integers too large for a
// Duration are clamped to the largest one, which MaxPushback then rejects.
func parsePushback(md metadata.MD) (time.Duration, pushback) {
	vals := md.Get(PushbackKey)
	if len(vals) == 0 {
		return 0, pushbackNone
	}
	return parsePushbackValue(vals[0])
}

func parsePushbackValue(s string) (time.Duration, pushback) {
	neg := false
	if len(s) > 0 && s[0] == '-' {
		neg = true
		s = s[1:]
	}
	if len(s) == 0 {
		return 0, pushbackMalformed
	}
	var ms int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, pushbackMalformed
		}
		if ms <= maxPushbackMs {
			ms = ms*10 + int64(c-'0')
		}
	}
	if neg {
		if ms == 0 {
			// "-0" is zero, not negative: retry at once.
			return 0, pushbackDelay
		}
		return 0, pushbackStop
	}
	if ms > maxPushbackMs {
		ms = maxPushbackMs
	}
	return time.Duration(ms) * time.Millisecond, pushbackDelay
}
