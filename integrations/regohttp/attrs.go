package regohttp

import (
	"net/http"
	"strconv"
	"sync/atomic"
)

// cachedMethods are the methods whose outcome attributes are shared.
var cachedMethods = [...]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions,
}

// methodIndex returns the index of method in cachedMethods, or -1. A
// switch, which the compiler turns into a few comparisons, costs a
// fraction of a loop over the strings.
func methodIndex(method string) int {
	switch method {
	case http.MethodGet:
		return 0
	case http.MethodHead:
		return 1
	case http.MethodPost:
		return 2
	case http.MethodPut:
		return 3
	case http.MethodPatch:
		return 4
	case http.MethodDelete:
		return 5
	case http.MethodOptions:
		return 6
	}
	return -1
}

// attrCache holds, per cached method and status code (100-599), the
// attributes of a response judged without a Retry-After decision. They
// are the same for every such response, so one read-only map serves
// them all instead of a map per response. Entries are built on first
// use.
var attrCache [len(cachedMethods)][500]atomic.Pointer[map[string]string]

// sharedAttributes returns the attributes {status code, method} (the
// method only if withMethod), shared when the combination is cached.
func sharedAttributes(code int, method string, withMethod bool) map[string]string {
	mi := -1
	if withMethod {
		mi = methodIndex(method)
	}
	if mi < 0 || code < 100 || code > 599 {
		attrs := map[string]string{AttrStatusCode: strconv.Itoa(code)}
		if withMethod {
			attrs[AttrMethod] = method
		}
		return attrs
	}
	slot := &attrCache[mi][code-100]
	if p := slot.Load(); p != nil {
		return *p
	}
	attrs := map[string]string{AttrStatusCode: strconv.Itoa(code), AttrMethod: method}
	slot.CompareAndSwap(nil, &attrs)
	return *slot.Load()
}
