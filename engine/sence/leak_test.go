package sence_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/otec-tools/sence-engine/engine/nettest"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/simulator"
)

// echoServer answers with the request's URL and body: a proxy's error
// page that repeats the query string, or a server that echoes the POST,
// both carry the token back.
func echoServer(t *testing.T, status int, extra http.Header) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		for k, v := range extra {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		fmt.Fprintf(w, "<html>%s %s</html>", r.URL.String(), body)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// failHistory drops every POST and answers every GET with a 500 that
// echoes the URL: the answer is lost and the history cannot be read.
func failHistory(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			io.Copy(io.Discard, r.Body)
			panic(http.ErrAbortHandler)
		}
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, r.URL.String())
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestTokenNeverLeaks(t *testing.T) {
	wrongCreds := startSim(t, simulator.Options{Credentials: []simulator.Credential{{RutOtec: rutOtec, Token: otherToken}}})
	slow := startSim(t, simulator.Options{Faults: simulator.Faults{Latency: time.Second}})
	malformed := startSim(t, simulator.Options{Faults: simulator.Faults{MalformedNext: 1000}})
	dropping := startSim(t, simulator.Options{Faults: simulator.Faults{DropAfterStore: 1000}})
	failing := startSim(t, simulator.Options{Faults: simulator.Faults{Fail503Next: 1000}})
	tlsSrv := httptest.NewUnstartedServer(http.NotFoundHandler())
	tlsSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	tlsSrv.StartTLS()
	defer tlsSrv.Close()

	paths := []struct {
		name    string
		base    string
		classes []error // what at least one of the calls must report
	}{
		{"refused", nettest.RefusedURL(t), []error{sence.ErrUnreachable}},
		{"DNS failure", "http://nonexistent.invalid", []error{sence.ErrUnreachable, sence.ErrTimeout}},
		{"TLS certificate", tlsSrv.URL, []error{sence.ErrUnreachable}},
		{"timeout", slow.URL, []error{sence.ErrTimeout}},
		{"malformed", malformed.URL, []error{sence.ErrMalformed}},
		{"malformed echo", echoServer(t, 200, nil), []error{sence.ErrMalformed}},
		{"auth failure", wrongCreds.URL, []error{sence.ErrAuth}},
		{"500 echoing the request", echoServer(t, 500, nil), []error{sence.ErrHTTPStatus}},
		{"503", failing.URL, []error{sence.ErrHTTPStatus}},
		{"redirect to a URL with the token", echoServer(t, 302, http.Header{"Location": {"https://x.cl/?token=" + token}}), []error{sence.ErrHTTPStatus}},
		{"answer lost", dropping.URL, []error{sence.ErrUnknownOutcome}},
		{"answer lost, history failing", failHistory(t), []error{sence.ErrUnknownOutcome}},
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			h := newHarness(t, p.base, func(c *sence.Config) { c.Timeout, c.Settle = 300*time.Millisecond, 5*time.Second })
			ctx := context.Background()
			var errs []error
			var results []any
			c := testCourse()
			res, err := h.Send(ctx, c)
			errs, results = append(errs, err), append(results, res)
			c.CodigoEnvio = "con-codigo"
			res, err = h.Send(ctx, c)
			errs, results = append(errs, err), append(results, res)
			procs, err := h.History(ctx, sence.HistoryQuery{Since: "2024-01-01", CodigoExterno: "x"})
			errs, results = append(errs, err), append(results, procs)
			errs = append(errs, h.Ping(ctx))

			matched := false
			for _, err := range errs {
				for _, class := range p.classes {
					matched = matched || errors.Is(err, class)
				}
				assertNoToken(t, err)
			}
			if !matched {
				t.Errorf("no call reported %v: %v", p.classes, errs)
			}
			for _, r := range results {
				b, _ := json.Marshal(r)
				if strings.Contains(string(b), token) {
					t.Errorf("a result shows the token: %s", b)
				}
			}
			if logs := h.logs.String(); strings.Contains(logs, token) || logs == "" {
				t.Errorf("logs show the token or are empty:\n%s", logs)
			}
		})
	}
}

// assertNoToken checks the error's text in every format and every error
// it wraps, and the body it keeps.
func assertNoToken(t *testing.T, err error) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range []string{e.Error(), fmt.Sprintf("%v", e), fmt.Sprintf("%+v", e), fmt.Sprintf("%q", e)} {
			if strings.Contains(s, token) {
				t.Errorf("error (%T) shows the token: %s", e, s)
			}
		}
		var se *sence.Error
		if errors.As(e, &se) && strings.Contains(string(se.Body), token) {
			t.Errorf("error body keeps the token: %s", se.Body)
		}
	}
}
