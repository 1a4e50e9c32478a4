package sence

import (
	"context"
	"errors"
	"time"

	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// Resolve decides the fate of a send whose outcome is unknown (the process
// sending it died, or its answer was lost), by its CodigoEnvio, with the
// rule of Decide: it looks the send up in historialEnvios, with backoff,
// until the history shows it (its outcome, as Send would have returned it,
// FromHistory), or the settle time has passed since posted without it
// showing ((nil, nil): it may be sent again, with the same CodigoEnvio), or
// o.Until, o.Stop or ctx end first, or the history cannot be read (an
// ErrUnknownOutcome error: it must not be sent). posted is when its last
// POST may have left, zero when none can have reached SENCE. It never
// posts anything.
func (c *Client) Resolve(ctx context.Context, course payload.Course, posted time.Time, o SendOptions) (*SendResult, error) {
	if course.CodigoEnvio == "" {
		return nil, errors.New("el envío no tiene codigoEnvio: no se puede buscar en el historial de SENCE")
	}
	course.RutOtec, course.IDSistema, course.Token = c.rutOtec, payload.IDSistema, payload.RedactedToken
	log := c.log.With("op", opHistory, "codigoOferta", course.CodigoOferta, "codigoGrupo", course.CodigoGrupo,
		"codigoEnvio", course.CodigoEnvio)
	wctx, cancel := o.waitContext(ctx)
	defer cancel()
	return c.settle(wctx, course, posted, 0, o, log)
}
