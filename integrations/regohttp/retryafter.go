package regohttp

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"
)

// ErrRetryAfterSyntax is matched (errors.Is) by the error ParseRetryAfter
// returns for a value that is neither delta-seconds nor an HTTP-date.
var ErrRetryAfterSyntax = errors.New("regohttp: malformed Retry-After")

// maxDeltaSeconds is the largest delta-seconds that fits a time.Duration.
const maxDeltaSeconds = math.MaxInt64 / int64(time.Second)

// ParseRetryAfter parses the value of a Retry-After header (RFC 9110,
// section 10.2.3) and returns the wait it asks for, measured from now.
//
// The value is either delta-seconds (a run of ASCII digits: "120") or an
// HTTP-date in any of the three formats http.ParseTime accepts
// ("Wed, 21 Oct 2015 07:28:00 GMT"). Surrounding spaces and tabs are
// ignored. An HTTP-date earlier than now gives a negative duration: the
// caller decides what a date in the past means. Any other value, and
// delta-seconds too large for a time.Duration, give an error matching
// ErrRetryAfterSyntax.
func ParseRetryAfter(value string, now time.Time) (time.Duration, error) {
	v := strings.Trim(value, " \t")
	if v == "" {
		return 0, fmt.Errorf("%w: empty value", ErrRetryAfterSyntax)
	}
	if isDigit(v[0]) {
		var n int64
		for i := 0; i < len(v); i++ {
			c := v[i]
			if !isDigit(c) {
				return 0, fmt.Errorf("%w: %q is not delta-seconds", ErrRetryAfterSyntax, clip(v))
			}
			n = n*10 + int64(c-'0')
			if n > maxDeltaSeconds {
				return 0, fmt.Errorf("%w: %q seconds is out of range", ErrRetryAfterSyntax, clip(v))
			}
		}
		return time.Duration(n) * time.Second, nil
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, fmt.Errorf("%w: %q is neither delta-seconds nor an HTTP-date", ErrRetryAfterSyntax, clip(v))
	}
	return t.Sub(now), nil // saturates at the bounds of time.Duration
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// clip keeps error messages short when a server sends a huge header.
func clip(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	return s[:max] + "..."
}
