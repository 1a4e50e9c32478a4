package rut

import (
	"errors"
	"testing"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in      string
		num     int64
		dv      string
		wantErr bool
	}{
		{"12.345.678-5", 12345678, "5", false},
		{"12345678-5", 12345678, "5", false},
		{"123456785", 12345678, "5", false},
		{" 12 345 678 - 5 ", 12345678, "5", false},
		{"17118181-k", 17118181, "K", false},
		{"17118181K", 17118181, "K", false},
		{"9.445.435-2", 9445435, "2", false},
		{"10.312.870-6", 10312870, "6", false},
		{"10.176.851-1", 10176851, "1", false},
		{"76543210-3", 76543210, "3", false},
		{"11222333-4", 0, "", true}, // SENCE's own example fails modulo 11
		{"11111111-5", 0, "", true},
		{"12345678-9", 0, "", true},
		{"", 0, "", true},
		{"-", 0, "", true},
		{"abc-1", 0, "", true},
		{"12345678-55", 0, "", true},
		{"1-2-3", 0, "", true},
		{"0-0", 0, "", true},
		{"1234567890-1", 0, "", true},
	}
	for _, c := range cases {
		r, err := Parse(c.in)
		if c.wantErr {
			var re *Error
			if !errors.As(err, &re) {
				t.Errorf("Parse(%q) = %v, %v; want *Error", c.in, r, err)
			}
			continue
		}
		if err != nil || r.Number != c.num || r.DV != c.dv {
			t.Errorf("Parse(%q) = %+v, %v; want %d-%s", c.in, r, err, c.num, c.dv)
		}
	}
}

func TestCheckDigitZeroAndK(t *testing.T) {
	// 11 - sum%11 == 11 gives 0, == 10 gives K.
	found0, foundK := false, false
	for n := int64(1); n < 200 && !(found0 && foundK); n++ {
		switch CheckDigit(n) {
		case "0":
			found0 = true
			if _, err := Parse(RUT{n, "0"}.String()); err != nil {
				t.Fatalf("round trip %d-0: %v", n, err)
			}
		case "K":
			foundK = true
			if _, err := Parse(RUT{n, "K"}.String()); err != nil {
				t.Fatalf("round trip %d-K: %v", n, err)
			}
		}
	}
	if !found0 || !foundK {
		t.Fatal("check digits 0 and K never produced")
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"12.345.678-5", "17118181-k", "", "K", "1-1", "٣-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			return
		}
		if !Valid(r.Number, r.DV) {
			t.Fatalf("Parse(%q) accepted invalid %v", s, r)
		}
		r2, err := Parse(r.String())
		if err != nil || r2 != r {
			t.Fatalf("round trip of %q: %v %v", s, r2, err)
		}
	})
}
