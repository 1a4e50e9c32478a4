package sence

import (
	"fmt"
	"strings"
	"time"

	"github.com/otec-tools/sence-engine/engine/chile"
)

// CodigoEnvio names one send so that it can be found in SENCE's history
// (codigo_externo): the course's codigoOferta, its codigoGrupo when it
// differs (a course sent in several sections), then what tells this send
// from the course's others. The nightly run numbers its attempts of a
// night (NightlyAttempt); engine send stamps the time (SendStamp).
func CodigoEnvio(oferta, grupo, which string) string {
	c := oferta
	if grupo != "" && grupo != oferta {
		c += "-" + grupo
	}
	return c + "-" + which
}

// NightlyAttempt is the attempt-th send of a course on a night
// (YYYY-MM-DD): "20261120-i1".
func NightlyAttempt(night string, attempt int) string {
	return fmt.Sprintf("%s-i%d", strings.ReplaceAll(night, "-", ""), attempt)
}

// SendStamp is a send made at t, to the second in Santiago:
// "20261120-221502".
func SendStamp(t time.Time) string { return t.In(chile.Location).Format("20060102-150405") }
