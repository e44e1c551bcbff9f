package hedge

import (
	"testing"
	"time"
)

func TestBucketBoundsContainTheirValues(t *testing.T) {
	prevLo := time.Duration(-1)
	for i := 0; i < numBuckets; i++ {
		lo, w := bucketBounds(i)
		if lo <= prevLo {
			t.Fatalf("bucket %d: lower edge %v not above previous %v", i, lo, prevLo)
		}
		prevLo = lo
		if got := bucketOf(lo); got != i {
			t.Fatalf("bucketOf(lower edge of %d = %v) = %d", i, lo, got)
		}
		if got := bucketOf(lo + w - 1); got != i {
			t.Fatalf("bucketOf(upper edge of %d) = %d", i, got)
		}
		if i+1 < numBuckets {
			if next, _ := bucketBounds(i + 1); next != lo+w {
				t.Fatalf("gap between bucket %d and %d: %v != %v", i, i+1, next, lo+w)
			}
		}
		if lo >= 32<<unitShift && float64(w)/float64(lo) > 1.0/subBuckets {
			t.Fatalf("bucket %d too wide: %v at %v", i, w, lo)
		}
	}
	if lo, w := bucketBounds(numBuckets - 1); lo+w != maxTracked {
		t.Fatalf("last bucket ends at %v, want %v", lo+w, maxTracked)
	}
}

func TestBucketOfEdges(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int
	}{
		{-time.Second, 0},
		{0, 0},
		{1023, 0},
		{1024, 1},
		{32 << unitShift, 32},
		{maxTracked - 1, numBuckets - 1},
		{maxTracked, numBuckets - 1},
		{time.Duration(1<<63 - 1), numBuckets - 1},
	}
	for _, tt := range tests {
		if got := bucketOf(tt.d); got != tt.want {
			t.Errorf("bucketOf(%d) = %d, want %d", tt.d, got, tt.want)
		}
	}
}
