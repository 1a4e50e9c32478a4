package sence

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestRetryAfter(t *testing.T) {
	now := time.Date(2024, 5, 10, 22, 0, 0, 0, time.UTC)
	cases := []struct {
		value string
		want  time.Duration
		ok    bool
	}{
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Minute).Format(http.TimeFormat), 0, true},
		{"-3", 0, false},
		{"pronto", 0, false},
		{"", 0, false},
	}
	for _, c := range cases {
		h := http.Header{}
		if c.value != "" {
			h.Set("Retry-After", c.value)
		}
		got, ok := retryAfter(h, now)
		if got != c.want || ok != c.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", c.value, got, ok, c.want, c.ok)
		}
	}
}

type hidden struct{ inner error }

func (h hidden) Error() string { return "falló sin decir por qué" }
func (h hidden) Unwrap() error { return h.inner }

func TestRedactorKeepsTypesAndRemovesSecret(t *testing.T) {
	const secret = "5EC12E70-70CE-4E00-A000-00000000C0DE"
	r := redactor{secret: secret}
	cause := errors.New("connection reset")
	ue := &url.Error{Op: "Get", URL: "https://x/historialEnvios?token=" + secret, Err: cause}
	got := r.error(ue)
	var gotURL *url.Error
	if !errors.As(got, &gotURL) || !errors.Is(got, cause) || strings.Contains(got.Error(), secret) ||
		!strings.Contains(got.Error(), "token=<TOKEN>") {
		t.Errorf("url.Error: %v", got)
	}
	// An error that hides a wrapped error showing the secret is flattened.
	got = r.error(hidden{inner: fmt.Errorf("x: %w", ue)})
	for e := got; e != nil; e = errors.Unwrap(e) {
		if strings.Contains(e.Error(), secret) {
			t.Errorf("wrapped secret survives: %v", e)
		}
	}
	if plain := errors.New("no secret here"); r.error(plain) != plain {
		t.Error("an error without the secret was replaced")
	}
	if got := string(r.bytes([]byte("a " + secret + " b"))); got != "a <TOKEN> b" {
		t.Errorf("bytes: %q", got)
	}
}
