package cli

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/sence"
)

var screenshot = flag.Bool("screenshot", false, "rewrite docs/reporte.png, the README's picture of the report, from the browser test")

// chromium finds the browser: SENCE_TEST_CHROMIUM, or chromium on PATH.
// Without it the test is skipped on a developer's machine and fails in CI
// (CI=true or SENCE_TEST_REQUIRE_DB=1, as for the database tests).
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SENCE_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" || os.Getenv("SENCE_TEST_REQUIRE_DB") == "1" {
		t.Fatal("chromium is not installed (apt-get install -y chromium; .ci/run installs it): the report's browser test must run in CI")
	}
	t.Skip("chromium is not installed: the report's browser test is skipped (set CI=true to make it fail)")
	return ""
}

// artifacts is where the test leaves what a person may look at.
func artifacts(t *testing.T) string {
	if d := os.Getenv("SENCE_TEST_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestRunPageInBrowser opens the demo night's page in headless Chromium
// from a file:// URL, as a coordinator opens it: the counts, a rejected
// student's explanation, an excluded student's reason, the search box, a
// phone's width, and no request to anything but the file itself.
func TestRunPageInBrowser(t *testing.T) {
	exe := chromium(t)
	dir, _ := demoNights(t)
	pagePath := filepath.Join(dir, "reports", "run-2.html")
	rep := readReport(t, filepath.Join(dir, "reports", "run-2.json"))
	pageURL := (&url.URL{Scheme: "file", Path: pagePath}).String()

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.WindowSize(1280, 900))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	var mu sync.Mutex
	var requests []string
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			mu.Lock()
			requests = append(requests, e.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(pageURL)); err != nil {
		t.Fatal(err)
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}

	// The counts of the whole night, as the run's JSON report has them.
	tot := rep.Totals
	want := fmt.Sprint([]int{tot.Accepted + tot.WouldSend, tot.Rejected, tot.Held, tot.Excluded, tot.Left, tot.Unchanged + tot.Skipped, tot.Pending + tot.NotSent})
	got := "[" + eval(`Array.from(document.querySelectorAll("#totales td.n")).map(e => e.textContent).join(" ")`) + "]"
	if got != want {
		t.Errorf("the page's totals %s, the run's %s", got, want)
	}
	if n := eval(`String(document.querySelectorAll("#tabla-alumnos tbody tr").length)`); n != strconv.Itoa(tot.Students) {
		t.Errorf("%s student rows, the run has %d", n, tot.Students)
	}

	// A rejected and an excluded student: what happened and what to do.
	var rejected, excluded *nightly.StudentReport
	for _, c := range rep.Courses {
		for _, s := range c.Students {
			switch {
			case s.Status == nightly.StudentRejected && rejected == nil:
				rejected = s
			case s.Status == nightly.StudentExcluded && excluded == nil && s.RUT != "":
				excluded = s
			}
		}
	}
	if rejected == nil || excluded == nil {
		t.Fatal("the demo night has no rejected or no excluded student")
	}
	row := func(s *nightly.StudentReport) string {
		return eval(fmt.Sprintf(`Array.from(document.querySelectorAll("#tabla-alumnos tbody tr")).filter(r => r.children[2].textContent === %q).map(r => r.innerText).join("\n")`, s.MoodleID))
	}
	info, _ := sence.Lookup(rejected.Code)
	if r := row(rejected); !strings.Contains(r, rejected.Name) || !strings.Contains(r, "Qué significa: "+info.Meaning) || !strings.Contains(r, info.Action) {
		t.Errorf("the rejected student's row does not explain code %s:\n%s", rejected.Code, r)
	}
	reason, _, _ := strings.Cut(excluded.Explanation, "; ")
	if r := row(excluded); !strings.Contains(r, reason) || !strings.Contains(r, "excluido (no se envió)") {
		t.Errorf("the excluded student's row lacks the reason %q:\n%s", reason, r)
	}

	// Typing in the search box (key by key, as a person types) leaves
	// the student's rows only.
	typeIn := func(text string) {
		t.Helper()
		eval(`(b => { b.value = ""; b.dispatchEvent(new Event("input")); b.focus(); return "" })(document.getElementById("buscar"))`)
		if err := chromedp.Do(ctx, chromedp.KeyEvent(text)); err != nil {
			t.Fatal(err)
		}
	}
	typeIn(rejected.Name)
	visible := eval(`Array.from(document.querySelectorAll("#tabla-alumnos tbody tr")).filter(r => !r.hidden).map(r => r.children[0].textContent).join("|")`)
	if visible != rejected.Name {
		t.Errorf("after typing %q the rows shown are %q", rejected.Name, visible)
	}
	if s := eval(`document.getElementById("mostrando").textContent`); s != fmt.Sprintf("Se muestran 1 de %d alumnos", tot.Students) {
		t.Errorf("the count says %q", s)
	}
	// A RUT typed without dots or hyphen finds its student.
	compact := strings.NewReplacer(".", "", "-", "").Replace(excluded.RUT)
	typeIn(compact)
	if v := eval(`Array.from(document.querySelectorAll("#tabla-alumnos tbody tr")).filter(r => !r.hidden).map(r => r.children[0].textContent).join("|")`); v != excluded.Name {
		t.Errorf("after typing the RUT %s the rows shown are %q", compact, v)
	}
	// The outcome filter alone.
	typeIn("")
	choose := func(value string) {
		eval(fmt.Sprintf(`(s => { s.value = %q; s.dispatchEvent(new Event("change")); return "" })(document.getElementById("filtro-resultado"))`, value))
	}
	choose(nightly.StudentExcluded)
	if v := eval(`String(Array.from(document.querySelectorAll("#tabla-alumnos tbody tr")).filter(r => !r.hidden).length)`); v != strconv.Itoa(tot.Excluded) {
		t.Errorf("the outcome filter shows %s excluded students, the run has %d", v, tot.Excluded)
	}
	choose("")

	// The picture: the night's sentence, the courses and the first
	// students, as on a laptop's screen.
	eval(`document.activeElement.blur(), window.scrollTo(0, 0), ""`)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1200, 1400)); err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(artifacts(t), "reporte.png")
	if err := os.WriteFile(out, shot, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of the report: %s (%d bytes)", out, len(shot))
	if *screenshot {
		if len(shot) > 300<<10 {
			t.Errorf("the screenshot has %d bytes: keep docs/reporte.png under 300 KB", len(shot))
		}
		if err := os.WriteFile("../../docs/reporte.png", shot, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	// On a phone's width nothing runs off the side of the screen.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	if w := eval(`String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("at 390 px wide the page is %s px wide", w)
	}

	mu.Lock()
	defer mu.Unlock()
	if len(requests) == 0 {
		t.Error("no request seen at all: the network listener did not work")
	}
	for _, u := range requests {
		if u != pageURL {
			t.Errorf("the page requested %s: it must load nothing but itself", u)
		}
	}
}
