//go:build !unix

package nettest

import (
	"net"
	"testing"
)

// RefusedURL is the URL of a local port that was free a moment ago.
func RefusedURL(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr
}
