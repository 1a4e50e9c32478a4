package assemble

import "strings"

// A composite key is how rows attach to entities: the canonical values of
// a query's key columns (course, student, module, activity ids in level
// order) as one string, the value itself for a single column and the
// values joined by keySep otherwise. Every key of the build is written
// and read by these three functions.
const keySep = "\x1f"

// compositeKey encodes n values, value(i) being the i-th; sb is reused
// between calls (nil allocates one when needed).
func compositeKey(sb *strings.Builder, n int, value func(i int) string) string {
	if n == 1 {
		return value(0)
	}
	if sb == nil {
		sb = &strings.Builder{}
	}
	sb.Reset()
	for i := range n {
		if i > 0 {
			sb.WriteString(keySep)
		}
		sb.WriteString(value(i))
	}
	return sb.String()
}

// keyPrefix encodes the first values of a key: those value gives before
// it says there is no more (a parent's ids under a child query's keys).
func keyPrefix(n int, value func(i int) (string, bool)) string {
	var parts []string
	for i := range n {
		v, ok := value(i)
		if !ok {
			break
		}
		parts = append(parts, v)
	}
	return strings.Join(parts, keySep)
}

// splitKey decodes a key of n values.
func splitKey(k string, n int) []string {
	if n <= 1 {
		return []string{k}
	}
	return strings.Split(k, keySep)
}
