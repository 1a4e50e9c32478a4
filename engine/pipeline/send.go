package pipeline

import (
	"context"
	"time"

	"github.com/otec-tools/sence-engine/engine/sence"
	"github.com/otec-tools/sence-engine/engine/sence/payload"
)

// Send sends courses to SENCE one after another (engine send, sence-test)
// and tells each one's outcome to done. A course without a codigoEnvio is
// given one stamped with the time. The request in flight is finished even
// when ctx ends (its outcome must be known); ctx only stops waiting for
// SENCE's history (opts.Stop) and starting more courses. It returns how
// many courses were not started.
func Send(ctx context.Context, conn *Conn, courses []payload.Course, opts sence.SendOptions, now func() time.Time,
	done func(c payload.Course, res *sence.SendResult, err error)) (notStarted int) {
	for i, c := range courses {
		if ctx.Err() != nil {
			return len(courses) - i
		}
		if c.CodigoEnvio == "" {
			c.CodigoEnvio = sence.CodigoEnvio(c.CodigoOferta, c.CodigoGrupo, sence.SendStamp(now()))
		}
		res, err := conn.Client.SendWith(context.WithoutCancel(ctx), c, opts)
		done(c, res, err)
	}
	return 0
}
