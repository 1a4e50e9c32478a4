package sence

import (
	"context"
	"errors"
	"time"

	"github.com/otec-tools/sence-engine/engine/payload"
)

// Resolve finds in historialEnvios a send whose outcome is unknown (the
// process sending it died, or every attempt lost its answer), by its
// CodigoEnvio, and returns its outcome as Send would have. It returns
// (nil, nil) when SENCE has no such send, so it may be sent again, and an
// ErrUnknownOutcome error when the history cannot be read, so it must
// not be sent yet. sentAt is when the send was made: the history is read
// from the day before it. It never posts anything.
func (c *Client) Resolve(ctx context.Context, course payload.Course, sentAt time.Time) (*SendResult, error) {
	if course.CodigoEnvio == "" {
		return nil, errors.New("el envío no tiene codigoEnvio: no se puede buscar en el historial de SENCE")
	}
	course.RutOtec, course.IDSistema, course.Token = c.rutOtec, payload.IDSistema, payload.RedactedToken
	log := c.log.With("op", opHistory, "codigoOferta", course.CodigoOferta, "codigoGrupo", course.CodigoGrupo,
		"codigoEnvio", course.CodigoEnvio)
	return c.lookup(ctx, course, sentAt, 0, log)
}
