package rut

import "strconv"

// Dotted writes the RUT as people read it: 12.345.678-5.
func (r RUT) Dotted() string {
	n := strconv.FormatInt(r.Number, 10)
	var b []byte
	for i := range len(n) {
		if i > 0 && (len(n)-i)%3 == 0 {
			b = append(b, '.')
		}
		b = append(b, n[i])
	}
	return string(b) + "-" + r.DV
}

// Dotted writes s as people read a RUT, 12.345.678-5. A string that is
// not a valid RUT is returned as it is.
func Dotted(s string) string {
	r, err := Parse(s)
	if err != nil {
		return s
	}
	return r.Dotted()
}
