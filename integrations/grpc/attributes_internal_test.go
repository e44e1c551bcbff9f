package regogrpc

import (
	"reflect"
	"strconv"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// sameMap reports whether a and b are the same map, not equal copies.
func sameMap(a, b map[string]string) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func TestAttributesSharedPerMethodAndCode(t *testing.T) {
	c := NewClassifier(ClassifierOptions{})
	unavailable := status.Error(codes.Unavailable, "x")
	first := c.classify("/s/m", nil, false, unavailable).Attributes
	want := map[string]string{AttrCode: "Unavailable", AttrMethod: "/s/m"}
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("attributes %v, want %v", first, want)
	}
	if again := c.classify("/s/m", nil, false, status.Error(codes.Unavailable, "other message")).Attributes; !sameMap(first, again) {
		t.Fatal("a second failure of the same method and code built a new map")
	}
	other := c.classify("/s/other", nil, false, unavailable).Attributes
	if sameMap(first, other) || other[AttrMethod] != "/s/other" {
		t.Fatalf("another method got %v", other)
	}
	internal := c.classify("/s/m", nil, false, status.Error(codes.Internal, "x")).Attributes
	if sameMap(first, internal) || internal[AttrCode] != "Internal" {
		t.Fatalf("another code got %v", internal)
	}
	noMethod := c.classify("", nil, false, unavailable).Attributes
	if !reflect.DeepEqual(noMethod, map[string]string{AttrCode: "Unavailable"}) {
		t.Fatalf("no method gave %v", noMethod)
	}
	// Another classifier keeps maps of its own.
	if sameMap(first, NewClassifier(ClassifierOptions{}).classify("/s/m", nil, false, unavailable).Attributes) {
		t.Fatal("two classifiers share a map")
	}
}

func TestAttributesWithPushbackBuiltPerAttempt(t *testing.T) {
	c := NewClassifier(ClassifierOptions{})
	err := status.Error(codes.Unavailable, "x")
	a := c.classify("/s/m", metadata.Pairs(PushbackKey, "15"), false, err).Attributes
	b := c.classify("/s/m", metadata.Pairs(PushbackKey, "15"), false, err).Attributes
	want := map[string]string{AttrCode: "Unavailable", AttrMethod: "/s/m", AttrPushbackMs: "15"}
	if !reflect.DeepEqual(a, want) || !reflect.DeepEqual(b, want) {
		t.Fatalf("attributes %v and %v, want %v", a, b, want)
	}
	if sameMap(a, b) {
		t.Fatal("attributes with a pushback value were shared")
	}
	if plain := c.classify("/s/m", nil, false, err).Attributes; sameMap(plain, a) || plain[AttrPushbackMs] != "" {
		t.Fatalf("the shared map holds a pushback: %v", plain)
	}
}

func TestAttributeCacheBounded(t *testing.T) {
	c := NewClassifier(ClassifierOptions{})
	err := status.Error(codes.Unavailable, "x")
	for i := 0; i < maxCachedAttributes+10; i++ {
		c.classify("/s/m"+strconv.Itoa(i), nil, false, err)
	}
	if n := c.attrs.n.Load(); n != maxCachedAttributes {
		t.Fatalf("cache holds %d maps, want %d", n, maxCachedAttributes)
	}
	// Beyond the bound the maps are still right, built per attempt.
	m := "/s/m" + strconv.Itoa(maxCachedAttributes+5)
	got := c.classify(m, nil, false, err).Attributes
	if got[AttrMethod] != m || got[AttrCode] != "Unavailable" || sameMap(got, c.classify(m, nil, false, err).Attributes) {
		t.Fatalf("uncached method gave %v", got)
	}
	// An unknown code is not cached either.
	big := c.classify("/s/m0", nil, false, status.Error(codes.Code(99), "x")).Attributes
	if big[AttrCode] != codes.Code(99).String() {
		t.Fatalf("code 99 gave %v", big)
	}
}

// Judging a failure the classifier has seen before (same method and
// code, no pushback) allocates nothing: no attribute map per attempt.
func TestClassifyRepeatFailureAllocatesNothing(t *testing.T) {
	c := NewClassifier(ClassifierOptions{})
	a := &unaryAttempt{call: &unaryCall{method: "/s/m"}}
	err := status.Error(codes.Unavailable, "x")
	c.Classify(a, err)
	if n := testing.AllocsPerRun(100, func() { c.Classify(a, err) }); n != 0 {
		t.Fatalf("Classify allocated %v times per failed attempt, want 0", n)
	}
}
