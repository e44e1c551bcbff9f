package controlplane

import (
	"bytes"
	"testing"
	"time"
)

// Whatever a cache file holds, parsing it returns an entry for the
// source asked for, or an error; it never panics. A good entry survives a
// write and a read unchanged.
func FuzzParseCache(f *testing.F) {
	f.Add([]byte(`{"url":"http://cp/p","etag":"\"1\"","saved_at":"2024-01-01T00:00:00Z","body":"eyJ2ZXJzaW9uIjoidjEifQ=="}`))
	f.Add([]byte(`{"url":"http://cp/p","body":"e30="}`))
	f.Add([]byte(`{"url":"elsewhere","body":"e30="}`))
	f.Add([]byte(`{not json`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := parseCache(data, "cache", "http://cp/p")
		if err != nil {
			return
		}
		if e.Source != "http://cp/p" {
			t.Fatalf("entry for %q accepted", e.Source)
		}
	})
}

func TestCacheRoundTrip(t *testing.T) {
	path := t.TempDir() + "/cache"
	in := cacheEntry{Source: "etcd:/k", Revision: "42", SavedAt: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), Body: []byte("{\x00\xff}")}
	if err := writeCache(path, in); err != nil {
		t.Fatal(err)
	}
	out, err := readCache(path, "etcd:/k", 1<<20)
	if err != nil || out.Source != in.Source || out.Revision != in.Revision || !out.SavedAt.Equal(in.SavedAt) || !bytes.Equal(out.Body, in.Body) {
		t.Fatalf("read back %+v, %v", out, err)
	}
}
