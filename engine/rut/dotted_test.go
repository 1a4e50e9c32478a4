package rut

import "testing"

func TestDotted(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"12345678-5", "12.345.678-5"},
		{"1-9", "1-9"},
		{"123456785", "12.345.678-5"},
		{"17118181-k", "17.118.181-K"},
		{"12345678-0", "12345678-0"}, // wrong digit: as it is
		{"", ""},
	} {
		if got := Dotted(tc.in); got != tc.want {
			t.Errorf("Dotted(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
