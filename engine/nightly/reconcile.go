package nightly

import (
	"fmt"
	"slices"
	"strings"

	"github.com/otec-tools/sence-engine/engine/ledger"
	"github.com/otec-tools/sence-engine/engine/rut"
	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// Policies for a progress below what SENCE accepted (run.policy).
const (
	// KeepMax sends the value SENCE accepted instead, and reports the
	// regression: SENCE's data is never contradicted (the default).
	KeepMax = "keep-max"
	// Hold leaves the student out of the send and reports it.
	Hold = "hold"
	// Send sends the lower value as is: SENCE answers 025.
	Send = "send"
)

// PayloadHash identifies a payload: SHA-256 of its canonical JSON (keys
// sorted), without the token and the codigoEnvio, which change between
// attempts of the same data.
func PayloadHash(c payload.Course) string {
	c.Token, c.CodigoEnvio = "", ""
	return canonicalHash(c)
}

// Fingerprint identifies a student's data as sent, without fechaEjecucion
// (the report date, which changes every night).
func Fingerprint(a payload.Alumno) string {
	a.FechaEjecucion = ""
	return canonicalHash(a)
}

// StudentKey is a payload student's RUT as SENCE's answers name it.
func StudentKey(a payload.Alumno) string {
	return rut.RUT{Number: a.RutAlumno, DV: strings.ToUpper(a.DvAlumno)}.String()
}

// CodigoEnvio names the send of a course on a night: deterministic, so a
// run that resumes another finds its sends in SENCE's history.
func CodigoEnvio(oferta, grupo, night string, attempt int) string {
	return sence.CodigoEnvio(oferta, grupo, sence.NightlyAttempt(night, attempt))
}

// Regression is a progress lower than the one SENCE accepted.
type Regression struct {
	Module   string // "" for the student's own porcentajeAvance
	Moodle   int
	Accepted int
}

func (r Regression) String() string {
	where := "avance del alumno"
	if r.Module != "" {
		where = "módulo " + r.Module
	}
	return fmt.Sprintf("%s: Moodle informa %d %%, pero SENCE ya aceptó %d %%", where, r.Moodle, r.Accepted)
}

// Decision is what reconciliation decided for one student.
type Decision struct {
	RUT         string
	Regressions []Regression
	// Held: left out by the hold policy. Skipped: unchanged since SENCE
	// accepted it, left out by run.skipUnchanged.
	Held, Skipped bool
}

// Reconcile applies the policy to a course against what SENCE accepted,
// student by student and module by module, and returns the course to send
// (a copy; the input is not changed) and a decision per student of the
// input, in order.
func Reconcile(c payload.Course, accepted map[string]*ledger.Accepted, policy string, skipUnchanged bool) (payload.Course, []Decision) {
	out := c
	out.ListaAlumnos = make([]payload.Alumno, 0, len(c.ListaAlumnos))
	decisions := make([]Decision, len(c.ListaAlumnos))
	for i, a := range c.ListaAlumnos {
		d := Decision{RUT: StudentKey(a)}
		a.ListaModulos = slices.Clone(a.ListaModulos)
		if acc := accepted[d.RUT]; acc != nil {
			if acc.Student.Source != "" && a.PorcentajeAvance < acc.Student.PorcentajeAvance {
				d.Regressions = append(d.Regressions, Regression{Moodle: a.PorcentajeAvance, Accepted: acc.Student.PorcentajeAvance})
				if policy == KeepMax || policy == "" {
					a.PorcentajeAvance = acc.Student.PorcentajeAvance
				}
			}
			for j := range a.ListaModulos {
				m := &a.ListaModulos[j]
				v, ok := acc.Modules[m.CodigoModulo]
				if !ok || m.PorcentajeAvance >= v.PorcentajeAvance {
					continue
				}
				d.Regressions = append(d.Regressions, Regression{Module: m.CodigoModulo, Moodle: m.PorcentajeAvance, Accepted: v.PorcentajeAvance})
				if policy == KeepMax || policy == "" {
					m.PorcentajeAvance = v.PorcentajeAvance
				}
			}
			d.Held = policy == Hold && len(d.Regressions) > 0
			d.Skipped = !d.Held && skipUnchanged && acc.Student.Fingerprint != "" && acc.Student.Fingerprint == Fingerprint(a)
		}
		decisions[i] = d
		if !d.Held && !d.Skipped {
			out.ListaAlumnos = append(out.ListaAlumnos, a)
		}
	}
	return out, decisions
}
