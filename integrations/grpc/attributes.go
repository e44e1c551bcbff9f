package regogrpc

import (
	"sync"
	"sync/atomic"

	"google.golang.org/grpc/codes"
)

// attributes returns the Outcome.Attributes of a failed attempt. Those
// without pushback are the same for every failure of a method with a
// code, so the classifier keeps one map for each and hands it to all of
// them rather than building a map per failed attempt; a pushback value
// varies, so a map with one is built each time.
func (c *Classifier) attributes(method string, code codes.Code, pushbackRaw string) map[string]string {
	if pushbackRaw != "" || code >= numCodes {
		return newAttributes(method, code, pushbackRaw)
	}
	return c.attrs.get(method, code)
}

func newAttributes(method string, code codes.Code, pushbackRaw string) map[string]string {
	attrs := make(map[string]string, 3)
	attrs[AttrCode] = code.String()
	if method != "" {
		attrs[AttrMethod] = method
	}
	if pushbackRaw != "" {
		attrs[AttrPushbackMs] = pushbackRaw
	}
	return attrs
}

// maxCachedAttributes bounds the attribute cache, as maxCachedKeys bounds
// the key cache: beyond it, maps are built per failed attempt again.
const maxCachedAttributes = 1024

// attrCache maps a method and a code to their shared attribute map.
type attrCache struct {
	m sync.Map // attrKey -> map[string]string
	n atomic.Int32
}

type attrKey struct {
	method string
	code   codes.Code
}

func (a *attrCache) get(method string, code codes.Code) map[string]string {
	k := attrKey{method: method, code: code}
	if v, ok := a.m.Load(k); ok {
		return v.(map[string]string)
	}
	attrs := newAttributes(method, code, "")
	if a.n.Load() < maxCachedAttributes {
		v, loaded := a.m.LoadOrStore(k, attrs)
		if loaded {
			return v.(map[string]string)
		}
		a.n.Add(1)
	}
	return attrs
}
