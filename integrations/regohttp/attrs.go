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
		for i, m := range cachedMethods {
			if m == method {
				mi = i
				break
			}
		}
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
