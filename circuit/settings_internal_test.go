package circuit

import (
	"reflect"
	"testing"
	"time"

	"github.com/aponysus/rego/policy"
)

// TestSamePolicyComparesEveryField: changing any one field of
// CircuitPolicy makes samePolicy false, so that a field added to the
// policy cannot be forgotten there (a forgotten field would keep a stale
// configuration in force after a reload).
func TestSamePolicyComparesEveryField(t *testing.T) {
	base := policy.CircuitPolicy{Enabled: true, FailureThreshold: 5, Cooldown: time.Second}
	if !samePolicy(&base, &base) {
		t.Fatal("a policy must equal itself")
	}
	typ := reflect.TypeOf(base)
	for i := 0; i < typ.NumField(); i++ {
		changed := base
		f := reflect.ValueOf(&changed).Elem().Field(i)
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Int, reflect.Int64:
			f.SetInt(f.Int() + 1)
		case reflect.Float64:
			f.SetFloat(f.Float() + 0.5)
		default:
			t.Fatalf("field %s has kind %v: teach samePolicy and this test about it", typ.Field(i).Name, f.Kind())
		}
		if samePolicy(&base, &changed) {
			t.Errorf("samePolicy ignores field %s", typ.Field(i).Name)
		}
	}
}
