package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/otec-tools/sence-engine/engine/diag"
	"github.com/otec-tools/sence-engine/engine/nightly"
	"github.com/otec-tools/sence-engine/engine/pipeline"
	"github.com/otec-tools/sence-engine/engine/voice"
)

// progressEvery is how often a command that is not on a terminal says how
// far it is: long enough not to flood a log, short enough that a silent
// minute never happens.
const progressEvery = 15 * time.Second

// progress shows how far a long command is, on stderr. On a terminal a
// line is redrawn at every change; elsewhere, a line every progressEvery
// (the first once that much time has passed, so short work prints
// nothing): through the command's log (text or JSON, --log-format) when
// it has one, or as a text line. The numbers come from engine/pipeline;
// this only prints them.
type progress struct {
	mu    sync.Mutex
	w     io.Writer
	tty   bool
	log   *slog.Logger
	now   func() time.Time
	next  time.Time
	drawn bool
}

// newProgress is the progress of a command of e; log may be nil.
func newProgress(e *Env, tty bool, log *slog.Logger) *progress {
	now := e.Now
	if now == nil {
		now = time.Now
	}
	return &progress{w: e.Stderr, tty: tty, log: log, now: now, next: now().Add(progressEvery)}
}

// buildLine says how far a build is: «Leyendo Moodle: lote 3 de 8 (150 de
// 200 cursos)… quedan ~1 min».
func buildLine(p pipeline.BuildProgress) string {
	s := "Leyendo Moodle"
	if p.Batches > 0 {
		s += fmt.Sprintf(": lote %d de %d (%d de %s)", p.Batch, p.Batches, p.Done, diag.Plural(p.Total, "curso", "cursos"))
	}
	if p.Estimated && p.Done < p.Total {
		s += "… quedan " + voice.Remaining(p.Left)
	} else {
		s += "…"
	}
	return s
}

// sendLine says how far the sends of a run are: «Enviando a SENCE: 1 de 4
// cursos, 23 de 73 alumnos · enviando CAP-1».
func sendLine(p nightly.Progress) string {
	s := fmt.Sprintf("Enviando a SENCE: %d de %s, %d de %s", p.CoursesDone, diag.Plural(p.Courses, "curso", "cursos"),
		p.StudentsDone, diag.Plural(p.Students, "alumno", "alumnos"))
	if len(p.Current) > 0 {
		s += " · enviando " + strings.Join(p.Current, ", ")
	}
	return s
}

// build is pipeline.BuildOptions.Progress.
func (p *progress) build(bp pipeline.BuildProgress) {
	p.show(buildLine(bp), "fase", "lectura", "lote", bp.Batch, "lotes", bp.Batches, "cursos", bp.Done, "total", bp.Total,
		"quedan", remaining(bp))
}

// send is pipeline.NightlyOptions.Progress.
func (p *progress) send(np nightly.Progress) {
	p.show(sendLine(np), "fase", "envio", "cursos", np.CoursesDone, "total", np.Courses, "alumnos", np.StudentsDone,
		"alumnosTotal", np.Students)
}

func remaining(bp pipeline.BuildProgress) string {
	if !bp.Estimated {
		return ""
	}
	return voice.Remaining(bp.Left)
}

func (p *progress) show(line string, attrs ...any) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintf(p.w, "\r\033[K%s", line)
		p.drawn = true
		return
	}
	now := p.now()
	if now.Before(p.next) {
		return
	}
	p.next = now.Add(progressEvery)
	if p.log != nil {
		p.log.Info(line, attrs...)
		return
	}
	fmt.Fprintf(p.w, "progreso: %s\n", line)
}

// clear removes the line drawn on a terminal.
func (p *progress) clear() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		fmt.Fprint(p.w, "\r\033[K")
		p.drawn = false
	}
}
