package cow

import (
	"fmt"
	"sync"
	"testing"
)

func TestMap(t *testing.T) {
	var m Map[string, int]
	if _, ok := m.Load("a"); ok {
		t.Fatal("empty map has a")
	}
	m.Store("a", 1)
	m.Store("b", 2)
	m.Store("a", 3)
	if v, ok := m.Load("a"); !ok || v != 3 {
		t.Fatalf("a = %v %v", v, ok)
	}
	m.Delete("b")
	m.Delete("zz")
	n := 0
	m.Range(func(k string, v int) bool { n++; return true })
	if n != 1 {
		t.Fatalf("%d entries", n)
	}
}

func TestMapConcurrent(t *testing.T) {
	var m Map[int, int]
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(2)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				m.Store(w*1000+i, i)
			}
		}(w)
		go func() {
			defer wg.Done()
			for i := 0; i < 1000; i++ {
				m.Load(i)
			}
		}()
	}
	wg.Wait()
	for w := 0; w < 4; w++ {
		for i := 0; i < 100; i++ {
			if v, ok := m.Load(w*1000 + i); !ok || v != i {
				t.Fatal(fmt.Sprint("lost ", w*1000+i))
			}
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	var m Map[string, int]
	m.Store("payments", 1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.Load("payments")
	}
}
