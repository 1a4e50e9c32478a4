package mapping

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/cron"
	"github.com/otec-tools/sence-engine/engine/rut"
	yaml "go.yaml.in/yaml/v3"
)

// Checks of settings' values that need no database nor network, shared by
// the loader and by validate's checks of the files a mapping names.

var uuidUpper = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

// TokenProblem says what is wrong with the shape of a SENCE token, or ""
// when it is fine or empty. It never quotes the token: it is a secret.
func TokenProblem(tok string) string {
	tok = strings.TrimSpace(tok)
	switch {
	case tok == "" || uuidUpper.MatchString(tok):
		return ""
	case uuidUpper.MatchString(strings.ToUpper(tok)):
		return "el token de SENCE está en minúsculas y SENCE lo rechaza: escríbalo en MAYÚSCULAS"
	}
	return "el token de SENCE no tiene el formato XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX (36 caracteres, mayúsculas)"
}

var rutOtecShape = regexp.MustCompile(`^[0-9]{1,9}-[0-9K]$`)

// rutOtecProblem says what is wrong with sence.rutOtec, or "" (also when
// empty: a send refuses without it, a review does not need it).
func rutOtecProblem(s string) string {
	if strings.TrimSpace(s) == "" {
		return ""
	}
	r, err := rut.Parse(s)
	if err != nil {
		reason := err.Error()
		if re, ok := err.(*rut.Error); ok {
			reason = re.Reason
		}
		return fmt.Sprintf("sence.rutOtec «%s» no es un RUT válido: %s", s, reason)
	}
	if !rutOtecShape.MatchString(s) {
		return fmt.Sprintf("sence.rutOtec «%s» debe escribirse como lo pide SENCE, sin puntos, con guion y el dígito verificador en mayúscula: «%s»", s, r)
	}
	return ""
}

// checkSchedule reads run.schedule with the scheduler's own parser: what
// validate accepts, engine schedule runs.
func (l *loader) checkSchedule(v *yaml.Node, expr string) {
	if sched, err := cron.Parse(expr); err != nil {
		l.errorf(v, "run.schedule: %v%s", err, l.envNote(v))
	} else if _, ok := sched.Next(scheduleProbe, time.UTC); !ok {
		l.errorf(v, "run.schedule: la expresión cron «%s» no se cumple en ninguna fecha (¿un 31 de un mes de 30 días?): engine schedule nunca ejecutaría este mapeo", expr)
	}
}

// scheduleProbe is the instant from which run.schedule must match some
// time (any fixed date: whether an expression ever matches does not
// depend on the year).
var scheduleProbe = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
