package regogrpc

import (
	"strings"
	"unicode"

	"github.com/aponysus/rego/policy"
)

// MethodKey is the default KeyFunc. It turns the full method name
// "/pkg.Service/Method" into the key policy.ParseKey("pkg.Service.Method"),
// which is {Namespace: "pkg", Name: "Service.Method"}: the key whose String
// is "pkg.Service.Method" and that a policy document names the same way, so
// a document entry "pkg.Service.Method" applies to that method. A method
// name without the leading slash or the service part is used as it is.
func MethodKey(fullMethod string) policy.PolicyKey {
	s := fullMethod
	if svc, m, ok := splitMethod(fullMethod); ok {
		s = svc + "." + m
	}
	// Leading dots would give a key with an empty namespace and a dotted
	// name, whose string form parses as a different key.
	s = strings.TrimLeftFunc(s, func(r rune) bool { return r == '.' || unicode.IsSpace(r) })
	return policy.ParseKey(s)
}

// ServiceMethodKey is a KeyFunc that keys "/pkg.Service/Method" as
// {Namespace: "pkg.Service", Name: "Method"}. Its keys suit providers built
// in code (a StaticProvider map); a policy document cannot name them,
// because document keys are split at their first dot.
func ServiceMethodKey(fullMethod string) policy.PolicyKey {
	svc, m, ok := splitMethod(fullMethod)
	if !ok {
		return policy.PolicyKey{Name: strings.TrimPrefix(fullMethod, "/")}
	}
	return policy.PolicyKey{Namespace: svc, Name: m}
}

// splitMethod splits "/service/method" into its parts.
func splitMethod(fullMethod string) (service, method string, ok bool) {
	if len(fullMethod) < 4 || fullMethod[0] != '/' {
		return "", "", false
	}
	rest := fullMethod[1:]
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 || i == len(rest)-1 {
		return "", "", false
	}
	return rest[:i], rest[i+1:], true
}
